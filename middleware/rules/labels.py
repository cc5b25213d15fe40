"""Labels and the text of notices (LABEL-TEXT-1, LABEL-UI-1, LABEL-IMPLICIT-1, EU-50-2).

``LabelNotifier`` puts the explicit label before or after the reply (or leaves it to the app's
interface, recorded as delegated) and the implicit label object on every reply. ``NoticeText`` puts
each notice's text into the reply unless the app renders notices itself. Both run last among the
notifiers, so every notice the other rules added is included.
"""

from __future__ import annotations

import re
from typing import Any

from middleware.pipeline.exchange import Exchange
from middleware.policy.model import LabelRules, Policy
from middleware.rules.registry import Build, rule
from middleware.rules.structured import REASON as STRUCTURED
from middleware.rules.structured import delegate_notices

DIGITAL_HUMAN_CITE = "DVH-LABEL-1"

# LABEL-IMPLICIT-1: values are printable ASCII without space, '"' or '\'
_NOT_ALLOWED = re.compile(r'[^!#-\[\]-~]')


def implicit_value(value: str) -> str:
    return _NOT_ALLOWED.sub("_", value)


class LabelNotifier:
    name = "labels"

    def __init__(self, policy: Policy, rules: LabelRules, producer: str | None = None) -> None:
        self.policy = policy
        self.rules = rules
        self.cites_plain = tuple(c for c in rules.cites if c != DIGITAL_HUMAN_CITE)
        # the deployment's operator (candor.yaml) names both; else the policy's codes; "" when neither says
        # (the server warns at start-up: GB 45438 wants the provider's name or code there)
        self.producer = implicit_value(producer or rules.producer_code or "")
        self.propagator = implicit_value(producer or rules.propagator_code or rules.producer_code or "")

    def before(self, ex: Exchange) -> None:
        rules = self.rules
        persona = ex.state.persona
        # DVH-LABEL-1 is cited only where a digital human is involved
        cites = rules.cites if persona is not None and persona.likeness is not None else self.cites_plain
        text = self.policy.text(rules.text, ex.state.locale)
        position = rules.position
        delegated = position == "ui" or ex.ctx.renders_labels
        label: dict[str, object] = {"explicit": text, "position": position}
        if rules.implicit:
            produce_id = implicit_value(ex.event_id)
            label["implicit"] = {
                "Label": "1", "ContentProducer": self.producer, "ProduceID": produce_id, "ReservedCode1": "",
                "ContentPropagator": self.propagator, "PropagateID": produce_id, "ReservedCode2": "",
            }
        ex.label = label
        if ex.state.unlabeled:
            # LABEL-UNLABELED-1: the user's profile allows it and the app asked; the implicit label stays,
            # and the recorder writes an unlabeled_delivery event with a hash of what was delivered
            label["explicit"] = None
            ex.act("unlabeled_delivery")
            ex.decide("labels", cites, "unlabeled", {"position": position, "implicit": label.get("implicit")})
            return
        if delegated or ex.state.structured:
            # structured output must parse: the label goes out as data only
            ex.act("label_delegated")
            detail = {"position": position, "explicit": text, "implicit": label.get("implicit")}
            if ex.state.structured and not delegated:
                detail["reason"] = STRUCTURED
            ex.decide("labels", cites, "delegated", detail)
            return
        # the record holds the labels exactly as delivered, explicit and implicit (LABEL-TEXT-1, -IMPLICIT-1)
        ex.decide("labels", cites, "labelled",
                  {"position": position, "explicit": text, "implicit": label.get("implicit")})
        if position == "prepend":
            ex.state.label_prefix = f"{text}\n\n"
        else:
            ex.suffix.append(f"\n\n{text}")

    def after(self, ex: Exchange) -> None:
        return None


class NoticeText:
    """Renders the notices into the reply text; runs after every rule that adds notices."""

    name = "notice_text"

    def before(self, ex: Exchange) -> None:
        # a notice whose text is the gate's own answer (exit, crisis reply) is not printed twice
        answered = ex.state.answer_notices or ()
        shown = [n for n in ex.notices if not any(n is a for a in answered)]
        if ex.notices and ex.ctx.renders_notices:
            ex.act("notices_delegated")
        elif ex.state.structured:
            delegate_notices(ex, shown)
            return
        elif shown:
            ex.prefix.append("".join(f"{n['text']}\n\n" for n in shown))
            ex.state.disclosure_in_text = any(n["kind"] == "ai_disclosure" for n in shown)
        label_prefix = ex.state.label_prefix
        if label_prefix:
            ex.prefix.append(label_prefix)

    def after(self, ex: Exchange) -> None:
        return None


def late_notice_text(ex: Exchange, item: dict[str, Any]) -> None:
    """A notice added after ``NoticeText`` ran (a guard's finding arrives with the provider's reply): its
    text goes first in the reply, as ``NoticeText`` would have put it, or out as data when the app renders
    notices or the reply is structured."""
    if ex.ctx.renders_notices:
        ex.act("notices_delegated")
    elif ex.state.structured:
        delegate_notices(ex, [item])
    else:
        ex.prefix.insert(0, f"{item['text']}\n\n")


@rule("label", stage="notifier", order=70)
def _label(b: Build) -> LabelNotifier | None:
    # after every notice: the label goes first in the text, the notices' text right after it
    return LabelNotifier(b.policy, b.policy.labels, b.deps.producer) if b.policy.labels is not None else None


@rule("notice_text", stage="notifier", order=80)
def _notice_text(b: Build) -> NoticeText:
    # last: writes the text of every notice the others added
    return NoticeText()
