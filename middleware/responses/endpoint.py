"""``POST /v1/responses``: the chat endpoint's lifecycle (auth, rules, refusals, record) with the Responses
wire format in and out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from middleware.http.app import ChatEndpoint
from middleware.pipeline.exchange import Exchange
from middleware.pipeline.stages import Item
from middleware.responses.render import PATH, collect_response, stream_response
from middleware.responses.translate import parse_responses_body
from middleware.rules.base import RuleSet

_ORIGINAL = "_responses"


def _parse(raw: bytes) -> dict[str, Any]:
    return parse_responses_body(raw, keep_as=_ORIGINAL)


class ResponsesEndpoint(ChatEndpoint):
    path = PATH

    def parse(self, raw: bytes) -> dict[str, Any]:
        return _parse(raw)

    def begin(self, ex: Exchange) -> None:
        # the original request leaves the chat body before anything is sent upstream
        ex.state.responses_request = ex.body.pop(_ORIGINAL, None)

    def streamed(self, ex: Exchange, rules: RuleSet, first: Item, source: AsyncIterator[Item]
                 ) -> AsyncIterator[bytes]:
        return stream_response(self.pipeline, ex, rules, first, source, self._finished)

    async def collected(self, ex: Exchange, rules: RuleSet, first: Item, source: AsyncIterator[Item]
                        ) -> dict[str, Any]:
        return await collect_response(self.pipeline, ex, rules, first, source)
