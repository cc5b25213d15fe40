"""The deployment config and start-up: errors name the file, the line and the key; environment overrides;
keys from the environment only; a start-up that cannot work says why before any worker starts."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from middleware.config.deployment import AppConfig, load_config
from middleware.config.yamlfile import FileProblems
from middleware.http.auth import AppKeys, load_apps
from middleware.http.errors import CandorError


def write(tmp: Path, text: str) -> Path:
    path = tmp / "candor.yaml"
    path.write_text(text)
    return path


def problems(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(FileProblems) as exc:
        load_config(path, environ=env or {})
    return [str(p) for p in exc.value.problems]


def test_every_problem_is_reported_with_file_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, "server:\n  prot: 8000\nmodels:\n  - name: a\n    target: openai/x\n"
                           "    timeout: soon\napps:\n  - id: demo\n")
    found = problems(path)
    assert f"{path}:2: server.prot: unknown key 'prot'; did you mean 'port'?" in found
    assert any(p.startswith(f"{path}:6: models[0].timeout:") and "90s, 30m" in p for p in found)
    assert any(p.startswith(f"{path}:8: apps[0]:") and "key_env or key_sha256" in p for p in found)
    assert len(found) == 3


def test_yaml_syntax_errors_name_the_line(tmp_path: Path) -> None:
    found = problems(write(tmp_path, "server:\n  port: [1, 2\n"))
    assert found[0].startswith(str(tmp_path / "candor.yaml")) and "YAML syntax error" in found[0]


def test_wrong_types_and_duplicates(tmp_path: Path) -> None:
    found = problems(write(tmp_path, "server: {port: not-a-port}\n"))
    assert any("server.port" in p and "not-a-port" in p for p in found)
    found = problems(write(tmp_path, "models:\n  - {name: a, target: x/y}\n  - {name: a, target: x/z}\n"))
    assert any("duplicate model name(s): a" in p for p in found)


def test_environment_overrides_any_section_key(tmp_path: Path) -> None:
    path = write(tmp_path, "server: {port: 9000}\naudit: {url: 'sqlite:///a.db'}\n")
    cfg = load_config(path, environ={"CANDOR_SERVER_PORT": "9100", "CANDOR_AUDIT_URL": "postgresql://db/x",
                                     "CANDOR_STATE_URL": "redis://127.0.0.1:6379/1"})
    assert (cfg.server.port, cfg.audit.url, cfg.state.url) == (9100, "postgresql://db/x", "redis://127.0.0.1:6379/1")
    assert any("unknown key 'prot'" in p for p in problems(path, {"CANDOR_SERVER_PROT": "1"}))


def test_key_variables_are_not_mistaken_for_overrides(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "admin: {key_env: CANDOR_ADMIN_KEY}\n"),
                      environ={"CANDOR_ADMIN_KEY": "secret", "CANDOR_WEBHOOK_SECRET": "s"})
    assert cfg.admin.key_env == "CANDOR_ADMIN_KEY"


def test_builtin_defaults_listen_on_loopback_with_the_demo_model() -> None:
    cfg = load_config(None, environ={})
    assert (cfg.server.host, cfg.server.port) == ("127.0.0.1", 8787)
    assert [m.name for m in cfg.models] == ["candor-demo"] and cfg.state.url == "memory://"
    assert cfg.audit.url.startswith("sqlite:///")


def test_app_keys_by_variable_or_by_hash() -> None:
    digest = hashlib.sha256(b"key-two").hexdigest()
    apps = load_apps([AppConfig(id="one", key_env="ONE_KEY"), AppConfig(id="two", key_sha256=digest)],
                     environ={"ONE_KEY": "key-one"})
    keys = AppKeys(apps)
    assert keys.authenticate("Bearer key-one").id == "one"
    assert keys.authenticate("Bearer key-two").id == "two"
    for bad in (None, "Bearer nope", "Basic key-one", "Bearer "):
        with pytest.raises(CandorError) as exc:
            keys.authenticate(bad)
        assert exc.value.status == 401 and exc.value.code == "invalid_api_key"


def serve(tmp: Path, config: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    path = write(tmp, config)
    full = {**os.environ, **(env or {})}
    full.pop("CANDOR_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "adapters.main", "serve", "--config", str(path), "--port", "1"],
                          capture_output=True, text=True, timeout=60, env=full, cwd=tmp)


def test_start_up_refuses_an_app_naming_a_missing_policy(tmp_path: Path) -> None:
    (tmp_path / "policies").mkdir()
    done = serve(tmp_path, "policies_dir: policies\napps:\n  - {id: a, key_env: A_KEY, policy: no-such-policy}\n",
                 {"A_KEY": "k"})
    assert done.returncode != 0
    assert "no-such-policy" in done.stderr and "available:" in done.stderr and "Traceback" not in done.stderr


def test_start_up_refuses_a_missing_provider_key_and_a_bad_config(tmp_path: Path) -> None:
    done = serve(tmp_path, "models:\n  - {name: m, target: openai/gpt-4o-mini, api_key_env: NOT_SET_ANYWHERE}\n")
    assert done.returncode != 0 and "NOT_SET_ANYWHERE" in done.stderr and "Traceback" not in done.stderr
    done = serve(tmp_path, "server: {prot: 1}\n")
    assert done.returncode == 2 and "did you mean 'port'" in done.stderr


def test_start_up_refuses_unreachable_stores_in_plain_words(tmp_path: Path) -> None:
    done = serve(tmp_path, 'audit: {url: "postgresql://postgres@127.0.0.1:1/test", generate_keys: true}\n')
    assert done.returncode != 0 and "audit.url (127.0.0.1:1) cannot be reached" in done.stderr
    assert "Traceback" not in done.stderr
    done = serve(tmp_path, 'state: {url: "redis://127.0.0.1:1/0"}\n')
    assert done.returncode != 0 and "state.url (127.0.0.1:1) cannot be reached" in done.stderr
    assert "Traceback" not in done.stderr


def test_start_up_refuses_a_shared_database_without_shared_keys(tmp_path: Path) -> None:
    done = serve(tmp_path, 'audit: {url: "postgresql://postgres@127.0.0.1:1/test"}\n')
    assert done.returncode != 0 and "CANDOR_SIGNING_KEY" in done.stderr and "Traceback" not in done.stderr
