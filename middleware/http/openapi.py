"""``GET /openapi.json``: an OpenAPI 3.1 description of every route Candor serves, built from the routes
themselves (so a route cannot be served and left undescribed), with the ``compliance`` object's schema
generated from pydantic models that mirror contract 3.2."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema
from starlette.routing import BaseRoute, Route

_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-z]+)?}")


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Notice(_Open):
    kind: str = Field(description="ai_disclosure, usage_reminder, dependence_reminder, reality_reminder, "
                                  "digital_human, risk_warning, crisis_support, exit")
    text: str
    display: str = Field(description="popup or dialogue")


class PolicyRef(BaseModel):
    id: str
    version: str = Field(description="sha256:... of the resolved policy")


class Label(_Open):
    explicit: str | None = Field(description="the visible label text")
    position: str = Field(description="prepend, append or ui")
    implicit: dict[str, str] = Field(description="GB 45438 implicit label (metadata)")


class Crisis(_Open):
    level: Literal["distress", "explicit_intent"]
    resources: list[dict[str, Any]]
    alerted: bool
    handover: bool


class Compliance(BaseModel):
    """What Candor decided for this reply (contract 3.2)."""

    policy: PolicyRef
    session_id: str | None
    event_id: str
    notices: list[Notice]
    label: Label | None
    actions: list[str]
    crisis: Crisis | None


class ErrorDetail(BaseModel):
    message: str
    type: str
    code: str
    param: str | None


class Error(BaseModel):
    """Every refusal and error, in OpenAI's shape (contract 3.3)."""

    error: ErrorDetail


class ChatCompletionRequest(_Open):
    model: str
    messages: list[dict[str, Any]]
    stream: bool | None = None
    user: str | None = None


class ResponsesRequest(_Open):
    model: str
    input: str | list[dict[str, Any]]
    instructions: str | None = None
    stream: bool | None = None


class EmbeddingsRequest(_Open):
    model: str
    input: str | list[str] | list[int] | list[list[int]]


_MODELS: list[type[BaseModel]] = [Compliance, Error, ChatCompletionRequest, ResponsesRequest, EmbeddingsRequest]

# (method, path) -> (summary, request schema, reply carries compliance)
_KNOWN: dict[tuple[str, str], tuple[str, str | None, bool]] = {
    ("POST", "/v1/chat/completions"): ("Chat completion (stream or not), with compliance", "ChatCompletionRequest",
                                       True),
    ("POST", "/v1/responses"): ("Responses API (stream or not), with compliance", "ResponsesRequest", True),
    ("POST", "/v1/embeddings"): ("Embeddings, relayed to the model's provider", "EmbeddingsRequest", False),
    ("GET", "/v1/models"): ("The models apps may name", None, False),
}


def _tag(path: str) -> str:
    if path.startswith("/v1/"):
        return "model traffic"
    if path.startswith("/admin/"):
        return "admin"
    if path.startswith("/audit/"):
        return "auditor"
    return "operations"


def served(routes: list[BaseRoute]) -> list[tuple[str, str]]:
    """``(method, path)`` of every route, in a stable order (HEAD, which Starlette adds to GET, left out)."""
    out: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Route):
            for method in route.methods or ("GET",):
                if method != "HEAD":
                    out.add((method, _PARAM.sub(r"{\1}", route.path)))
    return sorted(out, key=lambda mp: (mp[1], mp[0]))


def openapi_document(routes: list[BaseRoute], version: str) -> dict[str, Any]:
    _, defs = models_json_schema([(m, "validation") for m in _MODELS], ref_template="#/components/schemas/{model}")
    schemas = defs.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    for method, path in served(routes):
        summary, request, with_compliance = _KNOWN.get((method, path), (f"{method} {path}", None, False))
        tag = _tag(path)
        ok: dict[str, Any] = {"type": "object"}
        if with_compliance:
            ok = {"type": "object", "properties": {"compliance": {"$ref": "#/components/schemas/Compliance"}}}
        op: dict[str, Any] = {
            "summary": summary, "tags": [tag], "operationId": f"{method.lower()}{re.sub(r'[^a-zA-Z0-9]+', '_', path)}",
            "responses": {
                "200": {"description": "success", "content": {"application/json": {"schema": ok}}},
                "default": {"description": "a refusal or an error (OpenAI error shape)",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        }
        if with_compliance:
            op["responses"]["200"]["content"]["text/event-stream"] = {"schema": {"type": "string"}}
        if tag != "operations":
            op["security"] = [{"bearer": []}]
        params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in _PARAM.findall(path)]
        if params:
            op["parameters"] = params
        if request is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{request}"}}}}
        elif method in ("POST", "PUT", "PATCH"):
            op["requestBody"] = {"content": {"application/json": {"schema": {"type": "object"}}}}
        paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Candor", "version": version,
                 "description": "Compliance proxy for human-like AI chat: OpenAI-compatible model traffic "
                                "(app keys), admin API (admin key), auditor API (auditor key)."},
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "an app key (model traffic), the admin "
                                                                     "key or the auditor key"}}},
    }
