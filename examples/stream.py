"""Stream a reply through Candor with the official openai SDK.

Run `candor serve` first, then:  CANDOR_KEY=<the printed key> python examples/stream.py
The first chunk carries `compliance` (notices, label); the last carries the actions taken.
"""

import json
import os

from openai import OpenAI

client = OpenAI(base_url=os.environ.get("CANDOR_URL", "http://127.0.0.1:8787/v1"),
                api_key=os.environ["CANDOR_KEY"])

stream = client.chat.completions.create(
    model=os.environ.get("CANDOR_MODEL", "candor-demo"),
    messages=[{"role": "user", "content": "Tell me about your favourite season."}],
    extra_headers={"X-Candor-User": "example-user"},
    stream=True,
)
first = last = None
for chunk in stream:
    compliance = (chunk.model_extra or {}).get("compliance")
    if compliance is not None:
        first = first or compliance
        last = compliance
    if chunk.choices:
        print(chunk.choices[0].delta.content or "", end="", flush=True)
print()
print("first chunk compliance:", json.dumps(first, ensure_ascii=False))
print("actions:", (last or {}).get("actions"))
