"""Builds the upstream adapters a deployment needs, and no others (LiteLLM only when a model needs it)."""

from __future__ import annotations

from middleware.pipeline.upstream import ModelRoute, Upstream


def build_upstreams(routes: dict[str, ModelRoute]) -> dict[str, Upstream]:
    kinds = {r.adapter for r in routes.values()}
    out: dict[str, Upstream] = {}
    if "passthrough" in kinds:
        from adapters.upstream.openai_compat import OpenAICompatibleUpstream

        out["passthrough"] = OpenAICompatibleUpstream()
    if "litellm" in kinds:
        from adapters.upstream.via_litellm import LiteLLMUpstream, load_litellm

        load_litellm()  # pay the import at start-up, not on the first request
        out["litellm"] = LiteLLMUpstream()
    if "demo" in kinds:
        from adapters.upstream.demo import DemoUpstream

        out["demo"] = DemoUpstream()
    return out
