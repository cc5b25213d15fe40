"""Rules declare their stage and order; the compiler sorts them (rules/registry.py)."""

from __future__ import annotations

from middleware.config.deployment import CandorConfig
from middleware.policy.registry import PolicyRegistry
from middleware.rules.compile import RuleCompiler, RuleDeps
from middleware.rules.registry import Build, rule, specs


def _compiled_names(policy_id: str) -> dict[str, list[str]]:
    registry = PolicyRegistry.from_config(CandorConfig())
    deps = RuleDeps(state=lambda: None, likeness=lambda: None)  # type: ignore[arg-type,return-value]
    rules = RuleCompiler(deps).compile(registry.get(policy_id))
    return {stage: [getattr(r, "name", type(r).__name__) for r in items]
            for stage, items in (("gate", rules.gates), ("shaper", rules.shapers), ("guard", rules.guards),
                                 ("notifier", rules.notifiers))}


def test_the_cn_pack_compiles_in_the_documented_order() -> None:
    names = _compiled_names("cn-anthropomorphic-2026")
    # profile before the clock; help (crisis) and a free exit before any deferred refusal
    gates = names["gate"]
    assert gates.index("profile") < gates.index("session") < gates.index("crisis") < gates.index("exit")
    assert gates.index("exit") < gates.index("deferred_refusal")
    # the label and then the notices' text come last among the notifiers
    assert names["notifier"][-2:] == ["labels", "notice_text"]


def test_every_registered_rule_has_a_known_stage_and_unique_name() -> None:
    seen = [s.name for s in specs()]
    assert len(seen) == len(set(seen))
    stages = [s.stage for s in specs()]
    assert stages == sorted(stages, key=("gate", "shaper", "guard", "notifier").index)


def test_a_name_cannot_be_registered_twice_by_different_factories() -> None:
    def one(b: Build) -> None:
        return None

    def two(b: Build) -> None:
        return None

    rule("test-only-rule", "gate", 999)(one)
    try:
        raised = False
        try:
            rule("test-only-rule", "gate", 999)(two)
        except RuntimeError:
            raised = True
        assert raised
    finally:
        from middleware.rules import registry

        registry._SPECS.pop("test-only-rule", None)
