"""Builds the upstream adapters a deployment needs, and no others (LiteLLM only when a model needs it)."""

from __future__ import annotations

from middleware.upstream import ModelRoute, Upstream


def build_upstreams(routes: dict[str, ModelRoute]) -> dict[str, Upstream]:
    kinds = {r.adapter for r in routes.values()}
    out: dict[str, Upstream] = {}
    if "passthrough" in kinds:
        from .upstream_openai import OpenAICompatibleUpstream

        out["passthrough"] = OpenAICompatibleUpstream()
    if "litellm" in kinds:
        from .upstream_litellm import LiteLLMUpstream, load_litellm

        load_litellm()  # pay the import at start-up, not on the first request
        out["litellm"] = LiteLLMUpstream()
    if "demo" in kinds:
        from .upstream_demo import DemoUpstream

        out["demo"] = DemoUpstream()
    return out
