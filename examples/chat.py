"""Chat through Candor with the official openai SDK: the only change is base_url and api_key.

Run `candor serve` first, then:  CANDOR_KEY=<the printed key> python examples/chat.py
"""

import json
import os

from openai import OpenAI

client = OpenAI(base_url=os.environ.get("CANDOR_URL", "http://127.0.0.1:8787/v1"),
                api_key=os.environ["CANDOR_KEY"])

reply = client.chat.completions.create(
    model=os.environ.get("CANDOR_MODEL", "candor-demo"),
    messages=[{"role": "user", "content": "你好，今天过得怎么样？"}],
    extra_headers={"X-Candor-User": "example-user"},
)
print(reply.choices[0].message.content)
print(json.dumps((reply.model_extra or {}).get("compliance"), ensure_ascii=False, indent=2))
