"""Message content, encrypted per user (AES-256-GCM) so that destroying a user's data keys makes
every copy of their content unreadable, backups included (crypto-shredding).

Data keys are wrapped by the master key; the associated data binds each ciphertext to its place
(a wrapped key to its user, a content blob to its ``content_ref`` and user), so rows cannot be
swapped between users.
"""

from __future__ import annotations

import os
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from middleware.audit.store import ContentRow, KeyRow


class ContentUnreadable(Exception):
    """The key or ciphertext is gone or does not match: treat the content as erased."""


def new_data_key(master: bytes, user_ref: str) -> tuple[KeyRow, bytes]:
    dek = AESGCM.generate_key(bit_length=256)
    kid = os.urandom(12).hex()
    nonce = os.urandom(12)
    wrapped = nonce + AESGCM(master).encrypt(nonce, dek, f"key:{kid}:{user_ref}".encode())
    return KeyRow(key_id=kid, user_ref=user_ref, wrapped=wrapped), dek


def unwrap(master: bytes, row: KeyRow) -> bytes:
    try:
        return AESGCM(master).decrypt(row.wrapped[:12], row.wrapped[12:],
                                      f"key:{row.key_id}:{row.user_ref}".encode())
    except InvalidTag as exc:
        raise ContentUnreadable(f"data key {row.key_id} does not open with this master key") from exc


def seal_content(dek: bytes, key_id: str, user_ref: str, content_ref: str, ts_us: int,
                 content: dict[str, Any]) -> ContentRow:
    nonce = os.urandom(12)
    ct = AESGCM(dek).encrypt(nonce, orjson.dumps(content), f"content:{content_ref}:{user_ref}".encode())
    return ContentRow(content_ref=content_ref, user_ref=user_ref, key_id=key_id, ts_us=ts_us,
                      nonce=nonce, ciphertext=ct)


def seal_content_bytes(dek: bytes, key_id: str, user_ref: str, content_ref: str, ts_us: int,
                       content: bytes) -> ContentRow:
    """``seal_content`` of content already encoded as JSON (the writer encodes before sealing)."""
    nonce = os.urandom(12)
    ct = AESGCM(dek).encrypt(nonce, content, f"content:{content_ref}:{user_ref}".encode())
    return ContentRow(content_ref=content_ref, user_ref=user_ref, key_id=key_id, ts_us=ts_us,
                      nonce=nonce, ciphertext=ct)


def open_content(dek: bytes, row: ContentRow) -> dict[str, Any]:
    try:
        plain = AESGCM(dek).decrypt(row.nonce, row.ciphertext,
                                    f"content:{row.content_ref}:{row.user_ref}".encode())
    except InvalidTag as exc:
        raise ContentUnreadable(f"content {row.content_ref} failed authentication") from exc
    data: dict[str, Any] = orjson.loads(plain)
    return data
