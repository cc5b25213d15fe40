"""``POST /v1/responses``: OpenAI's Responses API on the same pipeline and rules as chat completions.

Candor's provider adapters speak chat completions, so a Responses request is translated into a chat
request (``translate.py``), goes through the pipeline like any chat, and its frames are rendered as a
response object or Responses SSE events (``render.py``). Every provider is reached this way, including
providers that have a Responses API of their own: a pass-through would put the reply out of the rules'
reach (the guards read chat deltas), so Candor translates always.
"""
