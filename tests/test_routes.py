"""Model routes from candor.yaml (adapters/upstream/routes.py) and their adapters (adapters/upstream/build.py)."""

from __future__ import annotations

import pytest

from adapters.upstream.build import build_upstreams
from adapters.upstream.routes import RouteError, resolve_route
from middleware.config.deployment import ModelConfig


def test_openai_compatible_providers_go_through_the_pass_through() -> None:
    route = resolve_route(ModelConfig(name="c", target="deepseek/deepseek-chat", api_key_env="K"), {"K": "sk"})
    assert route.adapter == "passthrough" and route.api_base and route.upstream_model == "deepseek-chat"
    other = resolve_route(ModelConfig(name="a", target="anthropic/claude-3-5-sonnet", api_key_env="K"), {"K": "s"})
    assert other.adapter == "litellm" and other.upstream_model == "anthropic/claude-3-5-sonnet"


def test_a_missing_key_or_base_is_a_clear_error() -> None:
    with pytest.raises(RouteError, match="not set"):
        resolve_route(ModelConfig(name="c", target="openai/gpt-4o-mini", api_key_env="NOPE"), {})
    with pytest.raises(RouteError, match="api_base"):
        resolve_route(ModelConfig(name="v", target="hosted_vllm/m"), {})


async def test_each_adapter_kind_is_built_once() -> None:
    routes = {"d": resolve_route(ModelConfig(name="d", target="candor/demo"), {})}
    ups = build_upstreams(routes)
    assert set(ups) == {"demo"}
    for up in ups.values():
        await up.aclose()
