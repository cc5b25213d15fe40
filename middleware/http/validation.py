"""Request bodies validated into pydantic models, refused with a 400 that names each bad field.

The admin APIs and the CLIs hand the services raw JSON; the services parse it here, so both
surfaces answer a bad body with the same message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from middleware.http.errors import invalid_request

M = TypeVar("M", bound=BaseModel)
Explain = Callable[[ErrorDetails, str | None], str | None]


def parse(model: type[M], data: Any, what: str, *, explain: Explain | None = None) -> M:
    """Validate a request body; a 400 naming each bad field and what is expected.

    ``explain(error, location)`` may replace pydantic's message for an error (None keeps it)."""
    if isinstance(data, model):
        return data
    if not isinstance(data, dict):
        raise invalid_request(f"the {what} must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        parts, first = [], None
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or None
            first = first or loc
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = f"unknown field (allowed: {', '.join(model.model_fields)})"
            elif explain is not None:
                msg = explain(err, loc) or msg
            parts.append(f"{loc}: {msg}" if loc else msg)
        raise invalid_request(f"invalid {what}: " + "; ".join(parts), param=first) from None
