"""Images and audio inside chat replies, labelled like the media endpoints' files (non-streaming):

- ``message.audio.data`` (audio output, ``modalities: ["text", "audio"]``): WAV and MP3 get the rhythm
  label and the implicit label; ``pcm16`` (raw samples, no container) gets the rhythm label at 24 kHz,
  and the implicit label cannot be embedded: recorded as ``label_delegated`` with the reason, the
  object still goes out in ``compliance.label.implicit``; FLAC/Opus get the implicit label only.
- ``message.images`` (data-URL image parts some OpenAI-compatible providers return): labelled and
  re-encoded as data URLs.

Streaming replies carry audio as ``pcm16`` deltas (OpenAI streams no other format): the first audio delta
of each choice gets the rhythm label in front of its samples (``delta``), so the audio the user hears starts
with it; nothing is held back. The implicit label goes out in ``compliance.label``, as for ``pcm16`` above.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import TYPE_CHECKING, Any

from middleware.media.labelling import Labeller
from middleware.pipeline.exchange import Exchange
from middleware.pipeline.upstream import UpstreamFailure

if TYPE_CHECKING:
    from middleware.media.apply import Labelled

_DATA_URL = re.compile(r"^data:(image/[\w.+-]+);base64,(.*)$", re.DOTALL)
PCM16_RATE = 24000   # OpenAI's pcm16: 24 kHz, 16-bit, mono, little-endian


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UpstreamFailure(f"the provider's {what} is not valid base64: {exc}") from exc


class ChatMediaLabeller:
    def __init__(self, labeller: Labeller) -> None:
        self.labeller = labeller

    async def __call__(self, ex: Exchange, message: dict[str, Any]) -> dict[str, Any]:
        message = dict(message)
        audio = message.get("audio")
        if isinstance(audio, dict) and isinstance(audio.get("data"), str) and audio["data"]:
            message["audio"] = await self._audio(ex, audio)
        images = message.get("images")
        if isinstance(images, list) and images:
            message["images"] = await self._images(ex, images)
        return message

    async def _audio(self, ex: Exchange, audio: dict[str, Any]) -> dict[str, Any]:
        raw = _b64(audio["data"], "audio in the chat reply")
        requested = ex.body.get("audio") if isinstance(ex.body.get("audio"), dict) else {}
        fmt = str((requested or {}).get("format") or "")
        if fmt == "pcm16":
            return {**audio, "data": base64.b64encode(self._pcm16(ex, raw)).decode()}
        labelled = await self.labeller.label_file(ex, raw, "audio", "audio in the chat reply")
        self.labeller.record_chat(ex, "audio", [labelled] if labelled.implicit else [])
        return {**audio, "data": base64.b64encode(labelled.data).decode()}

    def delta(self, ex: Exchange, chunk: dict[str, Any]) -> dict[str, Any]:
        """A streamed chunk whose delta carries audio: the first audio of each choice starts with the label."""
        choices = chunk.get("choices") or []
        out: list[Any] = []
        changed = False
        for choice in choices:
            delta = choice.get("delta") if isinstance(choice, dict) else None
            audio = delta.get("audio") if isinstance(delta, dict) else None
            index = choice.get("index", 0) if isinstance(choice, dict) else 0
            if (not isinstance(audio, dict) or not isinstance(audio.get("data"), str) or not audio["data"]
                    or index in ex.state.audio_labelled):
                out.append(choice)
                continue
            ex.state.audio_labelled.add(index)
            raw = _b64(audio["data"], "streamed audio in the chat reply")
            data = base64.b64encode(self._pcm16(ex, raw)).decode()
            assert isinstance(delta, dict)   # audio was found in it
            out.append({**choice, "delta": {**delta, "audio": {**audio, "data": data}}})
            changed = True
        return {**chunk, "choices": out} if changed else chunk

    def _pcm16(self, ex: Exchange, raw: bytes) -> bytes:
        rules = ex.policy.labels
        if rules is None or ex.state.unlabeled or rules.position == "ui":
            ex.decide("media_labels", (), "delegated", {"kind": "audio", "in": "chat_reply", "format": "pcm16"})
            ex.act("label_delegated")
            return raw
        import numpy as np

        from middleware.media import rhythm

        tone = np.round(rhythm.tone(PCM16_RATE) * 32767).astype("<i2").tobytes()
        ex.act("label_delegated")
        ex.decide("media_labels", ("LABEL-AUDIO-1", "LABEL-IMPLICIT-1"), "delegated",
                  {"kind": "audio", "in": "chat_reply", "format": "pcm16", "explicit": "rhythm",
                   "reason": "raw pcm16 has no container for the implicit label; it is in compliance.label"})
        return tone + raw[: len(raw) - len(raw) % 2]

    async def _images(self, ex: Exchange, images: list[Any]) -> list[Any]:
        out: list[Any] = []
        files: list[Labelled] = []
        for n, part in enumerate(images):
            url = part.get("image_url", {}).get("url") if isinstance(part, dict) else None
            match = _DATA_URL.match(url) if isinstance(url, str) else None
            if match is None:
                raise UpstreamFailure(f"image {n} in the chat reply is not a data URL; Candor labels images it can "
                                      "read, and never passes one on unlabelled")
            labelled = await self.labeller.label_file(ex, _b64(match.group(2), f"image {n} in the chat reply"),
                                                      "image", f"image {n} in the chat reply",
                                                      n if len(images) > 1 else None)
            files.append(labelled)
            data_url = f"data:{labelled.media_type if labelled.implicit else match.group(1)};base64," \
                       + base64.b64encode(labelled.data).decode()
            out.append({**part, "image_url": {**part["image_url"], "url": data_url}})
        self.labeller.record_chat(ex, "image", [f for f in files if f.implicit])
        return out
