"""The development key of the built-in defaults is kept under .candor/ (0600) and reused at the next start."""

from __future__ import annotations

import stat
from pathlib import Path

from adapters.server.dev_key import DEV_KEY_ENV, dev_key_path, stable_dev_key
from middleware.config.deployment import CandorConfig


def _cfg(tmp: Path) -> CandorConfig:
    cfg = CandorConfig()
    cfg.source = str(tmp / "candor.yaml")
    return cfg


def test_the_key_is_made_once_kept_0600_and_reused(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    first = stable_dev_key(cfg, environ={})
    path = dev_key_path(cfg)
    assert path == tmp_path / ".candor" / "dev-app-key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.startswith("candor-dev-") and stable_dev_key(cfg, environ={}) == first


def test_the_environment_wins_and_is_not_written(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    assert stable_dev_key(cfg, environ={DEV_KEY_ENV: "my-own-dev-key"}) == "my-own-dev-key"
    assert not dev_key_path(cfg).exists()


def test_a_loosened_file_is_tightened(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    key = stable_dev_key(cfg, environ={})
    dev_key_path(cfg).chmod(0o644)
    assert stable_dev_key(cfg, environ={}) == key
    assert stat.S_IMODE(dev_key_path(cfg).stat().st_mode) == 0o600
