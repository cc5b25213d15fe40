"""Running the server: uvicorn, its protocol, live config reload."""
