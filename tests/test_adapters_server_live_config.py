"""Live ``candor.yaml`` (adapters/server/live_config.py), in process: a reload swaps apps and models all at
once or not at all, keeps the running config on any problem, names sections that need a restart, and is
audited every time. tests/test_e2e_config_reload.py does the same through a running server's file watch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.server.live_config import ConfigReloader
from adapters.upstream.routes import resolve_routes
from middleware.audit.events import EventDraft
from middleware.config.deployment import load_config
from middleware.http.auth import load_apps
from middleware.http.errors import CandorError
from middleware.testing import ScriptedUpstream
from tests.endpoint_support import services

BASE = """\
policies_dir: ./policies
models:
  - name: candor-demo
    target: candor/demo
apps:
  - id: first
    key_env: LC_FIRST_KEY
"""


class Audit:
    def __init__(self) -> None:
        self.drafts: list[EventDraft] = []

    async def append(self, draft: EventDraft) -> None:
        self.drafts.append(draft)


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, ConfigReloader, Audit, list[str], Any]:
    monkeypatch.setenv("LC_FIRST_KEY", "key-first")
    monkeypatch.setenv("LC_SECOND_KEY", "key-second")
    (tmp_path / "policies").mkdir()
    path = tmp_path / "candor.yaml"
    path.write_text(BASE)
    cfg = load_config(path)
    up = ScriptedUpstream()
    svc, _ = services({"demo": up}, routes=list(resolve_routes(cfg).values()))
    svc.keys.replace(load_apps(cfg.apps))
    audit, reloads = Audit(), []

    async def policies_reload(trigger: str) -> None:
        reloads.append(trigger)

    reloader = ConfigReloader(cfg, svc, svc.pipeline, audit=lambda: audit,  # type: ignore[arg-type,return-value]
                              likeness=lambda: None, policies_reload=policies_reload, upstream_override=up)
    return path, reloader, audit, reloads, svc


async def test_an_unchanged_file_changes_nothing_and_is_still_audited(setup: Any) -> None:
    _, reloader, audit, reloads, _ = setup
    outcome = await reloader.reload("sighup")
    assert outcome.result == "unchanged" and outcome.summary() == "candor.yaml reload: nothing changed"
    assert reloads == [] and audit.drafts[0].decisions[0]["outcome"] == "unchanged"


async def test_a_new_app_and_model_are_swapped_in_together(setup: Any) -> None:
    path, reloader, audit, reloads, svc = setup
    path.write_text(BASE.replace("apps:", "  - name: demo-two\n    target: candor/demo\napps:")
                    + "  - id: second\n    key_env: LC_SECOND_KEY\n")
    assert "demo-two" not in svc.pipeline.routes
    outcome = await reloader.reload("watch")
    assert outcome.result == "applied", outcome.problems
    assert outcome.changes == {"apps_added": ["second"], "models_added": ["demo-two"]}
    assert svc.keys.authenticate("Bearer key-second").id == "second"
    assert "demo-two" in svc.pipeline.routes and reloads == ["watch"]
    record = audit.drafts[-1]
    assert record.kind == "policy_reload" and record.decisions[0]["rule"] == "config_reload"
    assert record.decisions[0]["detail"]["changes"]["apps_added"] == ["second"] and record.status == 200
    assert "apps_added: second" in outcome.summary()


async def test_a_broken_edit_keeps_the_running_config(setup: Any) -> None:
    path, reloader, audit, _, svc = setup
    routes_before = dict(svc.pipeline.routes)
    path.write_text(BASE + "  - id: second\n    key_env: LC_SECOND_KEY\n    policy: no-such-pack\n")
    outcome = await reloader.reload("watch")
    assert outcome.result == "rejected" and any("no-such-pack" in p for p in outcome.problems)
    with pytest.raises(CandorError):
        svc.keys.authenticate("Bearer key-second")
    assert svc.keys.authenticate("Bearer key-first").id == "first" and svc.pipeline.routes == routes_before
    assert audit.drafts[-1].status == 422 and "rejected" in outcome.summary()


async def test_sections_that_need_a_restart_are_named_not_applied(setup: Any) -> None:
    path, reloader, _, _, _ = setup
    path.write_text(BASE + "server:\n  port: 9999\n")
    outcome = await reloader.reload("watch")
    assert outcome.needs_restart == ["server"] and reloader.cfg.server.port == 9999
    assert outcome.result == "unchanged"
