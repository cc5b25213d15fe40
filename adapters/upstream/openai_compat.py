"""Pass-through to any OpenAI-compatible API (OpenAI, DeepSeek, Qwen, Moonshot, vLLM, Ollama, ...).

One pooled ``httpx.AsyncClient`` for the whole process; the request body is forwarded as it is (the
pipeline has already shaped it) and SSE is relayed event by event as it arrives.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
import orjson
from httpx_aiohttp.transport import map_aiohttp_exceptions

from middleware import metrics
from middleware.config.deployment import UpstreamConfig
from middleware.http.sse import SSEDecoder
from middleware.pipeline.upstream import (
    ModelRoute,
    UpstreamFailure,
    UpstreamRequest,
    UpstreamTimeout,
    failure_for_status,
)


class PoolExhausted(UpstreamFailure):
    """Every upstream connection of this worker is in use: 503 with ``Retry-After``, never a silent wait."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message, status=503, code="upstream_pool_exhausted")
        self.headers = {"Retry-After": str(max(1, round(retry_after)))}


class ConnectionSlots:
    """At most ``limit`` upstream requests at once (a stream holds its slot to the end). A request past the
    limit waits at most ``wait`` seconds for a slot (0: not at all), then raises :class:`PoolExhausted`."""

    def __init__(self, limit: int, wait: float, retry_after: float) -> None:
        self.limit = limit
        self.wait = wait
        self.retry_after = retry_after
        self.in_use = 0
        self.exhausted = 0      # requests turned away (also counted per model in the upstream-error metric)
        self._sem = asyncio.Semaphore(limit)

    async def acquire(self, route: ModelRoute) -> None:
        if self._sem.locked():
            if self.wait <= 0:
                self._refuse(route)
            try:
                await asyncio.wait_for(self._sem.acquire(), self.wait)
            except TimeoutError:
                self._refuse(route)
        else:
            await self._sem.acquire()   # a free slot: returns at once
        self.in_use += 1

    def release(self) -> None:
        self.in_use -= 1
        self._sem.release()

    def _refuse(self, route: ModelRoute) -> None:
        self.exhausted += 1
        metrics.OVERLOAD.labels("upstream_pool_exhausted").inc()
        waited = f" after waiting {self.wait:g}s" if self.wait > 0 else ""
        raise PoolExhausted(
            f"all {self.limit} upstream connections of this Candor worker are in use{waited} (model "
            f"{route.name!r}); retry shortly. Operators: raise upstream.max_connections (or "
            "upstream.pool_timeout) in candor.yaml, or add workers", self.retry_after)


def _detail(body: bytes) -> str:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body[:300].decode("utf-8", "replace").strip() or "(empty body)"
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str):
            return err
    return body[:300].decode("utf-8", "replace")


class OpenAICompatibleUpstream:
    """One pooled ``aiohttp.ClientSession`` per worker, sized by ``upstream`` in candor.yaml.

    On the hot path requests go straight to aiohttp: a proxy needs none of httpx's cookie, auth, redirect
    and base-URL layers, nor its request and response objects around aiohttp's (those cost a fifth, then
    a tenth, of the proxy's CPU per request in profiles). aiohttp's exceptions are mapped to httpx's
    (``httpx-aiohttp``), so one set of handlers serves both paths. A ``client`` passed in (tests with
    ``httpx.MockTransport``, custom TLS) is used through httpx's full API instead. Either way every request
    holds one of ``upstream.max_connections`` slots (``ConnectionSlots``) while it runs."""

    def __init__(self, client: httpx.AsyncClient | None = None, *, pool: UpstreamConfig | None = None,
                 retry_after: float = 1.0) -> None:
        pool = pool or UpstreamConfig()
        self.slots = ConnectionSlots(pool.max_connections, pool.pool_timeout, retry_after)
        self._pool = pool
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[float, float], aiohttp.ClientTimeout] = {}
        self._client = client   # None: aiohttp's pool, straight (see the class's docstring)

    def _aiohttp(self) -> aiohttp.ClientSession:
        if self._session is None:   # made in the running loop, on first use
            # aiohttp's own limit is above ours: ``slots`` decides, so a request never queues silently in
            # aiohttp's pool (it waits at most pool_timeout in ``slots``, then gets a 503)
            connector = aiohttp.TCPConnector(limit=self._pool.max_connections + 16, limit_per_host=0,
                                             keepalive_timeout=self._pool.keepalive_expiry,
                                             ssl=httpx.create_ssl_context())
            # no cookie jar: one session serves every user, and a cookie a provider sets on one user's request (its
            # CDN's bot check, a load balancer's) must not go out with the next user's; nor is it worth a jar
            # lookup per request
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False,
                                                  cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def _send(self, url: str, headers: dict[str, str], content: bytes, timeout: httpx.Timeout,  # noqa: ASYNC109
                    stream: bool, route: ModelRoute) -> _Reply | httpx.Response:
        """One request on a connection slot: released here for a read body, by ``_close`` for a stream."""
        await self.slots.acquire(route)
        try:
            response = await self._send_raw(url, headers, content, timeout, stream)
        except BaseException:
            self.slots.release()
            raise
        if not stream:
            self.slots.release()
        return response

    async def _close(self, response: _Reply | httpx.Response) -> None:
        """Close a streamed response and give its connection slot back."""
        try:
            await response.aclose()
        finally:
            self.slots.release()

    async def _send_raw(self, url: str, headers: dict[str, str], content: bytes, timeout: httpx.Timeout,  # noqa: ASYNC109
                        stream: bool) -> _Reply | httpx.Response:
        if self._client is not None:
            request = self._client.build_request("POST", url, content=content, headers=headers, timeout=timeout)
            return await self._client.send(request, stream=stream)
        key = (timeout.connect or 0.0, timeout.read or 0.0)
        client_timeout = self._timeouts.get(key)
        if client_timeout is None:   # one per (connect, read) pair, i.e. per configured model
            client_timeout = self._timeouts[key] = aiohttp.ClientTimeout(sock_connect=timeout.connect,
                                                                         sock_read=timeout.read)
        # aiohttp directly: httpx's request and response objects around it cost a tenth of the proxy's CPU
        # per request (bench/RESULTS.md); its exceptions are mapped to httpx's, which the callers handle
        with map_aiohttp_exceptions():
            response = await self._aiohttp().request(
                "POST", url, data=content, headers=headers, timeout=client_timeout, allow_redirects=False,
                compress=False)
            reply = _Reply(response)
            if not stream:
                try:
                    reply.content = await response.read()
                finally:
                    response.release()
        return reply

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        if self._session is not None:
            await self._session.close()

    async def embeddings(self, request: UpstreamRequest) -> dict[str, Any]:
        """``POST {api_base}/embeddings``, the body as the app sent it (model rewritten)."""
        route = request.route
        url, headers, timeout = _target(route, "/embeddings")
        try:
            resp = await self._send(url, headers, orjson.dumps(request.body), timeout, stream=False, route=route)
        except httpx.TimeoutException as exc:
            if _is_connection_failure(exc):
                raise UpstreamFailure(f"could not reach the provider for model {route.name!r} at {url}") from exc
            raise UpstreamTimeout(f"the provider for model {route.name!r} did not answer within "
                                  f"{route.timeout:g}s") from exc
        except httpx.TransportError as exc:
            raise UpstreamFailure(f"could not reach the provider for model {route.name!r} at {url}: "
                                  f"{type(exc).__name__}") from exc
        if resp.status_code >= 400:
            raise failure_for_status(route, resp.status_code, _detail(resp.content))
        try:
            data = orjson.loads(resp.content)
        except orjson.JSONDecodeError as exc:
            raise UpstreamFailure(f"the provider for model {route.name!r} sent embeddings that are not JSON") from exc
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise UpstreamFailure(f"the provider for model {route.name!r} sent no embeddings: {resp.content[:200]!r}")
        return data

    async def classify(self, request: UpstreamRequest, path: str, max_bytes: int) -> Any:
        """One guard call: ``POST {api_base}{path}``; the answer must be JSON of at most ``max_bytes``."""
        route = request.route
        url, headers, timeout = _target(route, path)
        headers["accept"] = "application/json"
        try:
            resp = await self._send(url, headers, orjson.dumps(request.body), timeout, True, route)
            try:
                body = bytearray()
                async for raw in _raw(resp):
                    body += raw
                    if len(body) > max_bytes:
                        raise UpstreamFailure(f"the guard {route.name!r} answered more than {max_bytes} bytes")
            finally:
                await self._close(resp)
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(f"the guard {route.name!r} did not answer in time") from exc
        except httpx.TransportError as exc:
            raise UpstreamFailure(f"could not reach the guard {route.name!r} at {url}: {type(exc).__name__}") from exc
        if resp.status_code >= 400:
            raise failure_for_status(route, resp.status_code, _detail(bytes(body)))
        kind = resp.headers.get("content-type", "")
        if "json" not in kind.lower():
            raise UpstreamFailure(f"the guard {route.name!r} answered {kind or 'no content type'}, not JSON")
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise UpstreamFailure(f"the guard {route.name!r} answered a body that is not JSON") from exc

    async def chat(self, request: UpstreamRequest) -> AsyncIterator[dict[str, Any] | list[dict[str, Any]]]:
        route = request.route
        url, headers, timeout = _target(route, "/chat/completions")
        content = orjson.dumps(request.body)
        try:
            if not request.stream:
                resp = await self._send(url, headers, content, timeout, stream=False, route=route)
                if resp.status_code >= 400:
                    raise failure_for_status(route, resp.status_code, _detail(resp.content))
                try:
                    data = orjson.loads(resp.content)
                except orjson.JSONDecodeError as exc:
                    raise UpstreamFailure(f"the provider for model {route.name!r} sent a body that is not "
                                          f"JSON: {resp.content[:200]!r}") from exc
                if not isinstance(data, dict) or "choices" not in data:
                    raise UpstreamFailure(f"the provider for model {route.name!r} sent no choices: "
                                          f"{resp.content[:200]!r}")
                yield data
                return
            headers["accept"] = "text/event-stream"
            resp = await self._send(url, headers, content, timeout, stream=True, route=route)
            try:
                if resp.status_code >= 400:
                    await resp.aread()
                    raise failure_for_status(route, resp.status_code, _detail(resp.content))
                decoder = SSEDecoder()
                done = False
                # the raw stream, not aiter_bytes(): identity encoding was asked for, and each layer of
                # httpx's decoding generators costs per event
                async for raw in _raw(resp):
                    if done:
                        continue   # read to the end, so the connection goes back to the pool
                    events = decoder.feed(raw)
                    if not events:
                        continue
                    if events[-1] == b"[DONE]" or b"[DONE]" in events:
                        done = True
                        events = events[:events.index(b"[DONE]")]
                    batch = [_chunk(route.name, data) for data in events]
                    if batch:
                        yield batch[0] if len(batch) == 1 else batch
                if done:
                    return
                for data in decoder.close():
                    if data != b"[DONE]":
                        yield _chunk(route.name, data)
                raise UpstreamFailure(f"the provider for model {route.name!r} ended the stream without "
                                      "[DONE]: the reply may be incomplete")
            finally:
                await self._close(resp)
        except httpx.TimeoutException as exc:
            if _is_connection_failure(exc):
                raise UpstreamFailure(f"could not reach the provider for model {route.name!r} at {url}: "
                                      f"{exc.__cause__ or exc}") from exc
            raise UpstreamTimeout(f"the provider for model {route.name!r} did not answer within "
                                  f"{route.timeout:g}s ({type(exc).__name__}); raise `timeout` for this model "
                                  "in candor.yaml or try again") from exc
        except httpx.TransportError as exc:
            raise UpstreamFailure(f"could not reach the provider for model {route.name!r} at {url}: "
                                  f"{type(exc).__name__}: {exc or 'connection failed'}") from exc


class _Reply:
    """A provider's answer over aiohttp: the little of ``httpx.Response`` the adapter reads."""

    __slots__ = ("_response", "content", "headers", "status_code")

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status_code = response.status
        self.headers = response.headers   # case-insensitive, like httpx's
        self.content = b""

    async def aread(self) -> bytes:
        with map_aiohttp_exceptions():
            self.content = await self._response.read()
        return self.content

    async def aclose(self) -> None:
        """Back to the pool when read to the end; a reply cut short (the client left) closes its connection,
        so the provider stops generating at once."""
        if self._response.content.at_eof():
            self._response.release()
        else:
            self._response.close()

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives (identity encoding was asked for; aiohttp undoes the chunked framing)."""
        with map_aiohttp_exceptions():
            async for chunk in self._response.content.iter_any():
                yield chunk


def _target(route: ModelRoute, path: str) -> tuple[str, dict[str, str], httpx.Timeout]:
    """Where a call to ``path`` of the route's provider goes: URL, headers (the route's key) and timeouts."""
    if not route.api_base:
        raise UpstreamFailure(f"model {route.name!r} has no api_base: set it in candor.yaml")
    headers = {"content-type": "application/json", "accept-encoding": "identity"}
    if route.api_key:
        headers["authorization"] = f"Bearer {route.api_key}"
    return route.api_base.rstrip("/") + path, headers, httpx.Timeout(route.timeout, connect=route.connect_timeout)


async def _raw(resp: _Reply | httpx.Response) -> AsyncIterator[bytes]:
    if isinstance(resp, _Reply):
        async for chunk in resp.chunks():
            yield chunk
        return
    stream = resp.stream
    if isinstance(stream, httpx.AsyncByteStream) and resp.headers.get("content-encoding", "identity") == "identity":
        async for chunk in stream:
            yield chunk
    else:
        async for chunk in resp.aiter_bytes():
            yield chunk


def _is_connection_failure(exc: Exception) -> bool:
    """httpx-aiohttp reports every aiohttp connection error as a connect *timeout*; a refused or
    dropped connection is a failure (502), not slowness (504)."""
    cause = exc.__cause__
    return isinstance(cause, aiohttp.ClientConnectionError) and not isinstance(
        cause, aiohttp.ServerTimeoutError | asyncio.TimeoutError)


def _chunk(model: str, data: bytes) -> dict[str, Any]:
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise UpstreamFailure(f"the provider for model {model!r} sent an event that is not JSON: "
                              f"{data[:200]!r}") from exc
    if not isinstance(obj, dict):
        raise UpstreamFailure(f"the provider for model {model!r} sent an unexpected event: {data[:200]!r}")
    err = obj.get("error")
    if err:
        msg = err.get("message") if isinstance(err, dict) else str(err)
        raise UpstreamFailure(f"the provider for model {model!r} failed mid-stream: {msg}")
    return obj
