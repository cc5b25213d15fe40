"""Every other text of a reply that reaches the user, guarded like the reply's content.

The pipeline guards the first choice's ``content`` (and puts labels and notices around it). A provider
may also send text in other places: more choices, ``reasoning_content`` / ``reasoning``, ``refusal``,
``audio.transcript``, and the arguments of tool calls (which apps often show or speak). Each such text
gets its own chain of the policy's sentence checks (human claims and output validators: each guard's
``side`` step), so it is rewritten or blocked sentence by sentence exactly as the content is, streaming
included: text is held back only to the next sentence end, and nothing rewritten reaches the client
first. Labels and notices are never put into these texts; tool-call arguments stay valid JSON (each
string value is judged on its own), and while streaming they are held until the choice finishes, then
sent whole.

The common case (one choice, content only) costs one dict lookup per chunk.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from middleware.pipeline.exchange import Exchange
from middleware.rules.base import Guard, GuardChain, GuardStep, SentenceCheck, guard_chain

TEXT_FIELDS = ("content", "reasoning_content", "reasoning", "refusal")
_PLAIN = frozenset({"role", "content"})


class ReplyFields:
    """Per-request guards for the texts of a reply other than the first choice's content."""

    __slots__ = ("_chains", "_content_seen", "_tools", "ex", "guards")

    def __init__(self, ex: Exchange, guards: Iterable[Guard]) -> None:
        self.ex = ex
        self.guards = list(guards)
        self._chains: dict[tuple[int, str], GuardChain] = {}
        self._tools: dict[int, dict[int, dict[str, Any]]] = {}   # choice -> tool index -> buffered call
        self._content_seen = False

    # -- one text, whole ------------------------------------------------------------------------
    def _new_chain(self, where: str) -> GuardChain:
        steps: list[GuardStep | SentenceCheck] = []
        for guard in self.guards:
            step = guard.side(self.ex, where)
            if step is not None:
                steps.append(step)
        return guard_chain(steps)

    def whole(self, where: str, text: str) -> str:
        chain = self._new_chain(where)
        return chain.feed(text) + chain.flush()

    def arguments(self, where: str, raw: str) -> str:
        """A tool call's arguments: each string value judged on its own, the JSON kept valid."""
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return self.whole(where, raw)
        changed = False

        def walk(value: Any) -> Any:
            nonlocal changed
            if isinstance(value, str):
                if not value.strip():
                    return value
                out = self.whole(where, value)
                changed = changed or out != value
                return out
            if isinstance(value, list):
                return [walk(v) for v in value]
            if isinstance(value, dict):
                return {k: walk(v) for k, v in value.items()}
            return value

        guarded = walk(data)
        return orjson.dumps(guarded).decode() if changed else raw

    # -- a non-streaming completion -------------------------------------------------------------
    def completion(self, obj: dict[str, Any]) -> dict[str, Any]:
        choices = obj.get("choices") or []
        out = []
        for pos, choice in enumerate(choices):
            message = choice.get("message") if isinstance(choice, dict) else None
            if not isinstance(message, dict):
                out.append(choice)
                continue
            idx = choice.get("index", pos)
            out.append({**choice, "message": self._message(message, idx, main=pos == 0)})
        return {**obj, "choices": out}

    def _message(self, message: dict[str, Any], idx: int, *, main: bool) -> dict[str, Any]:
        msg = dict(message)
        for name in TEXT_FIELDS:
            if name == "content" and main:
                continue   # the pipeline's own chain, with labels and notices
            value = msg.get(name)
            if isinstance(value, str) and value:
                msg[name] = self.whole(f"choices[{idx}].{name}", value)
        audio = msg.get("audio")
        if isinstance(audio, dict) and isinstance(audio.get("transcript"), str):
            msg["audio"] = {**audio, "transcript": self.whole(f"choices[{idx}].audio.transcript",
                                                              audio["transcript"])}
        calls = msg.get("tool_calls")
        if isinstance(calls, list):
            msg["tool_calls"] = [self._call(call, f"choices[{idx}].tool_calls[{k}].arguments")
                                 for k, call in enumerate(calls)]
        fc = msg.get("function_call")
        if isinstance(fc, dict) and isinstance(fc.get("arguments"), str):
            msg["function_call"] = {**fc, "arguments": self.arguments(f"choices[{idx}].function_call.arguments",
                                                                      fc["arguments"])}
        return msg

    def _call(self, call: Any, where: str) -> Any:
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("arguments"), str):
            return call
        return {**call, "function": {**fn, "arguments": self.arguments(where, fn["arguments"])}}

    # -- streaming chunks ------------------------------------------------------------------------
    def expand(self, objs: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """The upstream's objects with every side text guarded; a chunk carrying several choices is
        split into one chunk per choice (the pipeline reads ``choices[0]``)."""
        for obj in objs:
            choices = obj.get("choices")
            if not choices:
                yield obj
                continue
            if "message" in choices[0]:
                yield self.completion(obj)
                continue
            if len(choices) == 1:
                choice = choices[0]
                delta = choice.get("delta")
                if not choice.get("index") and choice.get("finish_reason") is None and \
                        (not delta or delta.keys() <= _PLAIN) and (self._content_seen or not self._chains):
                    if delta and delta.get("content"):
                        self._content_seen = True
                    yield obj   # the common case: the pipeline's chain does the rest
                    continue
            for choice in choices:
                yield from self._chunk(obj, choice)

    def _chunk(self, obj: dict[str, Any], choice: dict[str, Any]) -> Iterator[dict[str, Any]]:
        idx = choice.get("index") or 0
        delta = choice.get("delta") or {}
        new: dict[str, Any] = {}
        for key, value in delta.items():
            if key in TEXT_FIELDS and isinstance(value, str) and not (key == "content" and idx == 0):
                text = self._chain(idx, key).feed(value)
                if text or key == "content":
                    new[key] = text
            elif key == "audio" and isinstance(value, dict) and isinstance(value.get("transcript"), str):
                audio = {k: v for k, v in value.items() if k != "transcript"}
                text = self._chain(idx, "audio.transcript").feed(value["transcript"])
                if text:
                    audio["transcript"] = text
                if audio:
                    new[key] = audio
            elif key == "tool_calls" and isinstance(value, list):
                calls = [c for c in (self._hold_call(idx, c) for c in value) if c is not None]
                if calls:
                    new[key] = calls
            elif key == "function_call" and isinstance(value, dict):
                held = self._hold_call(idx, {"index": -1, "function": value})
                if held is not None:
                    new[key] = held["function"]
            else:
                new[key] = value
        if idx == 0 and not self._content_seen and delta.get("content"):
            self._content_seen = True
            yield from self._flush(obj, 0, tools=False)   # reasoning held back goes out before the answer begins
        finish = choice.get("finish_reason")
        if finish is not None:
            yield from self._flush(obj, idx)
        if finish is None and not any(v for k, v in new.items() if k != "role") and "role" not in new:
            return   # everything in it is held back for now
        yield {**obj, "choices": [{**choice, "delta": new}]}

    def _chain(self, idx: int, name: str) -> GuardChain:
        chain = self._chains.get((idx, name))
        if chain is None:
            chain = self._chains[idx, name] = self._new_chain(f"choices[{idx}].{name}")
        return chain

    def _hold_call(self, idx: int, call: Any) -> dict[str, Any] | None:
        """Buffer a streamed tool call's arguments; pass its head (id, type, name) on at once."""
        if not isinstance(call, dict):
            return None
        k = call.get("index", 0)
        fn = call.get("function")
        if not isinstance(fn, dict):
            fn = {}
        buf = self._tools.setdefault(idx, {}).setdefault(k, {"args": []})
        args = fn.get("arguments")
        if isinstance(args, str):
            buf["args"].append(args)
        head = {key: value for key, value in call.items() if key != "function"}
        rest = {key: value for key, value in fn.items() if key != "arguments"}
        if len(head) <= 1 and not rest:
            return None   # arguments only: held
        return {**head, "function": {**rest, "arguments": ""}}

    def _flush(self, obj: dict[str, Any], idx: int, tools: bool = True) -> Iterator[dict[str, Any]]:
        delta: dict[str, Any] = {}
        for (i, name), chain in list(self._chains.items()):
            if i != idx:
                continue
            rest = chain.flush()
            if rest:
                if name == "audio.transcript":
                    delta["audio"] = {"transcript": rest}
                else:
                    delta[name] = rest
        calls = []
        for k, buf in sorted((self._tools.pop(idx, {}) if tools else {}).items()):
            raw = "".join(buf["args"])
            where = f"choices[{idx}].tool_calls[{k}].arguments" if k >= 0 else f"choices[{idx}].function_call.arguments"
            args = self.arguments(where, raw) if raw else ""
            if k < 0:
                delta["function_call"] = {"arguments": args}
            elif args:
                calls.append({"index": k, "function": {"arguments": args}})
        if calls:
            delta["tool_calls"] = calls
        if delta:   # a chunk of its own, without the finish chunk's usage (which must come once)
            base = {k: v for k, v in obj.items() if k not in ("choices", "usage")}
            yield {**base, "choices": [{"index": idx, "delta": delta, "finish_reason": None}]}

    def close(self, template: dict[str, Any] | None) -> list[dict[str, Any]]:
        """Chunks carrying what is still held when the stream ends without a finish for a choice."""
        if template is None:
            return []
        base = {k: v for k, v in template.items() if k != "choices"}
        out: list[dict[str, Any]] = []
        for idx in sorted({i for i, _ in self._chains} | set(self._tools)):
            out.extend(self._flush(base, idx))
        return out
