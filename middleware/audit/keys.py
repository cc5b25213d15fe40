"""The audit log's key material: signing (Ed25519), pseudonyms (HMAC) and content (AES-GCM master key).

Each key comes from an environment variable (base64 or hex of 32 bytes) or from a file in the key
directory. For the default SQLite setup the files are generated on first run (mode 0600) and the
public key is exported beside them as ``audit-signing.pub`` (PEM) for auditors. Deployments with
several replicas (PostgreSQL) must share the keys, so there they are never generated silently:
either set the variables or place the files, or set ``audit.generate_keys: true``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

if TYPE_CHECKING:
    from middleware.config.deployment import CandorConfig

SIGNING_FILE = "audit-signing.key"
PUBLIC_FILE = "audit-signing.pub"
PSEUDONYM_FILE = "audit-pseudonym.key"
MASTER_FILE = "audit-master.key"


class AuditKeyError(Exception):
    """A key is missing or malformed; the message says where Candor looked and what to do."""


def decode_secret(text: str, what: str) -> bytes:
    """32 bytes from hex or base64 (standard or URL-safe)."""
    text = text.strip()
    raw: bytes | None = None
    if len(text) == 64:
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = None
    if raw is None:
        try:
            raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_" if "-" in text or "_" in text
                                   else None, validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) != 32:
        raise AuditKeyError(f"{what}: expected 32 bytes as 64 hex characters or base64")
    return raw


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    data = Path(path).read_bytes()
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        key = Ed25519PublicKey.from_public_bytes(decode_secret(data.decode(), str(path)))
    if not isinstance(key, Ed25519PublicKey):
        raise AuditKeyError(f"{path}: not an Ed25519 public key")
    return key


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def verify_signature(public: Ed25519PublicKey, signature_hex: str, message: bytes) -> bool:
    try:
        public.verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class AuditKeys:
    signing: Ed25519PrivateKey
    pseudonym: bytes
    master: bytes

    @property
    def public(self) -> Ed25519PublicKey:
        return self.signing.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    def sign(self, message: bytes) -> str:
        return self.signing.sign(message).hex()

    def user_ref(self, user_id: str | None) -> str | None:
        if user_id is None:
            return None
        return hmac.new(self.pseudonym, user_id.encode(), hashlib.sha256).hexdigest()

    @classmethod
    def generate(cls) -> AuditKeys:
        return cls(Ed25519PrivateKey.generate(), os.urandom(32), os.urandom(32))


def store_dir(cfg: CandorConfig) -> Path:
    """Where local audit state that is not a secret lives (the fail-open spool): the SQLite
    database's directory, else ``.candor`` beside the config."""
    url = cfg.audit.url
    if url.startswith("sqlite:///"):
        return cfg.resolve_path(url[len("sqlite:///"):].split("?", 1)[0]).parent
    return cfg.resolve_path(".candor")


def key_dir(cfg: CandorConfig) -> Path:
    """``audit.key_dir``; else, for SQLite, a directory *beside* the database's, not in it
    (``.candor/audit.db`` -> ``.candor-keys/``), so copying, mounting or sharing the database's
    directory does not hand over the key that signs it; else ``.candor-keys`` beside the config.

    A deployment that already keeps its keys in the database's directory (the layout before this
    default) keeps using them: moving them would change every pseudonym and lock away stored
    content. ``verify`` then says the key sits beside the database."""
    if cfg.audit.key_dir:
        return cfg.resolve_path(cfg.audit.key_dir)
    legacy = store_dir(cfg)
    if (legacy / SIGNING_FILE).is_file():
        return legacy
    return legacy.with_name(f"{legacy.name}-keys")


def key_beside_store(cfg: CandorConfig) -> bool:
    """The signing key file sits in the SQLite database's own directory (and no env key is set):
    whoever can write the database can then also re-sign it."""
    if os.environ.get(cfg.audit.signing_key_env):
        return False
    url = cfg.audit.url
    if not url.startswith("sqlite:///"):
        return False
    db_dir = cfg.resolve_path(url[len("sqlite:///"):].split("?", 1)[0]).parent.resolve()
    return (key_dir(cfg) / SIGNING_FILE).is_file() and key_dir(cfg).resolve() == db_dir


def _may_generate(cfg: CandorConfig) -> bool:
    if cfg.audit.generate_keys is not None:
        return cfg.audit.generate_keys
    return cfg.audit.url.startswith("sqlite:")


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _secret(env_name: str, path: Path, generate: bool, what: str) -> bytes:
    value = os.environ.get(env_name)
    if value:
        return decode_secret(value, f"${env_name}")
    if path.is_file():
        return decode_secret(path.read_text(), str(path))
    if not generate:
        raise AuditKeyError(f"no {what}: set ${env_name} (32 bytes, hex or base64) or create {path} "
                        "(every replica needs the same key), or set audit.generate_keys: true")
    raw = os.urandom(32)
    try:
        _write_private(path, raw.hex().encode() + b"\n")
    except FileExistsError:  # another worker generated it first: use theirs
        return decode_secret(path.read_text(), str(path))
    return raw


def load_keys(cfg: CandorConfig, *, create: bool = True) -> AuditKeys:
    """The keys for writing; generates missing ones where the deployment allows it (and ``create``)."""
    directory = key_dir(cfg)
    generate = create and _may_generate(cfg)
    seed = _secret(cfg.audit.signing_key_env, directory / SIGNING_FILE, generate, "audit signing key")
    signing = Ed25519PrivateKey.from_private_bytes(seed)
    keys = AuditKeys(
        signing=signing,
        pseudonym=_secret(cfg.audit.pseudonym_key_env, directory / PSEUDONYM_FILE, generate, "pseudonym key"),
        master=_secret(cfg.audit.master_key_env, directory / MASTER_FILE, generate, "content master key"),
    )
    pub = public_key_path(cfg)
    pem = public_pem(keys.public)
    if create and (not pub.is_file() or pub.read_bytes() != pem):
        # export (or refresh after a key change) so auditors always find the key that signs now
        pub.parent.mkdir(parents=True, exist_ok=True)
        tmp = pub.with_suffix(".tmp")
        tmp.write_bytes(pem)
        os.replace(tmp, pub)
    return keys


def public_key_path(cfg: CandorConfig) -> Path:
    if cfg.audit.public_key:
        return cfg.resolve_path(cfg.audit.public_key)
    return key_dir(cfg) / PUBLIC_FILE


def load_verify_keys(cfg: CandorConfig) -> dict[str, Ed25519PublicKey]:
    """Public keys for verification by key id: the exported one plus ``audit.trusted_keys``."""
    keys: dict[str, Ed25519PublicKey] = {}
    paths = [public_key_path(cfg), *(cfg.resolve_path(p) for p in cfg.audit.trusted_keys)]
    for path in paths:
        if path.is_file():
            pk = load_public_key(path)
            keys[key_id(pk)] = pk
    return keys
