"""Labels and notice text (middleware/rules/labels.py)."""

from __future__ import annotations

from middleware.rules.labels import LabelNotifier, NoticeText
from middleware.testing import compile_rules, make_exchange, run_gates


async def test_every_reply_gets_an_explicit_and_an_implicit_label() -> None:
    rules = compile_rules()
    assert isinstance(rules.notifiers[-2], LabelNotifier) and isinstance(rules.notifiers[-1], NoticeText)
    ex = make_exchange()
    await run_gates(ex, rules)
    assert ex.label is not None and ex.label["explicit"] and ex.label["implicit"]["Label"] == "1"
    assert ex.label["explicit"] in "".join(ex.prefix)


async def test_an_app_that_renders_labels_gets_them_as_data_only() -> None:
    ex = make_exchange(renders=frozenset({"labels", "notices"}))
    await run_gates(ex, compile_rules())
    assert ex.label is not None and ex.label["explicit"] not in "".join(ex.prefix)
    assert "label_delegated" in ex.actions
