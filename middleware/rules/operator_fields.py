"""Notices that name the operator: ``{operator}`` and ``{filing_number}`` in a notice text (or a gate's own
answer, or the label) become the deployment's ``operator.name`` (else its code) and ``operator.filing_number``
(contract 6.2; see ``middleware/config/operator.py``). Runs after every notice is added and before their text is
written into the reply."""

from __future__ import annotations

from collections.abc import Mapping

from middleware.config.operator import fill
from middleware.pipeline.exchange import Exchange
from middleware.rules.registry import Build, rule


class OperatorFields:
    name = "operator_fields"

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)

    def before(self, ex: Exchange) -> None:
        values = self.values
        for notice in ex.notices:
            text = notice.get("text")
            if isinstance(text, str) and "{" in text:
                notice["text"] = fill(text, values)
        if ex.answer is not None and "{" in ex.answer:
            ex.answer = fill(ex.answer, values)
        label = ex.label
        if label is not None and isinstance(label.get("explicit"), str) and "{" in label["explicit"]:
            label["explicit"] = fill(label["explicit"], values)
            if ex.state.label_prefix:
                ex.state.label_prefix = fill(ex.state.label_prefix, values)
            ex.suffix[:] = [fill(s, values) for s in ex.suffix]

    def after(self, ex: Exchange) -> None:
        return None


@rule("operator_fields", stage="notifier", order=75)
def _operator_fields(b: Build) -> OperatorFields | None:
    # after the label (70), before the notices' text goes into the reply (80)
    return OperatorFields(b.deps.operator_fields) if b.deps.operator_fields else None
