"""Rules declare themselves: a stage, an order within it, and how to build from a policy.

As LiteLLM's guardrail hooks declare ``pre_call`` / ``during_call`` / ``post_call``, each rule module
registers a factory with ``@rule(name, stage, order)`` beside the rule it builds; the compiler
(``compile.py``) imports every module of this package, sorts the factories and keeps what each one
builds for the policy (a factory returns ``None`` when the policy does not ask for its rule). Nobody keeps
a central list; the order numbers carry the reasons, written next to them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from middleware.pipeline.exchange import Exchange
    from middleware.policy.model import Policy
    from middleware.rules.alerting import Alerter
    from middleware.rules.base import Gate, Guard, Notifier, Shaper
    from middleware.rules.compile import RuleDeps

Stage = Literal["gate", "shaper", "guard", "notifier"]
STAGES: tuple[Stage, ...] = ("gate", "shaper", "guard", "notifier")


@dataclass(frozen=True, slots=True)
class Build:
    """What a factory gets: the policy, the running service's dependencies, and what several rules share."""

    policy: Policy
    deps: RuleDeps
    alerter: Alerter
    crisis_first: Callable[[Exchange], bool] | None   # may this message be a crisis? (refusals wait for help)
    attachment: Callable[[Exchange], bool] | None     # the dependence signal of attachment phrases


Factory = Callable[[Build], "Gate | Shaper | Guard | Notifier | None"]


@dataclass(frozen=True, slots=True)
class RuleSpec:
    name: str
    stage: Stage
    order: int
    build: Factory


_SPECS: dict[str, RuleSpec] = {}


def rule(name: str, stage: Stage, order: int) -> Callable[[Factory], Factory]:
    def register(build: Factory) -> Factory:
        if name in _SPECS and _SPECS[name].build is not build:
            raise RuntimeError(f"two rules are named {name!r}")
        _SPECS[name] = RuleSpec(name, stage, order, build)
        return build

    return register


def specs() -> list[RuleSpec]:
    """Every registered rule, by stage, then order (then name, so equal orders stay stable)."""
    return sorted(_SPECS.values(), key=lambda s: (STAGES.index(s.stage), s.order, s.name))
