"""Wires the media endpoints (``/v1/images/*``, ``/v1/audio/speech``): one media adapter per kind of
configured model, one URL fetcher, and the optional C2PA signer. Called by the composition root."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.routing import Route

from middleware.audit.unauth import UnauthenticatedTally
from middleware.config.deployment import CandorConfig
from middleware.http.auth import AppKeys
from middleware.media.chat import ChatMediaLabeller
from middleware.media.endpoints import MediaDeps, MediaEndpoints
from middleware.media.labelling import Labeller, Signer
from middleware.media.upstream import Fetcher, MediaUpstream
from middleware.pipeline.stages import Pipeline
from middleware.services import PolicySource


def build_media_upstreams(kinds: set[str]) -> dict[str, MediaUpstream]:
    out: dict[str, MediaUpstream] = {}
    if "passthrough" in kinds:
        from adapters.media.openai_compat import OpenAIMediaUpstream

        out["passthrough"] = OpenAIMediaUpstream()
    if "litellm" in kinds:
        from adapters.media.via_litellm import LiteLLMMediaUpstream

        out["litellm"] = LiteLLMMediaUpstream()
    if "demo" in kinds:
        from adapters.media.demo import DemoMediaUpstream

        out["demo"] = DemoMediaUpstream()
    return out


def build_signer(cfg: CandorConfig) -> Signer | None:
    media = cfg.media
    if not media.c2pa_cert and not media.c2pa_key:
        return None
    if not (media.c2pa_cert and media.c2pa_key):
        raise ValueError("media.c2pa_cert and media.c2pa_key go together: set both (PEM files) or neither")
    from middleware.media.c2pa_sign import C2paSigner

    return C2paSigner.from_files(cfg.resolve_path(media.c2pa_cert), cfg.resolve_path(media.c2pa_key),
                                 media.c2pa_alg)


def build_media(cfg: CandorConfig, keys: AppKeys, policies: PolicySource, default_policy: str,
                pipeline: Pipeline, unauthenticated: UnauthenticatedTally | None = None
                ) -> tuple[list[Route], Callable[[], Awaitable[None]]]:
    """The routes, and a shutdown hook closing the media clients."""
    upstreams = build_media_upstreams({r.adapter for r in pipeline.routes.values()})
    fetchers: list[Fetcher] = []

    def fetcher() -> Fetcher:
        if not fetchers:   # created on first use: most deployments never get an image URL back
            from adapters.media.openai_compat import HttpFetcher

            fetchers.append(HttpFetcher())
        return fetchers[0]

    labeller = Labeller(cfg, fetcher, build_signer(cfg))
    chat_media = ChatMediaLabeller(labeller)
    pipeline.message_media = chat_media
    pipeline.delta_media = chat_media.delta
    endpoints = MediaEndpoints(MediaDeps(config=cfg, keys=keys, policies=policies, default_policy=default_policy,
                                         pipeline=pipeline, upstreams=lambda: upstreams, labeller=labeller,
                                         unauthenticated=unauthenticated))

    async def close() -> None:
        for up in upstreams.values():
            await up.aclose()
        for f in fetchers:
            await f.aclose()

    return endpoints.routes(), close
