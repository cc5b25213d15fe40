"""Labelling what a provider returned, for one exchange: which labels the policy asks for, who the
implicit label names, the files themselves (off the event loop), and the record of it all.

- ``labels.media`` in the policy: the visible image label's text and place; ``labels.position: ui``
  leaves the explicit label to the app (recorded ``label_delegated``; the implicit label stays).
- A user whose profile allows unlabelled output, asking for it (``X-Candor-Unlabeled: 1``), gets files
  without the explicit label; the implicit label stays and the delivery is recorded (LABEL-UNLABELED-1).
- ``ContentProducer``/``ContentPropagator``: ``operator.code``, else ``operator.name``, else the policy's
  ``labels.producer_code`` (``propagator_code``). ``ProduceID``/``PropagateID``: the exchange's event id
  (with ``-<n>`` per image when several).
- A policy without a ``labels`` section labels nothing, and says so in the record.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from middleware.config.deployment import CandorConfig
from middleware.config.operator import producer_value
from middleware.http.errors import CandorError
from middleware.media import aigc
from middleware.media.errors import MediaError
from middleware.media.upstream import Audio, Fetcher
from middleware.pipeline.exchange import Exchange
from middleware.pipeline.upstream import UpstreamFailure

if TYPE_CHECKING:   # the codecs (Pillow, mutagen, numpy) load with the first file, not at start-up
    from middleware.media.apply import Kind, Labelled, LabelOptions

IMAGE_CITES = ("LABEL-IMAGE-1", "LABEL-IMPLICIT-1", "LABEL-TAMPER-1")
AUDIO_CITES = ("LABEL-AUDIO-1", "LABEL-IMPLICIT-1", "LABEL-TAMPER-1")
Signer = Callable[[bytes, str], bytes]   # (labelled file, media type) -> the file with a C2PA manifest


def bad_media(what: str, exc: Exception) -> CandorError:
    return UpstreamFailure(f"the provider's {what} cannot be labelled, so Candor does not deliver it "
                           f"(GB 45438: no AI-generated image or audio leaves without its labels): {exc}")


class Labeller:
    def __init__(self, config: CandorConfig, fetcher: Callable[[], Fetcher], signer: Signer | None = None) -> None:
        self.config = config
        self._fetcher = fetcher
        self.signer = signer

    # -- what the policy asks for ----------------------------------------------------------------

    def _options(self, ex: Exchange, index: int | None) -> LabelOptions | None:
        from middleware.media.apply import LabelOptions
        from middleware.media.image_label import LabelStyle

        rules = ex.policy.labels
        if rules is None:
            return None
        operator = producer_value(self.config)   # candor.yaml's operator: code, else name (never the product)
        producer = operator or rules.producer_code or ""
        propagator = operator or rules.propagator_code or rules.producer_code or ""
        content_id = ex.event_id if index is None else f"{ex.event_id}-{index}"
        media = rules.media
        style = LabelStyle(media.image_text, media.image_placement, media.image_corner, media.image_text_height)
        explicit = rules.position != "ui" and not ex.state.unlabeled
        return LabelOptions(aigc.Stamp(producer, propagator, content_id), style, explicit)

    async def label_file(self, ex: Exchange, data: bytes, kind: Kind, what: str, index: int | None = None) -> Labelled:
        """One file inside a chat reply, labelled as the media endpoints would (502 when it cannot be)."""
        from middleware.media.apply import Labelled

        options = self._options(ex, index)
        if options is None:
            return Labelled(data, "unknown", "application/octet-stream", {}, None, None, None, {})
        try:
            return await self._label(data, options, kind)
        except MediaError as exc:
            raise bad_media(what, exc) from exc

    def record_chat(self, ex: Exchange, kind: Kind, files: list[Labelled]) -> None:
        if ex.policy.labels is None:
            ex.decide("media_labels", (), "off", {"kind": kind, "in": "chat_reply",
                                                  "reason": "the policy has no labels section"})
        else:
            self._record(ex, kind, files, IMAGE_CITES if kind == "image" else AUDIO_CITES, in_chat=True)

    async def _label(self, data: bytes, options: LabelOptions, kind: Kind) -> Labelled:
        from middleware.media.apply import Labelled, apply

        labelled = await asyncio.to_thread(apply, data, options, kind)
        if self.signer is not None:
            signed = await asyncio.to_thread(self.signer, labelled.data, labelled.media_type)
            labelled = Labelled(signed, labelled.format, labelled.media_type, labelled.implicit, labelled.explicit,
                                labelled.delegated, labelled.upstream_label, {**labelled.detail, "c2pa": True})
        return labelled

    def _record(self, ex: Exchange, kind: Kind, files: list[Labelled], cites: tuple[str, ...],
                in_chat: bool = False) -> None:
        """The decision (and, for the media endpoints, ``compliance.label``; a chat reply keeps its text
        label there and gets the files' labels in the decision)."""
        rules = ex.policy.labels
        if rules is None:   # only called once a label was applied, which needs a labels section
            raise RuntimeError("media labels recorded for a policy without a labels section")
        summaries = [{**f.summary(), "sha256": hashlib.sha256(f.data).hexdigest(), "bytes": len(f.data),
                      "c2pa": bool(f.detail.get("c2pa"))} for f in files]
        explicit_text = rules.media.image_text if kind == "image" else "rhythm: · –  · · (Morse AI)"
        delegated = [f.delegated for f in files if f.delegated]
        if ex.state.unlabeled:
            ex.act("unlabeled_delivery")
            # LABEL-UNLABELED-1: the recorder hashes what was delivered; for files, their digests
            ex.reply.extend(f"sha256:{s['sha256']}\n" for s in summaries)
            outcome = "unlabeled"
        elif rules.position == "ui" or delegated:
            ex.act("label_delegated")
            outcome = "delegated"
        else:
            outcome = "labelled"
        if not in_chat:
            ex.label = {"explicit": None if outcome == "unlabeled" else explicit_text,
                        "position": ("ui" if rules.position == "ui" else
                                     f"image_{rules.media.image_placement}" if kind == "image" else "audio_start"),
                        "implicit": files[0].implicit if files else None}
        detail: dict[str, Any] = {"kind": kind, "files": summaries, **({"in": "chat_reply"} if in_chat else {})}
        if delegated:
            detail["reason"] = delegated[0]
        elif rules.position == "ui" and outcome == "delegated":
            detail["reason"] = "policy labels.position: ui"
        ex.decide("media_labels", cites, outcome, detail)

    # -- images ----------------------------------------------------------------------------------

    async def images(self, ex: Exchange, reply: dict[str, Any]) -> dict[str, Any]:
        items = reply.get("data")
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
            raise UpstreamFailure(f"the provider for model {ex.route.name!r} returned no images (no 'data' list)")
        limit = self.config.media.max_file_bytes
        raws: list[bytes] = []
        for n, item in enumerate(items):
            raws.append(await self._image_bytes(ex, item, n, limit))
        out_items: list[dict[str, Any]] = []
        labelled: list[Labelled] = []
        for n, (item, raw) in enumerate(zip(items, raws, strict=True)):
            options = self._options(ex, n if len(items) > 1 else None)
            kept = {k: v for k, v in item.items() if k not in ("b64_json", "url")}
            if options is None:
                out_items.append({**kept, "b64_json": base64.b64encode(raw).decode()})
                continue
            try:
                result = await self._label(raw, options, "image")
            except MediaError as exc:
                raise bad_media(f"image {n}", exc) from exc
            labelled.append(result)
            out_items.append({**kept, "b64_json": base64.b64encode(result.data).decode()})
        if ex.policy.labels is None:
            ex.decide("media_labels", (), "off", {"kind": "image", "reason": "the policy has no labels section"})
        else:
            self._record(ex, "image", labelled, IMAGE_CITES)
        out = {k: v for k, v in reply.items() if k not in ("data", "compliance")}
        out["data"] = out_items
        if labelled:
            out["output_format"] = labelled[0].format
        return out

    async def _image_bytes(self, ex: Exchange, item: dict[str, Any], n: int, limit: int) -> bytes:
        b64 = item.get("b64_json")
        if isinstance(b64, str) and b64:
            if len(b64) > limit * 4 // 3 + 4:
                raise UpstreamFailure(f"image {n} from the provider is larger than media.max_file_bytes "
                                      f"({limit} bytes)")
            try:
                return base64.b64decode(b64, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise bad_media(f"image {n}", MediaError(f"b64_json is not valid base64: {exc}")) from exc
        url = item.get("url")
        if isinstance(url, str) and url:
            try:
                data = await self._fetcher().fetch(url, limit, self.config.media.fetch_timeout)
            except MediaError as exc:
                raise bad_media(f"image {n}", exc) from exc
            ex.decide("media_fetch", (), "fetched", {"index": n, "host": _host(url), "bytes": len(data)})
            return data
        raise UpstreamFailure(f"image {n} from the provider has neither b64_json nor url")

    # -- audio -----------------------------------------------------------------------------------

    async def audio(self, ex: Exchange, audio: Audio) -> Labelled:
        limit = self.config.media.max_file_bytes
        if len(audio.content) > limit:
            raise UpstreamFailure(f"the audio from the provider is larger than media.max_file_bytes ({limit} bytes)")
        from middleware.media.apply import Labelled

        options = self._options(ex, None)
        if options is None:
            ex.decide("media_labels", (), "off", {"kind": "audio", "reason": "the policy has no labels section"})
            return Labelled(audio.content, "unknown", audio.content_type, {}, None, None, None, {})
        try:
            result = await self._label(audio.content, options, "audio")
        except MediaError as exc:
            raise bad_media("audio", exc) from exc
        self._record(ex, "audio", [result], AUDIO_CITES)
        return result

    @staticmethod
    def audio_headers(ex: Exchange, labelled: Labelled) -> dict[str, str]:
        """The reply's labels as headers (the body is the audio file itself)."""
        label = ex.label or {}
        explicit = "delegated" if "label_delegated" in ex.actions else (
            "none" if "unlabeled_delivery" in ex.actions or not labelled.explicit else "rhythm")
        headers = {"x-candor-label-explicit": explicit,
                   "x-candor-label-implicit": aigc.dumps(labelled.implicit) if labelled.implicit else "none"}
        if label.get("position"):
            headers["x-candor-label-position"] = str(label["position"])
        if ex.actions:
            headers["x-candor-actions"] = ",".join(ex.actions)
        return headers


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or "?"
