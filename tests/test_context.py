"""Who a request is for (middleware/pipeline/context.py)."""

from __future__ import annotations

import pytest

from middleware.http.errors import CandorError
from middleware.pipeline.context import resolve_context


def test_the_header_user_wins_over_the_body_user() -> None:
    ctx = resolve_context("app", {"x-candor-user": "header-user"}, {"user": "body-user"})
    assert ctx.user_id == "header-user"
    assert resolve_context("app", {}, {"user": "body-user"}).user_id == "body-user"


def test_renders_and_age_band_are_parsed_strictly() -> None:
    ctx = resolve_context("app", {"x-candor-client-renders": "labels, notices", "x-candor-age-band": "Minor"}, {})
    assert ctx.renders_labels and ctx.renders_notices and ctx.age_band == "minor"
    for headers in ({"x-candor-client-renders": "pictures"}, {"x-candor-age-band": "teen"},
                    {"x-candor-unlabeled": "maybe"}):
        with pytest.raises(CandorError):
            resolve_context("app", headers, {})


def test_ids_are_bounded() -> None:
    with pytest.raises(CandorError):
        resolve_context("app", {"x-candor-user": "u" * 300}, {})
