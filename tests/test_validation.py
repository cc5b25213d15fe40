"""Bodies parsed into models with a 400 that names each bad field (middleware/http/validation.py)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from middleware.http.errors import CandorError
from middleware.http.validation import parse


class Thing(BaseModel):
    name: str
    count: int


def test_a_valid_body_parses() -> None:
    assert parse(Thing, {"name": "x", "count": 2}, "thing") == Thing(name="x", count=2)


def test_every_bad_field_is_named() -> None:
    with pytest.raises(CandorError) as caught:
        parse(Thing, {"count": "many"}, "thing")
    assert caught.value.status == 400
    assert "name" in caught.value.message and "count" in caught.value.message
