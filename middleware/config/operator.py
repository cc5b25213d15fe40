"""Who runs the service (``candor.yaml`` ``operator: {name, code, filing_number}``), as labels and notices
name it (LABEL-IMPLICIT-1, contract 6.2).

The implicit label's ``ContentProducer`` and ``ContentPropagator`` name the operator: its ``code`` (a
filing or registration code), else its ``name``; never the product's name ("candor"). GB 45438 wants
those values in printable ASCII without spaces, quotes or backslashes, so a name in Chinese is written
percent-encoded (UTF-8), which any reader can decode. Notice texts may say ``{operator}`` (the name,
else the code) and ``{filing_number}``; a policy of a configured app that uses a placeholder the
deployment does not fill is refused at start-up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import quote

import structlog

from middleware.config.deployment import CandorConfig
from middleware.policy.model import RULE_SECTIONS, Policy, Text

log = structlog.get_logger("candor.labels")
# LABEL-IMPLICIT-1's alphabet: printable ASCII without space, '"' or '\'
_SAFE = "!#$&'()*+,-./:;<=>?@[]^_`{|}~"
PLACEHOLDERS = ("{operator}", "{filing_number}")


def producer_value(cfg: CandorConfig) -> str | None:
    """``ContentProducer`` / ``ContentPropagator`` for this deployment: ``operator.code``, else
    ``operator.name`` (percent-encoded outside the allowed alphabet), else None (not configured)."""
    op = cfg.operator
    if op.code:
        return op.code
    if op.name:
        return quote(op.name.strip().replace(" ", "_"), safe=_SAFE)
    return None


def fields(cfg: CandorConfig) -> dict[str, str]:
    """What the notice placeholders become (only those the deployment sets)."""
    op = cfg.operator
    out: dict[str, str] = {}
    if op.name or op.code:
        out["{operator}"] = op.name or op.code or ""
    if op.filing_number:
        out["{filing_number}"] = op.filing_number
    return out


def fill(text: str, values: Mapping[str, str]) -> str:
    if "{" not in text:
        return text
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def _texts(policy: Policy) -> Iterable[str]:
    for name in RULE_SECTIONS:
        section = getattr(policy, name)
        if section is None:
            continue
        for key in type(section).model_fields:
            value = getattr(section, key)
            if isinstance(value, Text):
                yield from value.variants(policy.locale).values()


def unfilled(policy: Policy, values: Mapping[str, str]) -> list[str]:
    """Placeholders the policy's texts use that ``values`` does not fill."""
    used = {p for text in _texts(policy) for p in PLACEHOLDERS if p in text}
    return sorted(used - set(values))


def check_operator(cfg: CandorConfig, policies: Sequence[Policy]) -> None:
    """At start-up: refuse a policy whose notices name a placeholder the deployment leaves empty, and warn
    when implicit labels would name no producer at all."""
    values = fields(cfg)
    for policy in policies:
        missing = unfilled(policy, values)
        if missing:
            keys = ", ".join(f"operator.{m.strip('{}').replace('operator', 'name')}" for m in missing)
            raise ValueError(f"policy {policy.id!r} has texts that show {', '.join(missing)}, but candor.yaml does "
                             f"not set {keys}: add an operator section (operator: {{name, code, filing_number}})")
    if producer_value(cfg) is None and any(
            p.labels is not None and p.labels.implicit and not p.labels.producer_code for p in policies):
        log.warning("operator_not_set", message="candor.yaml has no operator.code or operator.name: the implicit "
                    "label's ContentProducer and ContentPropagator are empty. GB 45438 wants the service "
                    "provider's name or code there: set operator: {name, code, filing_number}.")
