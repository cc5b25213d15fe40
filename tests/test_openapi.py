"""``GET /openapi.json`` describes every route Candor serves and validates as OpenAPI 3.1; the 404 for an
unknown path lists what exists (issue 15)."""

from __future__ import annotations

from tests import web
from tests.proxy import ProxyProcess


def test_openapi_validates_and_covers_every_route(lean_proxy: ProxyProcess) -> None:
    r = web.get(lean_proxy.url + "/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    # imported here, not at the top: ~1 s of import every xdist worker would pay while collecting
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation import OpenAPIV31SpecValidator

    validate(doc, cls=OpenAPIV31SpecValidator)   # raises on any departure from the 3.1 schema
    paths = doc["paths"]
    for method, path in (("post", "/v1/chat/completions"), ("post", "/v1/responses"), ("post", "/v1/embeddings"),
                         ("get", "/v1/models"), ("get", "/admin/personas"), ("patch", "/admin/personas/{persona_id}"),
                         ("post", "/admin/sessions/{session_id}/release"), ("get", "/audit/events"),
                         ("get", "/metrics"), ("get", "/openapi.json")):
        assert method in paths.get(path, {}), (method, path)
    compliance = doc["components"]["schemas"]["Compliance"]
    assert {"policy", "event_id", "notices", "label", "actions", "crisis"} <= set(compliance["properties"])
    chat = paths["/v1/chat/completions"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert chat["properties"]["compliance"] == {"$ref": "#/components/schemas/Compliance"}


def test_the_404_lists_what_exists(lean_proxy: ProxyProcess) -> None:
    r = web.post(lean_proxy.url + "/v1/completions", json={})
    assert r.status_code == 404
    err = r.json()["error"]
    assert err["code"] == "not_found"
    for served in ("POST /v1/chat/completions", "POST /v1/responses", "POST /v1/embeddings", "GET /v1/models",
                   "GET /openapi.json"):
        assert served in err["message"]
