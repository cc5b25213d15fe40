"""A Responses API request, read as the chat request the pipeline and its rules understand.

``instructions`` become a system message, input items become messages (text, images and files as chat
content parts; function calls and their outputs as assistant tool calls and tool messages), function
tools become chat tools, ``text.format`` becomes ``response_format``. What cannot be carried over
faithfully is refused with a 400 that says what to do instead, never silently dropped.
"""

from __future__ import annotations

from typing import Any

import orjson

from middleware.http.errors import invalid_request
from middleware.http.requests import parse_chat_body

# Responses request fields that map one-to-one onto chat fields
_SAME = ("model", "stream", "temperature", "top_p", "user", "parallel_tool_calls", "service_tier",
         "top_logprobs", "metadata", "store")
# fields a proxy can leave out without changing what the user sees
_IGNORED = frozenset({"truncation", "include", "background", "prompt_cache_key", "safety_identifier",
                      "stream_options", "prompt_cache_retention"})
_KNOWN = frozenset({*_SAME, *_IGNORED, "input", "instructions", "max_output_tokens", "tools", "tool_choice",
                    "text", "reasoning", "previous_response_id", "conversation", "max_tool_calls"})
_ROLES = frozenset({"user", "assistant", "system", "developer"})


def parse_responses_body(raw: bytes, keep_as: str | None = None) -> dict[str, Any]:
    """The request body (bytes) as a checked chat body; the original request under ``keep_as`` if given."""
    if not raw:
        raise invalid_request("the request body is empty: send a JSON object with 'model' and 'input'")
    try:
        req = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid_request(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(req, dict):
        raise invalid_request("the request body must be a JSON object with 'model' and 'input'")
    chat = to_chat(req)
    body = parse_chat_body(orjson.dumps(chat))
    if keep_as:
        body[keep_as] = req   # the renderer echoes the request's settings on the response object
    return body


def to_chat(req: dict[str, Any]) -> dict[str, Any]:
    if req.get("previous_response_id") is not None:
        raise invalid_request(
            "previous_response_id is not supported: Candor keeps no conversation state for the Responses API "
            "(it stores no replies outside the audit log). Send the whole conversation in 'input' instead",
            param="previous_response_id")
    if req.get("conversation") is not None:
        raise invalid_request("'conversation' is not supported: send the whole conversation in 'input'",
                              param="conversation")
    if not isinstance(req.get("model"), str) or not req["model"]:
        raise invalid_request("'model' is required and must be a string (GET /v1/models lists them)",
                              param="model")
    messages: list[dict[str, Any]] = []
    instructions = req.get("instructions")
    if instructions is not None:
        if not isinstance(instructions, str):
            raise invalid_request("'instructions' must be a string", param="instructions")
        messages.append({"role": "system", "content": instructions})
    messages.extend(_input_messages(req.get("input")))
    chat: dict[str, Any] = {k: req[k] for k in _SAME if req.get(k) is not None}
    chat["messages"] = messages
    chat.pop("store", None)       # nothing is stored upstream on the app's behalf
    if req.get("max_output_tokens") is not None:
        chat["max_tokens"] = req["max_output_tokens"]
    reasoning = req.get("reasoning")
    if isinstance(reasoning, dict) and isinstance(reasoning.get("effort"), str):
        chat["reasoning_effort"] = reasoning["effort"]
    if req.get("tools"):
        chat["tools"] = [_tool(i, t) for i, t in enumerate(_list(req["tools"], "tools"))]
    if req.get("tool_choice") is not None:
        chat["tool_choice"] = _tool_choice(req["tool_choice"])
    fmt = _format(req.get("text"))
    if fmt is not None:
        chat["response_format"] = fmt
    if chat.get("stream") is True:
        chat["stream_options"] = {"include_usage": True}   # the response's usage comes from the last chunk
    return chat


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise invalid_request(f"'{where}' must be an array", param=where)
    return value


def _input_messages(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list) or not value:
        raise invalid_request("'input' is required: a string or a non-empty array of input items", param="input")
    out: list[dict[str, Any]] = []
    for i, item in enumerate(value):
        where = f"input[{i}]"
        if not isinstance(item, dict):
            raise invalid_request(f"{where} must be an input item object", param=where)
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            if role not in _ROLES:
                raise invalid_request(f"{where}.role must be one of {', '.join(sorted(_ROLES))}",
                                      param=f"{where}.role")
            out.append({"role": role, "content": _content(where, item.get("content"))})
        elif kind == "function_call":
            call = {"id": item.get("call_id") or item.get("id"), "type": "function",
                    "function": {"name": item.get("name"), "arguments": item.get("arguments") or "{}"}}
            if out and out[-1]["role"] == "assistant" and out[-1].get("tool_calls") and not out[-1]["content"]:
                out[-1]["tool_calls"].append(call)   # parallel calls: one assistant turn
            else:
                out.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            out.append({"role": "tool", "tool_call_id": item.get("call_id"),
                        "content": output if isinstance(output, str) else orjson.dumps(output).decode()})
        elif kind == "reasoning":
            continue   # the model's own earlier reasoning: chat providers take none back
        elif kind == "item_reference":
            raise invalid_request(f"{where}: item references need stored responses, which Candor does not keep; "
                                  "send the item itself", param=where)
        else:
            raise invalid_request(f"{where}.type {kind!r} is not supported by Candor's Responses API "
                                  "(message, function_call, function_call_output)", param=f"{where}.type")
    return out


def _content(where: str, content: Any) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise invalid_request(f"{where}.content must be a string or an array of content parts",
                              param=f"{where}.content")
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        at = f"{where}.content[{j}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text", "text") and isinstance(part.get("text"), str):
            parts.append({"type": "text", "text": part["text"]})
        elif kind == "refusal" and isinstance(part.get("refusal"), str):
            parts.append({"type": "text", "text": part["refusal"]})
        elif kind == "input_image" and isinstance(part.get("image_url"), str):
            image: dict[str, Any] = {"url": part["image_url"]}
            if part.get("detail"):
                image["detail"] = part["detail"]
            parts.append({"type": "image_url", "image_url": image})
        elif kind == "input_file" and (part.get("file_data") or part.get("file_id")):
            file = {k: part[k] for k in ("file_data", "file_id", "filename") if part.get(k)}
            parts.append({"type": "file", "file": file})
        else:
            raise invalid_request(f"{at} is not a content part Candor can carry (input_text, output_text, "
                                  "input_image with image_url, input_file with file_data or file_id)", param=at)
    # an all-text message is sent as one string: the shape every chat provider reads
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _tool(i: int, tool: Any) -> dict[str, Any]:
    if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(tool.get("name"), str):
        kind = tool.get("type") if isinstance(tool, dict) else None
        raise invalid_request(f"tools[{i}]: only function tools can be used through Candor (got {kind!r}); "
                              "built-in tools such as web search run at the provider, out of the rules' reach",
                              param=f"tools[{i}]")
    fn = {k: tool[k] for k in ("name", "description", "parameters", "strict") if tool.get(k) is not None}
    return {"type": "function", "function": fn}


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, str):
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function" and isinstance(choice.get("name"), str):
        return {"type": "function", "function": {"name": choice["name"]}}
    raise invalid_request("'tool_choice' must be auto, none, required or {\"type\": \"function\", \"name\": ...}",
                          param="tool_choice")


def _format(text: Any) -> dict[str, Any] | None:
    if text is None:
        return None
    fmt = text.get("format") if isinstance(text, dict) else None
    if fmt is None:
        return None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema" and isinstance(fmt.get("schema"), dict):
        schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if fmt.get(k) is not None}
        schema.setdefault("name", "response")
        return {"type": "json_schema", "json_schema": schema}
    raise invalid_request("'text.format' must be {type: text}, {type: json_object} or {type: json_schema, "
                          "name, schema}", param="text.format")
