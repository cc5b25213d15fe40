"""Which adapter serves each configured model, and where its provider lives."""

from __future__ import annotations

import os

from middleware.config.deployment import CandorConfig, ModelConfig
from middleware.pipeline.upstream import ModelRoute

# LiteLLM provider prefixes whose APIs speak OpenAI's chat-completions wire format, with default bases.
# These go through the lean pass-through; every other provider goes through LiteLLM.
OPENAI_COMPATIBLE: dict[str, str | None] = {
    "openai": "https://api.openai.com/v1",
    "deepseek": "https://api.deepseek.com/v1",
    "dashscope": "https://dashscope.aliyuncs.com/compatible-mode/v1",
    "moonshot": "https://api.moonshot.cn/v1",
    "hosted_vllm": None,
    "ollama": "http://127.0.0.1:11434/v1",
    "openai_compatible": None,
}


class RouteError(ValueError):
    """A model that cannot be routed; ``key`` names the model's key at fault (for ``candor config check``)."""

    def __init__(self, message: str, key: str = "target") -> None:
        super().__init__(message)
        self.key = key


def resolve_route(model: ModelConfig, environ: dict[str, str] | None = None) -> ModelRoute:
    env = os.environ if environ is None else environ
    provider, _, rest = model.target.partition("/")
    if not rest:  # "gpt-4o-mini": LiteLLM reads a bare name as OpenAI
        provider, rest = "openai", model.target
    adapter = model.adapter
    if adapter == "auto":
        if provider == "candor":
            adapter = "demo"
        elif provider in OPENAI_COMPATIBLE:
            adapter = "passthrough"
        else:
            adapter = "litellm"
    api_base = model.api_base
    if adapter == "passthrough":
        api_base = api_base or OPENAI_COMPATIBLE.get(provider)
        if not api_base:
            raise RouteError(f"model {model.name!r}: target {model.target!r} needs api_base "
                             "(the URL of the OpenAI-compatible API, ending in /v1)", key="api_base")
        if provider == "ollama" and not api_base.rstrip("/").endswith("/v1"):
            api_base = api_base.rstrip("/") + "/v1"
    api_key = None
    if model.api_key_env:
        api_key = env.get(model.api_key_env)
        if not api_key:
            raise RouteError(f"model {model.name!r}: environment variable {model.api_key_env} is not set; "
                             "export the provider key there (keys never go in candor.yaml)", key="api_key_env")
    upstream_model = {"litellm": model.target, "demo": model.name}.get(adapter, rest)
    return ModelRoute(
        name=model.name, adapter=adapter, target=model.target, upstream_model=upstream_model,
        api_base=api_base, api_key=api_key, timeout=model.timeout, connect_timeout=model.connect_timeout,
        options=dict(model.options),
    )


def model_problem(model: ModelConfig, environ: dict[str, str] | None = None) -> tuple[str, str] | None:
    """``(key, message)`` when ``model`` cannot be routed, else None."""
    try:
        resolve_route(model, environ)
    except RouteError as exc:
        return exc.key, str(exc)
    return None


def resolve_routes(cfg: CandorConfig, environ: dict[str, str] | None = None) -> dict[str, ModelRoute]:
    routes: dict[str, ModelRoute] = {}
    problems: list[str] = []
    for model in cfg.models:
        try:
            routes[model.name] = resolve_route(model, environ)
        except RouteError as exc:
            problems.append(str(exc))
    if problems:
        raise RouteError("; ".join(problems))
    return routes
