"""Which language a request's notices and labels are in.

Texts in a policy may be per locale. Apps seldom send ``Accept-Language`` through an SDK, so Candor
uses, in order: the request's ``Accept-Language``, the script of the user's latest message (Chinese
characters -> ``zh-CN``, Latin letters -> ``en``), then the policy's own ``locale``.
"""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]{2}")


def request_locale(accept_language: str | None, user_text: str) -> str | None:
    if accept_language:
        first = accept_language.split(",")[0].split(";")[0].strip()
        if first and first != "*":
            return first
    if _CJK.search(user_text):
        return "zh-CN"
    if _LATIN.search(user_text):
        return "en"
    return None
