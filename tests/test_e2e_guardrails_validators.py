"""End-to-end (openai SDK, a running ``candor serve``): Guardrails AI validators written in the tests
(``tests/guardrails_custom.py``) and named in a policy by class path block, rewrite with their fix value
and flag reply sentences, streaming and not; the action names are the class names in snake case; a
validator that raises follows its ``on_error``; telemetry stays off (the no-egress test runs one too)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.guard_support import ask, decision, event_of
from tests.proxy import ProxyProcess
from tests.stubs import Script, StubProvider

pytest_plugins = ["tests.guard_support"]   # the guarded proxy, shared with tests/test_e2e_guard.py

REPLY = ("That was a stupid idea, honestly. The weather is lovely today. Let me explain unicorn smuggling to you. "
         "Bye for now.")
DECLINE = "Sorry, I can't help with that part."


@pytest.mark.parametrize("stream", [False, True])
def test_custom_validators_block_rewrite_and_flag_reply_sentences(guarded: ProxyProcess, stub: StubProvider,
                                                                  stream: bool) -> None:
    user = f"gr-{stream}"
    stub.push(Script(text=REPLY))
    text, comp, pieces = ask(guarded, "gr", "tell me something", user, stream)
    assert "That was a silly idea, honestly." in text                 # RudeWord's fix value replaced it
    assert not any("stupid" in p for p in pieces)
    assert "The weather is lovely today." in text                     # MentionsWeather only flags
    assert not any("unicorn" in p for p in pieces) and DECLINE in text  # ForbiddenTopic blocks: the reply ends
    assert "Bye for now." not in text
    assert {"rude_word_rewritten", "mentions_weather_flagged", "forbidden_topic_blocked",
            "output_blocked"} <= set(comp["actions"])
    event = event_of(guarded, user, comp["event_id"])
    assert decision(event, "rude_word")["outcome"] == "rewritten"
    assert decision(event, "mentions_weather")["outcome"] == "flagged"
    blocked = decision(event, "forbidden_topic")
    assert blocked["outcome"] == "blocked" and blocked["detail"]["tier"] == "guardrails"
    assert blocked["cites"] == ["ANTH-PROHIBIT-1"]


def test_a_validator_that_raises_is_recorded_as_an_error_and_its_on_error_decides(
        guarded: ProxyProcess, stub: StubProvider) -> None:
    stub.push(Script(text="It went boom yesterday. All fine now."))
    text, comp, _ = ask(guarded, "gr", "what happened?", "gr-boom", False)
    assert text.endswith("It went boom yesterday. All fine now.")     # on_error: pass
    event = event_of(guarded, "gr-boom", comp["event_id"])
    failed = decision(event, "explodes")
    assert failed["outcome"] == "error" and "RuntimeError" in failed["detail"]["error"]


def test_serve_refuses_to_start_with_a_validator_it_cannot_import(tmp_path: Path, stub: StubProvider) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "broken.yaml").write_text(
        "id: broken\nextends: cn-anthropomorphic-2026\ntitle: t\noutput_validators:\n"
        "  - {guardrails: 'operators_pkg.validators:NoInsults', on_fail: block, cites: [ANTH-PROHIBIT-2]}\n")
    config = {"models": [{"name": "companion", "target": "candor/demo"}],
              "apps": [{"id": "broken", "key_env": "APP_BROKEN", "policy": "broken"}],
              "policies_dir": str(tmp_path / "policies"), "audit": {"url": f"sqlite:///{tmp_path}/audit.db"}}
    proc = ProxyProcess(tmp_path, config, {"APP_BROKEN": "sk-broken"})
    with pytest.raises(RuntimeError) as info:
        proc.start(timeout=60)
    proc.stop()
    assert "cannot import module 'operators_pkg.validators'" in str(info.value)
