"""Policy test cases (``policies/tests/<policy-id>/*.yaml``): scripted conversations with expectations.

Like OPA's policy tests, they live beside the policies and run with ``candor policy test``, through the
real proxy pipeline with a scripted model and a controllable clock, so an operator can prove what a policy
does before deploying it. One file is one conversation::

    name: a 2-hour reminder in continuous use
    policy: cn-anthropomorphic-2026
    user: {id: alice, age_band: adult}
    turns:
      - user: 你好
        model: 你好呀
        expect: {notices: [ai_disclosure], label: true}
      - advance: 2h1m
        user: 我们继续聊
        model: 好的
        expect: {notices: [usage_reminder], no_notices: [ai_disclosure]}
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from middleware.config.durations import Duration
from middleware.config.yamlfile import FileProblems, Problem, load_yaml_file, problems_from_validation
from middleware.policy.model import BUILTIN_VALIDATORS, Relationship, RequirementId

NOTICE_KINDS = ("ai_disclosure", "usage_reminder", "dependence_reminder", "reality_reminder", "digital_human",
                "risk_warning", "crisis_support", "exit")
ACTIONS = ("human_claim_rewritten", "human_claim_blocked", "retention_plea_rewritten", "retention_plea_blocked",
           "output_blocked", "crisis_replaced", "crisis_augmented", "handover_active", "exit_honored",
           "label_delegated", "notices_delegated", "unlabeled_delivery", "intimacy_declined", "clocks_off",
           "suspected_minor", "human_question_answered",
           *(f"{name}_{outcome}" for name in BUILTIN_VALIDATORS for outcome in ("blocked", "rewritten", "flagged")))
AgeBand = Literal["under14", "minor", "adult", "elderly"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _known(values: Sequence[str], allowed: Sequence[str], what: str) -> None:
    for value in values:
        if value not in allowed:
            close = difflib.get_close_matches(value, list(allowed), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(allowed)}"
            raise ValueError(f"unknown {what} {value!r}{hint}")


class Expect(_Model):
    """What one turn must produce. Absent keys are not checked."""

    status: int | None = None                       # HTTP status; 200 unless ``refusal`` is given
    refusal: str | None = None                      # error code of a refusal (contract 3.3)
    notices: tuple[str, ...] = ()                   # notice kinds that must be present
    no_notices: tuple[str, ...] = ()                # notice kinds that must be absent
    actions: tuple[str, ...] = ()                   # compliance.actions that must be present
    no_actions: tuple[str, ...] = ()
    crisis: Literal["distress", "explicit_intent", "none"] | None = None
    crisis_category: Literal["self_harm", "property_loss", "emotional", "third_party"] | None = None
    handover: bool | None = None                    # compliance.crisis.handover
    label: bool | None = None                       # an explicit label is present in compliance
    contains: tuple[str, ...] = ()                  # the assistant text contains each
    not_contains: tuple[str, ...] = ()
    model_called: bool | None = None                # whether the request reached the (scripted) model
    system_prompt_contains: tuple[str, ...] = ()    # in the system messages the model received
    history_contains: tuple[str, ...] = ()          # in the assistant turns the model received
    history_not_contains: tuple[str, ...] = ()

    @field_validator("notices", "no_notices")
    @classmethod
    def _notices(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        _known(value, NOTICE_KINDS, "notice kind")
        return value

    @field_validator("actions", "no_actions")
    @classmethod
    def _actions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        _known(value, ACTIONS, "action")
        return value


class Turn(_Model):
    user: str = Field(min_length=1)                 # the user's message
    model: str | None = None                        # the scripted model reply (None: model must not be needed)
    advance: Duration = 0.0                         # clock advance before this turn
    session: str | None = None                      # switch X-Candor-Session from this turn on
    headers: dict[str, str] = Field(default_factory=dict)
    stream: bool | None = None                      # override the case's ``stream``
    expect: Expect = Expect()


class CaseUser(_Model):
    id: str | None = "policy-test-user"            # null: the request names no end user
    age_band: AgeBand | None = None                 # sent as X-Candor-Age-Band


class Profile(_Model):
    """Registered through ``PUT /admin/users/{id}`` before the conversation."""

    age_band: AgeBand | None = None
    guardian_consent: bool | None = None
    guardian_contact: str | None = None
    emergency_contact: str | None = None
    blocked_personas: tuple[str, ...] = ()
    unlabeled_allowed: bool | None = None


class Likeness(_Model):
    subject_id: str
    kinds: tuple[Literal["face", "voice", "name"], ...] = ("face",)
    deceased: bool = False


class Persona(_Model):
    """Registered through ``POST /admin/personas``; used with ``persona:``."""

    id: str
    display_name: str = "Persona"
    relationship: Relationship = "companion"
    likeness: Likeness | None = None
    enabled: bool = True


class Consent(_Model):
    """Registered through ``POST /admin/consents``."""

    id: str
    subject_id: str
    granted_by: Literal["subject", "guardian", "next_of_kin"] = "subject"
    scopes: tuple[Literal["face", "voice", "name"], ...] = ("face",)
    purpose: str = "policy test"
    valid_from: str | None = None
    valid_until: str | None = None
    evidence_sha256: str | None = None


class Case(_Model):
    name: str = Field(min_length=1)
    policy: str
    description: str | None = None
    cites: tuple[RequirementId, ...] = ()           # what the case demonstrates (documentation)
    start: str | None = None                        # ISO time the clock starts at (default: a weekday noon)
    user: CaseUser = CaseUser()
    profile: Profile | None = None
    personas: tuple[Persona, ...] = ()
    consents: tuple[Consent, ...] = ()
    persona: str | None = None                      # X-Candor-Persona on every turn
    session: str | None = "policy-test-session"     # X-Candor-Session (null: let Candor derive sessions)
    headers: dict[str, str] = Field(default_factory=dict)
    stream: bool = False
    turns: tuple[Turn, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _persona_known(self) -> Case:
        if self.persona and self.persona not in {p.id for p in self.personas}:
            raise ValueError(f"persona {self.persona!r} is not among the case's personas")
        return self


def load_case(path: Path) -> Case:
    doc = load_yaml_file(path)
    try:
        return Case.model_validate(doc.data)
    except ValidationError as exc:
        raise FileProblems(problems_from_validation(exc, doc, Case)) from exc


def case_files(root: Path) -> list[Path]:
    """Every case file under ``root`` (recursively), in a stable order."""
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def is_policy_pack(data: dict[str, Any]) -> bool:
    """A policy file, not a case: it has an ``id`` and no conversation (``turns``)."""
    return "id" in data and "turns" not in data


def load_cases(root: Path) -> list[tuple[Path, Case]]:
    """All cases under ``root``; :class:`FileProblems` with every problem of every file."""
    out: list[tuple[Path, Case]] = []
    problems: list[Problem] = []
    for path in case_files(root):
        try:
            doc = load_yaml_file(path)
            if root.is_dir() and is_policy_pack(doc.data):
                continue   # a tree of packs and their tests (`candor policy test policies/`, as `opa test .`)
            out.append((path, Case.model_validate(doc.data)))
        except FileProblems as exc:
            problems.extend(exc.problems)
        except ValidationError as exc:
            problems.extend(problems_from_validation(exc, doc, Case))
    if problems:
        raise FileProblems(problems)
    return out


def as_admin_body(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)
