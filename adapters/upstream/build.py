"""Builds the upstream adapters a deployment needs, and no others (LiteLLM only when a model needs it)."""

from __future__ import annotations

from middleware.config.deployment import CandorConfig
from middleware.pipeline.upstream import ModelRoute, Upstream


def build_upstreams(routes: dict[str, ModelRoute], cfg: CandorConfig | None = None) -> dict[str, Upstream]:
    """``cfg``: the deployment whose ``upstream`` section sizes the pass-through's pool (default: defaults)."""
    kinds = {r.adapter for r in routes.values()}
    out: dict[str, Upstream] = {}
    if "passthrough" in kinds:
        from adapters.upstream.openai_compat import OpenAICompatibleUpstream

        cfg = cfg or CandorConfig()
        out["passthrough"] = OpenAICompatibleUpstream(pool=cfg.upstream, retry_after=cfg.server.retry_after)
    if "litellm" in kinds:
        from adapters.upstream.via_litellm import LiteLLMUpstream, load_litellm

        load_litellm()  # pay the import at start-up, not on the first request
        out["litellm"] = LiteLLMUpstream()
    if "demo" in kinds:
        from adapters.upstream.demo import DemoUpstream

        out["demo"] = DemoUpstream()
    return out
