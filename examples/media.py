"""Images and speech through Candor: each file comes back labelled (visible or rhythm label, and the
implicit AIGC label), then `candor label inspect` shows what it carries.

Run `candor serve` first, then:  CANDOR_KEY=<the printed key> python examples/media.py
"""

import base64
import json
import os
import subprocess
import sys

from openai import OpenAI

client = OpenAI(base_url=os.environ.get("CANDOR_URL", "http://127.0.0.1:8787/v1"),
                api_key=os.environ["CANDOR_KEY"])
model = os.environ.get("CANDOR_MODEL", "candor-demo")

image = client.images.generate(model=model, prompt="a lighthouse at dusk", size="512x512",
                               extra_headers={"X-Candor-User": "example-user"})
with open("labelled.png", "wb") as f:
    f.write(base64.b64decode(image.data[0].b64_json or ""))
print(json.dumps((image.model_extra or {}).get("compliance", {}).get("label"), ensure_ascii=False, indent=2))

speech = client.audio.speech.create(model=model, voice="alloy", input="你好", response_format="wav")
with open("labelled.wav", "wb") as f:
    f.write(speech.content)
print("explicit:", speech.response.headers.get("x-candor-label-explicit"),
      "implicit:", speech.response.headers.get("x-candor-label-implicit"))

for name in ("labelled.png", "labelled.wav"):
    subprocess.run([sys.executable, "-m", "adapters.main", "label", "inspect", name], check=False)
