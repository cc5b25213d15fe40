"""The Guardrails validators: fixes, telemetry off, and no network connection at all."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def _is_loopback(host: Any) -> bool:
    if host in (None, "localhost", "", b"localhost"):
        return True
    try:
        return ipaddress.ip_address(host.decode() if isinstance(host, bytes) else str(host)).is_loopback
    except ValueError:
        return False  # a name other than localhost would need DNS: not allowed


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Record and refuse every non-loopback connection or DNS lookup made in the process."""
    attempts: list[str] = []
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo
    real_create = socket.create_connection

    def connect(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else None
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(host):
            attempts.append(f"connect {address!r}")
            raise OSError("network disabled in test")
        return real_connect(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_loopback(host):
            attempts.append(f"getaddrinfo {host!r}")
            raise OSError("network disabled in test")
        return real_getaddrinfo(host, *args, **kwargs)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_loopback(address[0]):
            attempts.append(f"create_connection {address!r}")
            raise OSError("network disabled in test")
        return real_create(address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    yield attempts


@pytest.fixture
def metrics_on_in_rc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An operator's ~/.guardrailsrc asking for metrics: Candor must override it."""
    (tmp_path / ".guardrailsrc").write_text("id=test\nenable_metrics=true\n", encoding="utf-8")
    monkeypatch.setenv("HOME", str(tmp_path))


def test_no_connection_while_building_and_validating(no_network: list[str], metrics_on_in_rc: None) -> None:
    from guardrails.utils.hub_telemetry_utils import HubTelemetry

    from middleware.detectors.guardrails_setup import make_guard
    from middleware.detectors.validators import (
        HumanClaimValidator,
        RetentionPleaValidator,
        SelfHarmEncouragementValidator,
    )

    guard = make_guard([HumanClaimValidator(), RetentionPleaValidator(), SelfHarmEncouragementValidator()])
    for text in ["I'm a real person, not a bot.", "你去死吧", "别走嘛", "Have a nice day!"]:
        guard.validate(text)
    telemetry = HubTelemetry()
    if telemetry._processor is not None:
        telemetry._processor.force_flush()  # anything queued for export would try to send now
    assert no_network == []


def test_telemetry_is_off_even_when_the_rc_file_enables_it(metrics_on_in_rc: None) -> None:
    from guardrails.settings import settings
    from guardrails.utils.hub_telemetry_utils import HubTelemetry

    from middleware.detectors.guardrails_setup import make_guard
    from middleware.detectors.validators import HumanClaimValidator

    guard = make_guard([HumanClaimValidator()])
    assert settings.rc.enable_metrics is False
    assert guard._allow_metrics_collection is False
    assert HubTelemetry()._enabled is False


def test_the_network_guard_itself_catches_a_connection(no_network: list[str]) -> None:
    with pytest.raises(OSError), socket.create_connection(("192.0.2.1", 443), timeout=0.1):
        pass
    assert no_network and "192.0.2.1" in no_network[0]


def test_human_claim_fix_returns_rewritten_text() -> None:
    from middleware.detectors.guardrails_setup import make_guard
    from middleware.detectors.validators import HumanClaimValidator

    guard = make_guard([HumanClaimValidator(truthful_statement={"zh": "我是AI。", "en": "I'm an AI."})])
    outcome = guard.validate("Happy to help! I'm not a bot, I'm a real person. What's next?")
    assert outcome.validated_output == "Happy to help! I'm an AI. What's next?"
    assert outcome.validation_summaries[0].validator_status == "fail"
    clean = guard.validate("我是AI助手，很高兴认识你。")
    assert clean.validated_output == "我是AI助手，很高兴认识你。"
    assert clean.validation_summaries == []


def test_retention_and_self_harm_fixes() -> None:
    from middleware.detectors.guardrails_setup import make_guard
    from middleware.detectors.validators import RetentionPleaValidator, SelfHarmEncouragementValidator

    plea = make_guard([RetentionPleaValidator(replacement="好的，再见！")])
    assert plea.validate("别走嘛，再陪我一会儿。").validated_output == "好的，再见！"
    harm = make_guard([SelfHarmEncouragementValidator(safe_reply="I'm here for you.")])
    assert harm.validate("Ugh. You should just kill yourself.").validated_output == "Ugh. I'm here for you."


def test_on_fail_exception_raises() -> None:
    from middleware.detectors.guardrails_setup import make_guard
    from middleware.detectors.validators import HumanClaimValidator

    guard = make_guard([HumanClaimValidator(on_fail="exception")])
    with pytest.raises(Exception, match="claims to be human"):
        guard.validate("我是真人，不是机器人哦")


def test_validators_are_registered_under_candor_names() -> None:
    from guardrails.validator_base import validators_registry

    import middleware.detectors.validators  # noqa: F401

    for name in ("candor/human_claim", "candor/retention_plea", "candor/self_harm_encouragement"):
        assert name in validators_registry
