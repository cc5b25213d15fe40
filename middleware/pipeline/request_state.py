"""What the rules learn about one request as it passes the gates, as typed fields.

Each field has one writer (named in its comment) and any number of readers. Before this, rules kept
these in a string-keyed dict declared in six modules and re-typed as literals elsewhere; now a typo is
a type error and every reader sees the writer's type.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from middleware.detectors.textnorm import Normalized
    from middleware.http.errors import CandorError
    from middleware.likeness.enforce import PersonaWatch
    from middleware.likeness.models import Persona
    from middleware.profiles.models import UserProfile
    from middleware.rules.detection import Reading
    from middleware.rules.guard_tier import GuardRun
    from middleware.state.clock import Decision


@dataclass(slots=True)
class RequestState:
    user_text: str = ""                        # pipeline.admit: the last user turn's text
    locale: str | None = None                  # pipeline.admit: the reply's language (rules/locale.py)
    user_norm: Normalized | None = None        # rules/text.py: user_text normalised once for every detector
    crisis: Reading | None = None              # rules/crisis.py: the one crisis reading of the request
    user_context: tuple[str, ...] | None = None   # rules/text.py: earlier user turns read with the last one
    asked: str | None = None                   # rules/text.py: the assistant turn the last user turn answers
    scope: str | None = None                   # rules/session.py: the state store's key for this user
    clock: Decision | None = None              # rules/session.py: the session clock's decision
    age_band: str | None = None                # rules/profile.py: profile, else header, minors mode applied
    age_band_source: str | None = None         # rules/profile.py: profile | header | minors_mode
    profile: UserProfile | None = None         # rules/profile.py (None: no profile registered)
    unlabeled: bool = False                    # rules/profile.py: X-Candor-Unlabeled honoured for this user
    persona: Persona | None = None             # rules/persona.py: the registered persona, if any
    persona_watch: PersonaWatch | None = None  # rules/persona.py: consent/kill-switch watch while streaming
    deferred_refusal: CandorError | None = None  # rules/persona.py: a refusal that waits for crisis checks
    label_prefix: str | None = None            # rules/labels.py: the label text sent before the reply
    audit_begin_id: str | None = None          # recorder.py: the begin record of a streamed reply
    audit_rejected: bool = False               # recorder.py: the event could not be recorded; a stand-in was
    responses_request: dict[str, Any] | None = None   # responses/endpoint.py: the original /v1/responses body
    audio_labelled: set[int] = field(default_factory=set)   # media/chat.py: choices whose streamed audio began
    answer_notices: list[dict[str, Any]] = field(default_factory=list)  # rules/crisis.py: notices that are
                                               # the answer itself (not repeated as notices)
    structured: bool = False                   # pipeline.admit: response_format json_object/json_schema
    may_be_tool_calls: bool = False            # pipeline.admit: the request offers tools (reply may be only calls)
    owe_disclosure: Callable[[], Awaitable[None]] | None = None  # rules/session.py: marks this request's
                                               # disclosure as still due (refused, or no text delivered)
    disclosure_in_text: bool = False           # rules/labels.py: the disclosure's text is in ex.prefix
    prefix_sent: bool = False                  # pipeline.frames: ex.prefix went out in the reply's text
    text_withheld: bool = False                # rules/structured.py: no text inserted (structured output)
    guard_run: GuardRun | None = None          # rules/guard_tier.py: this request's guard-model calls
    hold: Callable[[], Awaitable[None]] | None = None   # rules/crisis.py: awaited before the reply's first
                                               # byte (the guard's request-side answer); None: nothing waits
    crisis_ms: float | None = None             # rules/crisis.py: how long the local crisis tiers took
