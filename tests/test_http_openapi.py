"""The OpenAPI document (middleware/http/openapi.py) built from the routes themselves: every served
(method, path) is described, path parameters are declared, model traffic carries the ``compliance``
schema, and the document validates as OpenAPI 3.1. tests/test_openapi.py checks the served document."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Mount, Route

from middleware.http.openapi import openapi_document, served


async def _ok(_: object) -> Response:
    return Response()


ROUTES = [
    Route("/v1/chat/completions", _ok, methods=["POST"]),
    Route("/admin/personas/{persona_id:str}", _ok, methods=["GET", "PATCH"]),
    Route("/audit/events", _ok, methods=["GET"]),
    Route("/healthz", _ok),
    Route("/admin/things", _ok, methods=["POST"]),
    Mount("/static", routes=[]),    # not a Route: not an operation
]


def test_served_lists_methods_and_paths_without_head_or_converters() -> None:
    assert served(ROUTES) == [
        ("GET", "/admin/personas/{persona_id}"), ("PATCH", "/admin/personas/{persona_id}"),
        ("POST", "/admin/things"), ("GET", "/audit/events"), ("GET", "/healthz"),
        ("POST", "/v1/chat/completions"),
    ]


def test_the_document_describes_every_route_and_validates() -> None:
    doc = openapi_document(ROUTES, "9.9.9")
    # imported here, not at the top: ~1 s of import every xdist worker would pay while collecting
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation import OpenAPIV31SpecValidator

    validate(doc, cls=OpenAPIV31SpecValidator)   # raises on any departure from the 3.1 schema
    assert doc["info"]["version"] == "9.9.9"
    assert {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops} == set(served(ROUTES))
    chat = doc["paths"]["/v1/chat/completions"]["post"]
    assert chat["tags"] == ["model traffic"] and chat["security"] == [{"bearer": []}]
    ok = chat["responses"]["200"]["content"]
    assert ok["application/json"]["schema"]["properties"]["compliance"] == {"$ref": "#/components/schemas/Compliance"}
    assert "text/event-stream" in ok
    assert chat["requestBody"]["required"] is True
    persona = doc["paths"]["/admin/personas/{persona_id}"]["patch"]
    assert persona["parameters"] == [{"name": "persona_id", "in": "path", "required": True,
                                      "schema": {"type": "string"}}]
    assert doc["paths"]["/admin/things"]["post"]["requestBody"]["content"]["application/json"]["schema"] == \
        {"type": "object"}
    health = doc["paths"]["/healthz"]["get"]
    assert health["tags"] == ["operations"] and "security" not in health
    assert doc["paths"]["/audit/events"]["get"]["tags"] == ["auditor"]
    err = doc["components"]["schemas"]["Error"]
    assert err["properties"]["error"] == {"$ref": "#/components/schemas/ErrorDetail"}
    assert {"policy", "event_id", "notices", "label", "actions", "crisis"} <= set(
        doc["components"]["schemas"]["Compliance"]["properties"])
