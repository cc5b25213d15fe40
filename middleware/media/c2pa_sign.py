"""Optional C2PA Content Credentials: a signed manifest saying the file was created by a trained
algorithm (``c2pa.actions``: ``c2pa.created`` with IPTC digital source type
``trainedAlgorithmicMedia``), with the official ``c2pa-python`` library, when ``media.c2pa_cert`` and
``media.c2pa_key`` are configured. Signing runs after Candor's own labels, so the manifest's hash
binding covers them; no timestamp authority is called (nothing leaves the machine).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def manifest(title: str = "AI-generated content") -> dict[str, Any]:
    from middleware import __version__

    return {
        "claim_generator_info": [{"name": "candor", "version": __version__}],
        "title": title,
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [
            {"action": "c2pa.created", "digitalSourceType": TRAINED}]}}],
    }


class C2paSigner:
    def __init__(self, cert_pem: bytes, key_pem: bytes, alg: str = "es256") -> None:
        import c2pa  # imported only when configured: the native library is large

        self._c2pa: Any = c2pa
        info = c2pa.C2paSignerInfo(alg=alg.encode(), sign_cert=cert_pem, private_key=key_pem, ta_url=None)
        self._signer = c2pa.Signer.from_info(info)

    @classmethod
    def from_files(cls, cert: Path, key: Path, alg: str = "es256") -> C2paSigner:
        return cls(cert.read_bytes(), key.read_bytes(), alg)

    def __call__(self, data: bytes, media_type: str) -> bytes:
        builder = self._c2pa.Builder(json.dumps(manifest()))
        dest = io.BytesIO()
        builder.sign(self._signer, media_type, io.BytesIO(data), dest)
        return dest.getvalue()


def read_manifest(data: bytes, media_type: str) -> dict[str, Any] | None:
    """The file's active C2PA manifest store as JSON, or None when it has none (or c2pa cannot read it)."""
    import c2pa

    try:
        reader = c2pa.Reader(media_type, io.BytesIO(data))
        value = json.loads(reader.json())
    except Exception:   # c2pa raises C2paError subclasses and OSError for a file without a manifest
        return None
    return value if isinstance(value, dict) else None
