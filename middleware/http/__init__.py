"""The HTTP surface: the ASGI app, request reading and bounding, auth, errors in the OpenAI shape."""
