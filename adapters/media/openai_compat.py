"""Images and speech from OpenAI-compatible providers, and fetching images returned as URLs.

One pooled ``httpx.AsyncClient`` for the process, like the chat pass-through (``upstream_openai.py``);
media calls are few and large, so they use httpx's own transport (multipart uploads need the client's
API). Fetching is bounded: http(s) only, a size limit counted while reading, and one deadline for the
whole fetch (a server that trickles bytes cannot hold a request past it).
"""

from __future__ import annotations

import asyncio
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx
import orjson

from adapters.upstream.openai_compat import _detail
from middleware.media.errors import MediaError
from middleware.media.upstream import Audio, ImageRequest, SpeechRequest
from middleware.pipeline.upstream import ModelRoute, UpstreamFailure, UpstreamTimeout, failure_for_status

_REDIRECTS = 3


def _pool() -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=16, keepalive_expiry=30)
    # a jar that keeps no cookie: one client serves every user, and a cookie a provider (or its storage) sets on one
    # user's request must not go out with the next user's
    jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    return httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(60.0, connect=5.0), follow_redirects=False,
                             cookies=jar)


class OpenAIMediaUpstream:
    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        self._client = client or _pool()

    async def aclose(self) -> None:
        await self._client.aclose()

    def _prepare(self, route: ModelRoute, path: str) -> tuple[str, dict[str, str], httpx.Timeout]:
        if not route.api_base:
            raise UpstreamFailure(f"model {route.name!r} has no api_base: set it in candor.yaml")
        headers = {"accept-encoding": "identity"}
        if route.api_key:
            headers["authorization"] = f"Bearer {route.api_key}"
        return route.api_base.rstrip("/") + path, headers, httpx.Timeout(route.timeout, connect=route.connect_timeout)

    async def _post(self, route: ModelRoute, path: str, headers: dict[str, str] | None = None,
                    **kwargs: Any) -> httpx.Response:
        url, base, timeout = self._prepare(route, path)
        headers = {**base, **(headers or {})}
        try:
            resp = await self._client.post(url, headers=headers, timeout=timeout, **kwargs)
        except httpx.TimeoutException as exc:
            if isinstance(exc, httpx.ConnectTimeout):
                raise UpstreamFailure(f"could not reach the provider for model {route.name!r} at {url}: {exc}") from exc
            raise UpstreamTimeout(f"the provider for model {route.name!r} did not answer within {route.timeout:g}s; "
                                  "raise `timeout` for this model in candor.yaml or try again") from exc
        except httpx.TransportError as exc:
            raise UpstreamFailure(f"could not reach the provider for model {route.name!r} at {url}: "
                                  f"{type(exc).__name__}: {exc or 'connection failed'}") from exc
        if resp.status_code >= 400:
            raise failure_for_status(route, resp.status_code, _detail(resp.content))
        return resp

    async def images(self, request: ImageRequest) -> dict[str, Any]:
        route = request.route
        path = "/images/generations" if request.operation == "generations" else "/images/edits"
        if request.operation == "generations":
            resp = await self._post(route, path, content=orjson.dumps(request.body),
                                    headers={"content-type": "application/json"})
        else:
            data = {k: str(v) for k, v in request.body.items() if v is not None}
            files = [(f.field, (f.filename, f.content, f.content_type)) for f in request.files]
            resp = await self._post(route, path, data=data, files=files)
        try:
            body = orjson.loads(resp.content)
        except orjson.JSONDecodeError as exc:
            raise UpstreamFailure(f"the provider for model {route.name!r} sent a body that is not JSON: "
                                  f"{resp.content[:200]!r}") from exc
        if not isinstance(body, dict):
            raise UpstreamFailure(f"the provider for model {route.name!r} sent an unexpected body")
        return body

    async def speech(self, request: SpeechRequest) -> Audio:
        resp = await self._post(request.route, "/audio/speech", content=orjson.dumps(request.body),
                                headers={"content-type": "application/json"})
        ctype = resp.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
        if not ctype.startswith("audio/") and ctype != "application/octet-stream":
            raise UpstreamFailure(f"the provider for model {request.route.name!r} sent {ctype!r} instead of audio: "
                                  f"{resp.content[:200]!r}")
        return Audio(resp.content, ctype)


class HttpFetcher:
    """Fetches images a provider returned as URLs (its own storage, e.g. a signed blob URL)."""

    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        self._client = client or _pool()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(self, url: str, limit: int, timeout: float) -> bytes:  # noqa: ASYNC109
        try:
            async with asyncio.timeout(timeout):
                return await self._fetch(url, limit, timeout)
        except TimeoutError:
            raise MediaError(f"fetching the image at {_short(url)} did not complete within {timeout:g}s "
                             "(media.fetch_timeout)") from None

    async def _fetch(self, url: str, limit: int, timeout: float) -> bytes:  # noqa: ASYNC109
        for _ in range(_REDIRECTS + 1):
            if not url.startswith(("https://", "http://")):
                raise MediaError(f"the image URL {_short(url)} is not http(s)")
            try:
                async with self._client.stream("GET", url, timeout=httpx.Timeout(timeout)) as resp:
                    if resp.is_redirect and resp.headers.get("location"):
                        url = str(resp.url.join(resp.headers["location"]))
                        continue
                    if resp.status_code >= 400:
                        raise MediaError(f"fetching the image at {_short(url)} failed with HTTP {resp.status_code}")
                    declared = resp.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > limit:
                        raise MediaError(f"the image at {_short(url)} is {declared} bytes, more than "
                                         f"media.max_file_bytes ({limit})")
                    chunks: list[bytes] = []
                    size = 0
                    async for chunk in resp.aiter_raw():
                        size += len(chunk)
                        if size > limit:
                            raise MediaError(f"the image at {_short(url)} is larger than "
                                             f"media.max_file_bytes ({limit})")
                        chunks.append(chunk)
                    return b"".join(chunks)
            except httpx.TimeoutException as exc:
                raise MediaError(f"fetching the image at {_short(url)} timed out ({type(exc).__name__})") from exc
            except (httpx.HTTPError, httpx.StreamError, httpx.InvalidURL, OSError, ValueError) as exc:
                raise MediaError(f"fetching the image at {_short(url)} failed: {type(exc).__name__}: {exc}") from exc
        raise MediaError(f"the image URL redirected more than {_REDIRECTS} times")


def _short(url: str) -> str:
    """A URL for messages, without its query (signed URLs carry credentials there)."""
    return url.split("?", 1)[0][:200]
