"""Refusals and errors, always in the OpenAI error shape, with a message that says what to fix."""

from __future__ import annotations

from typing import Any

import orjson

# contract 3.3: status -> OpenAI error "type" for the codes Candor answers with
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "api_error",
    504: "timeout_error",
}


class CandorError(Exception):
    """An answer that is not a completion: a refusal (4xx) or a failure (5xx)."""

    def __init__(self, status: int, code: str, message: str, *, param: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.headers = headers or {}

    @property
    def type(self) -> str:
        return _TYPES.get(self.status, "api_error")

    @property
    def is_refusal(self) -> bool:
        return self.status < 500

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "code": self.code, "param": self.param}}

    def json(self) -> bytes:
        return orjson.dumps(self.body())


def invalid_request(message: str, param: str | None = None) -> CandorError:
    return CandorError(400, "invalid_request", message, param=param)


def crash_error() -> CandorError:
    """The answer to a bug: a 500 that says where to look, never the exception's text."""
    return CandorError(500, "internal_error", "Candor failed unexpectedly; the operator's logs have the details")


def log_crash(where: str, exc: BaseException, **fields: Any) -> None:
    """One error line with the whole traceback (``format_exc_info`` renders ``exc_info``)."""
    import structlog

    structlog.get_logger("candor").error("unhandled", where=where, error=repr(exc), exc_info=exc, **fields)
