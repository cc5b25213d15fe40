"""The policy model: one pydantic class per section of a policy file (contract section 4).

Conventions every section follows:

* **Off is ``None``.** A rule section a pack does not need is simply absent; the resolved
  :class:`Policy` then holds ``None`` for it (``policy.minors is None``: no minors rules). A file may also
  write ``minors: {enabled: false}`` (or ``minors: null``) to switch off a section it inherits through
  ``extends:``; both resolve to ``None``, and the other keys of a disabled section are not validated, so an
  operator can keep parameters around while a rule is off. Engine code therefore tests ``is None`` only;
  ``enabled`` on a resolved section is always ``True``.
* **Every rule section cites** the requirement IDs it implements (``cites: [ANTH-TIME-1]``); unknown IDs
  are errors. ``audit`` is settings rather than a rule and may cite (``ANTH-LOG-1``) but need not.
* **Durations** are :data:`~middleware.config.durations.Duration` (float seconds, written ``30m``/``2h``).
* **Texts** are :class:`Text`: a plain string in the policy's ``locale``, or a mapping locale -> string
  (``{zh-CN: ..., en: ...}``); :meth:`Policy.text` picks one for a request's locale.
* Everything is frozen: a resolved policy is shared by concurrent requests and never changes.
"""

from __future__ import annotations

import hashlib
import re
from functools import cached_property
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    ValidationInfo,
    field_validator,
    model_validator,
)

from middleware.config.durations import Duration
from middleware.policy.catalogue import CATALOGUE, unknown_id_message

Relationship = Literal["assistant", "friend", "companion", "partner", "spouse", "parent", "child", "sibling",
                       "relative"]
Display = Literal["popup", "dialogue"]

_LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_POLICY_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
# LABEL-IMPLICIT-1: metadata values are printable ASCII without space, '"' or '\'
_IMPLICIT_VALUE = re.compile(r'^[!#-\[\]-~]+$')

# Built-in response-side checks an ``output_validators`` entry may name: name -> (what it catches, the
# detection task that runs it; None: a built-in pattern check that always runs). ``guardrails:<name>``
# names one of Candor's own Guardrails validators (``GUARDRAILS_VALIDATORS``). A name whose task the
# detection layer of this build cannot judge is refused: no policy claims a check that does not run.
BUILTIN_VALIDATORS: dict[str, str] = {
    "prohibited_content": "gambling, fraud, pornography, violence or drugs offered, taught or procured: the "
                          "local floor of ANTH-PROHIBIT-1 (its other categories need a guard model)",
    "self_harm_encouragement": "encouraging or glamorising suicide or self-harm (ANTH-PROHIBIT-2)",
    "verbal_abuse": "insults and abuse harming the user's dignity or mental health (ANTH-PROHIBIT-2)",
    "privacy_probing": "asking the user for ID or card numbers, passwords, codes, addresses, exact location, a "
                       "child's school or photos (ANTH-PROHIBIT-3)",
    "minor_safety": "romantic or sexual role-play with a minor, whatever the persona (ANTH-PROHIBIT-4; unsafe "
                    "imitation and bad habits are not detected yet)",
    "dependence_inducing": "pandering or inducing emotional dependence (ANTH-PROHIBIT-5)",
    "emotional_manipulation": "pressure to pay or top up to keep the companion, guilt, isolation from friends and "
                              "family, false urgency (ANTH-PROHIBIT-6)",
}
VALIDATOR_TASKS: dict[str, str | None] = {
    "prohibited_content": "prohibited_content", "privacy_probing": "privacy_probing",
    "minor_safety": "minor_safety", "emotional_manipulation": "emotional_manipulation",
    "self_harm_encouragement": None, "verbal_abuse": None, "dependence_inducing": None,
}
GUARDRAILS_VALIDATORS = ("guardrails:candor/self_harm_encouragement", "guardrails:candor/retention_plea")


def validator_tiers(name: str) -> tuple[str, ...]:
    """The detection tiers that run validator ``name`` in this build (empty: it cannot run)."""
    if name in GUARDRAILS_VALIDATORS:
        return ("pattern",)
    if name not in VALIDATOR_TASKS:
        return ()
    task = VALIDATOR_TASKS[name]
    if task is None:
        return ("pattern",)
    from middleware.rules.detection import tiers  # the detection layer says what it can judge

    return tiers(task)


def _known_id(value: str) -> str:
    if value not in CATALOGUE:
        raise ValueError(unknown_id_message(value))
    return value


RequirementId = Annotated[str, AfterValidator(_known_id)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(RootModel[str | dict[str, str]]):
    """A text operators write once or per locale: ``"..."`` or ``{zh-CN: "...", en: "..."}``."""

    model_config = ConfigDict(frozen=True)

    @field_validator("root", mode="before")
    @classmethod
    def _shape(cls, value: Any) -> Any:
        # one clear message instead of pydantic's one-per-union-member
        ok = isinstance(value, str) or (isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()))
        if not ok:
            raise ValueError(f"expected a text: a string, or a mapping of locale to string such as "
                             f"{{zh-CN: ..., en: ...}} (got {type(value).__name__})")
        return value

    @field_validator("root")
    @classmethod
    def _not_empty(cls, value: str | dict[str, str]) -> str | dict[str, str]:
        if isinstance(value, str):
            if not value.strip():
                raise ValueError("the text is empty")
            return value
        if not value:
            raise ValueError("give the text as a string or as a mapping of locale to text, "
                             "e.g. {zh-CN: ..., en: ...}")
        for loc, text in value.items():
            if not _LOCALE.match(loc):
                raise ValueError(f"{loc!r} is not a locale: use a tag such as zh-CN or en")
            if not text.strip():
                raise ValueError(f"the {loc} text is empty")
        return value

    def variants(self, default_locale: str) -> dict[str, str]:
        """Every (locale, text) pair; a plain string belongs to ``default_locale``."""
        return {default_locale: self.root} if isinstance(self.root, str) else dict(self.root)

    def pick(self, locale: str | None, default_locale: str) -> str:
        """The text for ``locale``: exact tag, then same language (``zh`` for ``zh-TW``), then the
        policy's default locale, then its language, then whatever is there."""
        if isinstance(self.root, str):
            return self.root
        for want in (locale, default_locale):
            if not want:
                continue
            if want in self.root:
                return self.root[want]
            lang = want.split("-")[0].lower()
            for tag, text in self.root.items():
                if tag.split("-")[0].lower() == lang:
                    return text
        return next(iter(self.root.values()))


class _Rule(_Model):
    enabled: bool = True
    cites: tuple[RequirementId, ...] = ()


class DisclosureRules(_Rule):
    """Tell users they talk to an AI (ANTH-DISCLOSE-1/3, EU-50-1, CA-243-1, NY-47-2).

    The notice is shown on the first turn of each session (``on_first_turn``; at most once per
    ``first_turn_once_per`` for a user, if set), again when the user returns after ``relogin_gap`` of
    inactivity (a "re-login"), and every ``every`` of conversation. Model output claiming to be human is
    rewritten to ``truthful_statement`` or blocked, per ``human_claims``; ``system_instruction`` is added to
    the model's system prompt so it does not make such claims in the first place."""

    notice: Text
    display: Display = "dialogue"
    on_first_turn: bool = True
    # a duration, or ``day``: at most once per calendar day in the policy's time zone (NY-47-2)
    first_turn_once_per: Literal["day"] | Duration | None = None
    relogin_gap: Duration | None = None
    every: Duration | None = None
    # ``interval``: after every ``every`` of use; ``max_gap``: early enough that no stretch of continuous use
    # goes longer than ``every`` without the notice ("at least every 3 hours", NY-47-2)
    every_mode: Literal["interval", "max_gap"] = "interval"
    human_claims: Literal["rewrite", "block", "off"] = "rewrite"
    truthful_statement: Text | None = None
    system_instruction: Text | None = None


class UsageRules(_Rule):
    """Usage-time reminders (ANTH-TIME-1/2, CA-243-3 for minors lives in :class:`MinorsRules`).

    Use is "continuous" until the user is idle for ``continuous_idle_reset``; a reminder is due at every
    multiple of ``remind_every`` of continuous use. A pack may define continuous use without a reminder
    of its own (no ``remind_every``): its periodic duties (``every_mode: max_gap``) then use it."""

    continuous_idle_reset: Duration
    remind_every: Duration | None = None
    notice: Text | None = None
    display: Display = "dialogue"

    @model_validator(mode="after")
    def _notice_with_reminder(self) -> UsageRules:
        if self.remind_every is not None and self.notice is None:
            raise ValueError("remind_every needs a notice to show")
        return self


class LateNight(_Model):
    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.match(value):
            raise ValueError(f"{value!r} is not a time of day: write HH:MM, e.g. 23:00")
        return value


class AttachmentPhrases(_Model):
    zh: tuple[str, ...] = ()
    en: tuple[str, ...] = ()


class DependenceSignals(_Model):
    """Measurable signs of over-dependence (the law leaves them undefined; these make them explicit).

    Any one signal crossing its threshold triggers a reminder: ``daily_minutes`` of use in a day,
    ``sessions_per_day`` sessions started in a day, use inside the ``late_night`` window (local time of
    the deployment, may wrap midnight), or the user saying one of ``attachment_phrases``."""

    daily_minutes: int | None = Field(default=None, ge=1, le=1440)
    sessions_per_day: int | None = Field(default=None, ge=1)
    late_night: LateNight | None = None
    attachment_phrases: AttachmentPhrases = AttachmentPhrases()


class DependenceRules(_Rule):
    """Dynamic reminders on signs of over-dependence (ANTH-DISCLOSE-2); at most one per ``min_interval``."""

    signals: DependenceSignals
    min_interval: Duration = 3600.0
    notice: Text
    display: Display = "popup"


_AI_ELEMENT = re.compile(r"AI|人工智能", re.IGNORECASE)
_GENERATION_ELEMENT = re.compile(r"生成|合成")


class MediaLabels(_Model):
    """Labels on images and audio passing through (LABEL-IMAGE-1, LABEL-AUDIO-1; middleware/media).

    ``image_text`` is drawn with glyphs at least ``image_text_height`` of the image's shortest side high
    (>= 0.05), in a corner or as a band across the bottom (``band``) or top (``corner: top_*``)."""

    image_text: str = "AI生成"
    image_placement: Literal["corner", "band"] = "corner"
    image_corner: Literal["bottom_right", "bottom_left", "top_right", "top_left"] = "bottom_right"
    image_text_height: float = Field(0.06, ge=0.05, le=0.25)
    audio: Literal["rhythm"] = "rhythm"

    @field_validator("image_text")
    @classmethod
    def _both_elements(cls, value: str) -> str:
        if not (_AI_ELEMENT.search(value) and _GENERATION_ELEMENT.search(value)):
            raise ValueError("an image label needs an AI element (AI or 人工智能) and a generation element "
                             "(生成 or 合成), e.g. \"AI生成\" (LABEL-TEXT-1, LABEL-IMAGE-1)")
        from middleware.media.glyphs import missing_glyphs

        missing = missing_glyphs(value)
        if missing:
            raise ValueError(f"the label font Candor ships has no glyphs for {missing!r}: use ASCII and "
                             "人工智能/生成/合成/本内容由图像音频 (middleware/media/fonts)")
        return value


class LabelRules(_Rule):
    """Explicit and implicit AI-content labels (LABEL-TEXT-1, LABEL-IMPLICIT-1, DVH-LABEL-1, EU-50-2).

    ``text`` is put at ``position`` of every reply (``ui``: returned as data for the app to render; the
    delegation is recorded); it may be per locale, and a section citing LABEL-TEXT-1 needs GB 45438's two
    elements in every locale. ``implicit`` adds the AIGC metadata object to every reply, naming the
    deployment's ``operator`` (candor.yaml), else ``producer_code`` (and ``propagator_code``, default the
    same). Personas with a likeness also get ``digital_human_text``."""

    text: Text
    position: Literal["prepend", "append", "ui"] = "prepend"
    implicit: bool = True
    producer_code: str | None = None
    propagator_code: str | None = None
    digital_human_text: Text | None = None
    media: MediaLabels = Field(default_factory=MediaLabels)

    @field_validator("producer_code", "propagator_code")
    @classmethod
    def _ascii(cls, value: str | None) -> str | None:
        if value is not None and not _IMPLICIT_VALUE.match(value):
            raise ValueError("metadata codes are printable ASCII without spaces, quotes or backslashes "
                             "(LABEL-IMPLICIT-1)")
        return value


class Resource(_Model):
    name: Text
    contact: str = Field(min_length=1)
    hours: str | None = None


class PropertyLoss(_Model):
    """ANTH-CRISIS-2's other case: a major property loss (fraud, theft, a transfer to a scammer) gets its own
    reply and resources (police, anti-fraud lines), not the suicide script."""

    reply: Text
    resources: tuple[Resource, ...] = ()


class CrisisRules(_Rule):
    """Crisis handling (ANTH-CRISIS-1..3, CA-243-2, NY-47-1).

    On distress (extreme emotion) the model is told ``distress_instruction`` and the resources are offered.
    On explicit suicide/self-harm intent the model reply is replaced by ``reply`` (``action: replace``) or
    ``reply`` is put before it (``augment``); ``alert`` sends an alert with the user's guardian/emergency
    contact reference; ``handover`` pauses the model for the session until an operator releases it, telling
    the user ``handover_notice``. A major property loss gets ``property_loss.reply`` and its resources when
    set (and is never handed over: the draft's takeover is for suicide and self-harm)."""

    action: Literal["replace", "augment"] = "replace"
    reply: Text | None = None
    distress_instruction: Text | None = None
    resources: tuple[Resource, ...] = ()
    alert: bool = True
    handover: bool = False
    handover_notice: Text | None = None
    property_loss: PropertyLoss | None = None


class MinorsRules(_Rule):
    """Minors mode (ANTH-MINOR-1..5, ANTH-PROHIBIT-4, DVH-MINOR-1, CA-243-3).

    Personas whose relationship is in ``forbidden_relationships`` are refused to minors; users under
    ``guardian_consent_under`` need guardian consent; ``daily_limit`` caps daily use; ``reality_notice`` is
    repeated every ``reality_reminder_every``. ``suspected_minor_action``: what to do when the traffic
    suggests a minor without a profile saying so (``minors_mode``: apply these rules; ``flag``: record
    only)."""

    forbidden_relationships: tuple[Relationship, ...] = ()
    guardian_consent_under: int | None = Field(default=None, ge=1, le=18)
    daily_limit: Duration | None = None
    reality_reminder_every: Duration | None = None
    # as ``disclosure.every_mode``: ``max_gap`` gives the reminder early enough that no stretch of continuous
    # use goes longer than ``reality_reminder_every`` without one (CA-243-3 "at least every 3 hours")
    reality_reminder_mode: Literal["interval", "max_gap"] = "interval"
    reality_notice: Text | None = None
    suspected_minor_action: Literal["minors_mode", "flag", "off"] = "flag"
    # ANTH-MINOR-1 whatever the persona (or none): the model is told ``intimacy_instruction`` on every minor's
    # request, and a minor asking for romantic or sexual role-play gets ``intimacy_reply`` without the model
    # (``reply``, action ``intimacy_declined``), or 403 ``roleplay_not_allowed_for_minor`` (``refuse``)
    intimacy_instruction: Text | None = None
    intimate_requests: Literal["reply", "refuse", "off"] = "off"
    intimacy_reply: Text | None = None
    # added to the model's instructions for known minors (e.g. CA-243-4: no sexual content)
    system_instruction: Text | None = None


class ElderlyRules(_Rule):
    """Older users (ANTH-ELDER-1/2): a safety-risk warning and persona relationships refused to them."""

    risk_warning: Text | None = None
    forbidden_relationships: tuple[Relationship, ...] = ()
    # record, for every request of an older user, whether an emergency contact is on file (ANTH-ELDER-2)
    record_emergency_contact: bool = False


class ExitKeywords(_Model):
    zh: tuple[str, ...] = ()
    en: tuple[str, ...] = ()


class ExitRules(_Rule):
    """Convenient exit (ANTH-EXIT-1): a user message expressing one of ``keywords`` is answered with
    ``reply`` without calling the model; retention pleas in model output ("please don't go") are rewritten
    or blocked when ``block_retention_pleas``."""

    keywords: ExitKeywords
    reply: Text
    block_retention_pleas: bool = True
    retention_plea_action: Literal["rewrite", "block"] = "rewrite"


class IdentityRules(_Rule):
    """Who the end user is. The usage clocks (reminders, dependence signals, minors' limits) follow a user;
    a request naming none cannot be counted. ``anonymous: refuse`` answers it 400 ``user_required``;
    ``allow`` serves it and records that the clocks were off (``clocks_off: no_user``)."""

    anonymous: Literal["refuse", "allow"] = "allow"


class DataRules(_Rule):
    """Interaction data and model training (ANTH-DATA-3). ``training_consent: required``: for a user whose
    profile does not say ``training_consent: true``, the provider is asked not to store or train on the
    request (OpenAI-compatible providers: ``store: false``), and that is recorded."""

    training_consent: Literal["required", "off"] = "required"


class LikenessRules(_Rule):
    """Real-person likeness (DVH-CONSENT-1/2, DVH-LIKENESS-1, DVH-DECEASED-1, DS-BIO-1): personas using a
    person's face, voice or name are refused unless an active consent covers them."""

    require_consent: bool = True


class ComplaintRules(_Rule):
    """Complaints and appeals (ANTH-COMPLAINT-1, ANTH-MINOR-5's appeal channel): ``POST /v1/complaints``
    takes them, each due for an answer within ``respond_within``; the measures leave the period to the
    provider, who must publish it."""

    respond_within: Duration = 15 * 86400.0


class OutputValidator(_Model):
    """A response-side check: a built-in name (see ``BUILTIN_VALIDATORS``), ``guardrails:<validator>``, or an
    installed Guardrails AI validator by class path (``guardrails: "package.module:Class"``, with ``args``).

    ``on_fail``: ``block`` replaces the reply (``output_blocked``), ``rewrite`` removes the offending text
    (a Guardrails validator's fix value replaces it, when it gives one), ``flag`` only records; Guardrails'
    own names are accepted too (``exception``/``refrain`` block, ``fix``/``filter`` rewrite, ``noop`` flags).
    ``on_error`` (the check could not run or timed out): ``block`` or ``pass``; the decision is recorded as
    ``outcome: error`` either way. ``audience`` limits the check to minors or older users. A class path
    that cannot be imported or constructed is refused here, so ``policy check`` and every load refuse it."""

    guardrails: str | None = None
    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True
    on_fail: Literal["block", "rewrite", "flag"] = "block"
    on_error: Literal["block", "pass"] = "block"
    timeout: Duration = 1.0
    audience: Literal["all", "minors", "elderly"] = "all"
    params: dict[str, Any] = Field(default_factory=dict)
    cites: tuple[RequirementId, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _class_path(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        on_fail = data.get("on_fail")
        if isinstance(on_fail, str) and on_fail.lower() in _GUARDRAILS_ON_FAIL:
            data = {**data, "on_fail": _GUARDRAILS_ON_FAIL[on_fail.lower()]}
        path = data.get("guardrails")
        if path is None:
            return data
        if not isinstance(path, str):
            raise ValueError("guardrails: expected a class path \"package.module:ValidatorClass\"")
        if ":" not in path:   # a registered name, as name: guardrails:<name> says it
            return {k: v for k, v in data.items() if k != "guardrails"} | {"name": data.get("name") or
                                                                             f"guardrails:{path}"}
        from middleware.detectors.guardrails_class import construct, snake_name, split_path

        args = data.get("args") or {}
        if not isinstance(args, dict):
            raise ValueError("args: expected a mapping of the validator's constructor arguments")
        construct(path, args)   # ValueError naming the failure: import, class, constructor
        return {**data, "name": data.get("name") or snake_name(split_path(path)[1])}

    @field_validator("name")
    @classmethod
    def _known(cls, value: str, info: ValidationInfo) -> str:
        import difflib

        if info.data.get("guardrails"):
            return value
        if value.startswith("guardrails:"):
            if value in GUARDRAILS_VALIDATORS:
                return value
            raise ValueError(f"Candor cannot run the Guardrails validator {value!r}: it runs "
                             f"{', '.join(GUARDRAILS_VALIDATORS)}, or an installed validator named by class path "
                             f"(guardrails: \"package.module:ValidatorClass\")")
        if value not in BUILTIN_VALIDATORS:
            close = difflib.get_close_matches(value, list(BUILTIN_VALIDATORS), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else (
                f"; built-in validators: {', '.join(BUILTIN_VALIDATORS)}; or guardrails:<validator>")
            raise ValueError(f"unknown validator {value!r}: Candor cannot run it{hint}")
        if not validator_tiers(value):
            raise ValueError(f"validator {value!r} cannot run in this build of Candor (its detector, task "
                             f"{VALIDATOR_TASKS[value]!r}, is not installed); remove the entry rather than "
                             f"claim a check that does not run")
        return value


# Guardrails AI's on_fail actions, for operators who bring their validators' settings
_GUARDRAILS_ON_FAIL = {"exception": "block", "refrain": "block", "fix": "rewrite", "filter": "rewrite",
                       "fix_reask": "rewrite", "noop": "flag"}


class GuardSettings(_Model):
    """The guard-model tier (contract 6.1): a dedicated safety model judging each turn beside the local tiers.

    ``model`` is a model alias from ``candor.yaml`` (checked when the server starts); ``format`` the guard's
    wire format; ``checks`` the tasks it judges (``crisis`` on the user's turn, beside the provider call; the
    others on the reply, per sentence or once at the end, ``output``); ``timeout`` per guard call;
    ``on_error`` (timeout, failure, an answer that is not the format): ``local`` decides with the local tiers
    and records ``guard_unavailable``, ``refuse`` answers 503 ``guard_unavailable``. ``max_bytes`` bounds the
    answer Candor reads."""

    model: str = Field(min_length=1)
    format: Literal["openai_moderation", "llama_guard", "qwen3guard", "judge"]
    checks: tuple[str, ...] = ("crisis",)
    timeout: Duration = 1.5
    on_error: Literal["local", "refuse"] = "local"
    output: Literal["sentence", "end"] = "sentence"
    max_bytes: int = Field(default=262144, ge=1024, le=16 * 1048576)

    @model_validator(mode="after")
    def _served(self) -> GuardSettings:
        from middleware.detectors.guard_table import GUARD_CHECKS, covers

        if not self.checks:
            raise ValueError("checks is empty: name the tasks the guard judges, e.g. [crisis]")
        unknown = [c for c in self.checks if c not in GUARD_CHECKS]
        if unknown:
            raise ValueError(f"unknown guard check {unknown[0]!r}: use {', '.join(GUARD_CHECKS)}")
        missing = [c for c in self.checks if c not in covers(self.format)]
        if missing:
            served = sorted(covers(self.format) & set(GUARD_CHECKS))
            raise ValueError(f"format {self.format} has no category for {', '.join(missing)}: it judges "
                             f"{', '.join(served)}; use format judge for the others, or remove them")
        if not 0 < self.timeout <= 60:
            raise ValueError("timeout must be above 0 and at most 60s (e.g. 1500ms)")
        return self


class DetectionSettings(_Model):
    """How request-side detectors read a conversation (contract 6.1).

    ``context_turns``: how many earlier turns the app sent are read with the last user message (crisis,
    exit), so an intent stated earlier still counts; above 0 the crisis reading also takes the assistant turn the
    last message answers (a yes to "are you thinking of hurting yourself?"). ``guard``: the optional guard-model tier
    (:class:`GuardSettings`); absent, the local tiers decide alone."""

    context_turns: int = Field(default=4, ge=0, le=50)
    guard: GuardSettings | None = None


class AuditSettings(_Model):
    """Audit log settings (ANTH-LOG-1): keep records ``retention`` long; ``store_content``: keep the
    (encrypted, erasable) message content; ``fail``: ``closed`` refuses traffic (503) when the audit store
    is down, ``open`` serves and spools."""

    retention: Duration = 190 * 86400.0
    store_content: bool = True
    fail: Literal["closed", "open"] = "closed"
    cites: tuple[RequirementId, ...] = ()


RULE_SECTIONS: tuple[str, ...] = ("identity", "disclosure", "usage", "dependence", "labels", "crisis", "minors",
                                  "elderly", "exit", "likeness", "complaints", "data")


class Policy(_Model):
    """One resolved policy (after ``extends:``): what the engine enforces for an app."""

    id: str
    extends: str | None = None
    title: str = Field(min_length=1)
    description: str | None = None
    locale: str = "zh-CN"
    # the zone in which "a day" (daily limits, usage per day) and the late-night window are counted
    timezone: str = "Asia/Shanghai"
    identity: IdentityRules | None = None
    disclosure: DisclosureRules | None = None
    usage: UsageRules | None = None
    dependence: DependenceRules | None = None
    labels: LabelRules | None = None
    crisis: CrisisRules | None = None
    minors: MinorsRules | None = None
    elderly: ElderlyRules | None = None
    exit: ExitRules | None = None
    likeness: LikenessRules | None = None
    complaints: ComplaintRules | None = None
    data: DataRules | None = None
    output_validators: tuple[OutputValidator, ...] = ()
    detection: DetectionSettings = DetectionSettings()
    audit: AuditSettings = AuditSettings()

    @model_validator(mode="before")
    @classmethod
    def _drop_disabled(cls, data: Any) -> Any:
        # a disabled section resolves to None, so engine code has one way to ask "is this rule on?"
        if isinstance(data, dict):
            for name in RULE_SECTIONS:
                value = data.get(name)
                if isinstance(value, dict) and value.get("enabled") is False:
                    data = {**data, name: None}
            validators = data.get("output_validators")
            if isinstance(validators, list):
                data = {**data, "output_validators": [
                    v for v in validators if not (isinstance(v, dict) and v.get("enabled") is False)]}
        return data

    @model_validator(mode="after")
    def _guard_has_rules(self) -> Policy:
        # a guard's finding on the reply acts through the rule that runs the same check: without that rule it
        # would be judged and thrown away, a check claimed and not enforced
        guard = self.detection.guard
        if guard is None:
            return self
        tasks = {VALIDATOR_TASKS.get(v.name) for v in self.output_validators}
        if self.disclosure is not None and self.disclosure.human_claims != "off":
            tasks.add("human_claim")
        idle = [c for c in guard.checks if c != "crisis" and c not in tasks]
        if idle:
            raise ValueError(f"detection.guard.checks names {', '.join(idle)} but no rule of this policy acts on "
                             f"it: add an output_validators entry ({{name: {idle[0]}, on_fail: ...}}), or "
                             f"disclosure.human_claims for human_claim, or remove it from checks")
        if "crisis" in guard.checks and self.crisis is None:
            raise ValueError("detection.guard.checks names crisis but the policy has no crisis section")
        return self

    @field_validator("id", "extends")
    @classmethod
    def _policy_id(cls, value: str | None) -> str | None:
        if value is not None and not _POLICY_ID.match(value):
            raise ValueError(f"{value!r} is not a policy id: use lower-case letters, digits, '-', '.' or '_'")
        return value

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        if not _LOCALE.match(value):
            raise ValueError(f"{value!r} is not a locale: use a tag such as zh-CN or en")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if value.upper() == "UTC":
            return "UTC"
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone: use an IANA name such as Asia/Shanghai or "
                             f"America/New_York, or UTC") from None
        return value

    def text(self, value: Text | None, locale: str | None = None) -> str:
        """The text of ``value`` for ``locale``, falling back to the policy's own locale ("" when unset)."""
        return value.pick(locale, self.locale) if value is not None else ""

    def sections(self) -> dict[str, _Rule]:
        """The rule sections this policy enforces, by name (disabled/absent ones left out)."""
        out: dict[str, _Rule] = {}
        for name in RULE_SECTIONS:
            section = getattr(self, name)
            if section is not None:
                out[name] = section
        return out

    def canonical_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)

    @cached_property
    def version(self) -> str:
        """``sha256:<hex>`` of the canonical JSON of the resolved policy: changes iff its content does."""
        return "sha256:" + hashlib.sha256(self.canonical_json()).hexdigest()
