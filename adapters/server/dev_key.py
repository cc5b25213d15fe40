"""The development app key of the built-in defaults (no ``apps:`` in candor.yaml), stable across restarts.

``$CANDOR_DEV_APP_KEY`` wins; else the key kept in ``.candor/dev-app-key`` (beside the audit keys, mode
0600) is reused; else a new one is made and kept there. A client configured once keeps working after a
restart, and nothing but the file's owner can read it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from middleware.config.deployment import CandorConfig

DEV_KEY_ENV = "CANDOR_DEV_APP_KEY"
FILE_NAME = "dev-app-key"


def dev_key_path(cfg: CandorConfig) -> Path:
    return cfg.resolve_path(cfg.audit.key_dir or ".candor") / FILE_NAME


def stable_dev_key(cfg: CandorConfig, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    given = env.get(DEV_KEY_ENV)
    if given:
        return given
    path = dev_key_path(cfg)
    try:
        kept = path.read_text().strip()
    except FileNotFoundError:
        kept = ""
    if kept:
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)   # someone loosened it: a key is for its owner only
        return kept
    key = "candor-dev-" + secrets.token_urlsafe(24)
    path.parent.mkdir(parents=True, exist_ok=True)
    # created 0600 from the start (no window in which the file is readable by others)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    return key
