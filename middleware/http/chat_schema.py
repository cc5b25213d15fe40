"""The chat request's fields, checked against OpenAI's schema before anything else reads them.

Every known field has a strict type (``true`` is not a number here, though Python says it is), and
content parts have the shapes OpenAI documents, so a malformed request is a precise 400 naming the
field instead of a provider's 502. Fields this table does not know are passed on untouched: providers
add their own, and refusing them would break clients that send them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from middleware.http.errors import invalid_request

Check = Callable[[Any], bool]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def _is_object(v: Any) -> bool:
    return isinstance(v, dict)


def _is_str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _is_object_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, dict) for x in v)


# field -> (check, what the message says it must be); null is accepted for every optional field
FIELDS: dict[str, tuple[Check, str]] = {
    "stream": (_is_bool, "true or false"),
    "n": (_is_int, "an integer"),
    "temperature": (_is_number, "a number"),
    "top_p": (_is_number, "a number"),
    "presence_penalty": (_is_number, "a number"),
    "frequency_penalty": (_is_number, "a number"),
    "max_tokens": (_is_int, "an integer"),
    "max_completion_tokens": (_is_int, "an integer"),
    "seed": (_is_int, "an integer"),
    "top_logprobs": (_is_int, "an integer"),
    "logprobs": (_is_bool, "true or false"),
    "store": (_is_bool, "true or false"),
    "parallel_tool_calls": (_is_bool, "true or false"),
    "user": (_is_str, "a string"),
    "reasoning_effort": (_is_str, "a string"),
    "service_tier": (_is_str, "a string"),
    "stop": (lambda v: isinstance(v, str) or _is_str_list(v), "a string or an array of strings"),
    "modalities": (_is_str_list, "an array of strings"),
    "stream_options": (_is_object, "an object"),
    "response_format": (lambda v: _is_object(v) and isinstance(v.get("type"), str),
                        "an object with a string 'type'"),
    "metadata": (_is_object, "an object"),
    "logit_bias": (_is_object, "an object"),
    "tools": (_is_object_list, "an array of objects"),
    "functions": (_is_object_list, "an array of objects"),
    "tool_choice": (lambda v: isinstance(v, str | dict), "a string or an object"),
    "function_call": (lambda v: isinstance(v, str | dict), "a string or an object"),
    "audio": (_is_object, "an object"),
    "prediction": (_is_object, "an object"),
}

ROLES = frozenset({"system", "user", "assistant", "tool", "developer", "function"})

# content part type -> the field that must hold an object (None: a string field, named below)
_PART_OBJECTS = {"image_url": "image_url", "input_audio": "input_audio", "file": "file"}
_PART_STRINGS = {"text": "text", "refusal": "refusal"}


def check_fields(body: dict[str, Any]) -> None:
    for name, value in body.items():   # a request sends a handful of the fields: look only at those
        known = FIELDS.get(name)
        if known is None or value is None:
            continue
        check, what = known
        if not check(value):
            raise invalid_request(f"'{name}' must be {what}, not {_shown(value)}", param=name)


def check_message(i: int, msg: Any) -> None:
    where = f"messages[{i}]"
    if not isinstance(msg, dict):
        raise invalid_request(f"{where} must be an object with 'role' and 'content'", param=where)
    role = msg.get("role")
    if role not in ROLES:
        raise invalid_request(f"{where}.role must be one of {', '.join(sorted(ROLES))}, got {_shown(role)}",
                              param=f"{where}.role")
    content = msg.get("content")
    if isinstance(content, list):
        for j, part in enumerate(content):
            check_part(f"{where}.content[{j}]", part)
    elif content is not None and not isinstance(content, str):
        raise invalid_request(f"{where}.content must be a string, an array of content parts or null",
                              param=f"{where}.content")
    for key in ("name", "tool_call_id"):
        if msg.get(key) is not None and not isinstance(msg[key], str):
            raise invalid_request(f"{where}.{key} must be a string", param=f"{where}.{key}")
    calls = msg.get("tool_calls")
    if calls is not None and not _is_object_list(calls):
        raise invalid_request(f"{where}.tool_calls must be an array of objects", param=f"{where}.tool_calls")


def check_part(where: str, part: Any) -> None:
    if not isinstance(part, dict) or not isinstance(part.get("type"), str):
        raise invalid_request(f"{where} must be a content part: an object with a string 'type' "
                              f"(text, image_url, input_audio, file), not {_shown(part)}", param=where)
    kind = part["type"]
    if kind in _PART_STRINGS:
        key = _PART_STRINGS[kind]
        if not isinstance(part.get(key), str):
            raise invalid_request(f"{where}.{key} must be a string for a '{kind}' part", param=f"{where}.{key}")
    elif kind in _PART_OBJECTS:
        key = _PART_OBJECTS[kind]
        if not isinstance(part.get(key), dict):
            raise invalid_request(f"{where}.{key} must be an object for a '{kind}' part", param=f"{where}.{key}")
        if kind == "image_url" and not isinstance(part[key].get("url"), str):
            raise invalid_request(f"{where}.image_url.url must be a string", param=f"{where}.image_url.url")
    else:
        raise invalid_request(f"{where}.type {kind!r} is not a content part type Candor knows "
                              "(text, image_url, input_audio, file, refusal)", param=f"{where}.type")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."

