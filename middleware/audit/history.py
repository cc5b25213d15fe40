"""A user's own conversation, to copy (ANTH-DATA-2) as a labelled file (LABEL-EXPORT-1, LABEL-IMPLICIT-1).

Read from the audit log's encrypted content (``middleware/audit/content.py``): every exchange, crisis and
exit event of the user, for one app, whose content still opens, in time order. Each reply carries the
explicit label it was delivered with (from the event's ``labels`` decision; where the label was left to
the app's interface, or waived, it is added to the copy) and its implicit label; the file carries an
implicit label of its own (``AIGC`` front matter in markdown, an ``AIGC`` field in JSON) and the explicit
label at its top. An erased user's content no longer opens, so their history is empty; so is that of a
policy that keeps no content (``audit.store_content: false``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from middleware.audit.events import new_event_id
from middleware.audit.export import ERASED, iter_rows, with_content
from middleware.audit.log import AuditLog
from middleware.audit.store import EventFilter

CONVERSATION_KINDS = ("exchange", "crisis", "exit")


@dataclass(frozen=True, slots=True)
class Entry:
    event_id: str
    ts: str
    session_id: str | None
    user: str
    reply: str
    explicit: str | None
    implicit: dict[str, Any] | None

    def as_json(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "ts": self.ts, "session_id": self.session_id, "user": self.user,
                "reply": self.reply, "label": {"explicit": self.explicit, "implicit": self.implicit}}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _last_user(messages: Any) -> str:
    if isinstance(messages, list):
        for msg in reversed(messages):
            if isinstance(msg, dict) and msg.get("role") == "user":
                return _text(msg.get("content"))
    return ""


def _label(event: dict[str, Any], fallback: str | None) -> tuple[str | None, dict[str, Any] | None]:
    for d in event.get("decisions") or []:
        if isinstance(d, dict) and d.get("rule") == "labels" and isinstance(d.get("detail"), dict):
            detail = d["detail"]
            explicit = detail.get("explicit") if isinstance(detail.get("explicit"), str) else None
            implicit = detail.get("implicit") if isinstance(detail.get("implicit"), dict) else None
            return explicit or fallback, implicit
    return fallback, None


async def user_history(log: AuditLog, app_id: str, user_id: str, fallback_label: str | None) -> list[Entry]:
    """The user's conversation with ``app_id``, oldest first; what no longer opens is left out."""
    ref = log.keys.user_ref(user_id)
    out: list[Entry] = []
    async for rows in iter_rows(log.store, EventFilter(user_ref=ref)):
        mine = [r for r in rows if r.kind in CONVERSATION_KINDS]
        if not mine:
            continue
        for ev in await with_content(log.store, log.keys.master, mine):
            content = ev.get("content")
            if ev.get("app_id") != app_id or content in (None, ERASED) or not isinstance(content, dict):
                continue
            reply = content.get("reply")
            if not isinstance(reply, str):
                continue
            explicit, implicit = _label(ev, fallback_label)
            out.append(Entry(ev["event_id"], ev["ts"], ev.get("session_id"), _last_user(content.get("messages")),
                             reply, explicit, implicit))
    return out


def file_label(producer: str) -> dict[str, str]:
    """The implicit label of the exported file itself (LABEL-IMPLICIT-1)."""
    file_id = new_event_id()
    return {"Label": "1", "ContentProducer": producer, "ProduceID": file_id, "ReservedCode1": "",
            "ContentPropagator": producer, "PropagateID": file_id, "ReservedCode2": ""}


def as_json(user_id: str, entries: list[Entry], aigc: dict[str, str], label: str | None) -> bytes:
    return orjson.dumps({"object": "user_history", "user": user_id, "AIGC": aigc, "label": label,
                         "entries": [e.as_json() for e in entries]})


def as_markdown(user_id: str, entries: list[Entry], aigc: dict[str, str], label: str | None) -> str:
    # front matter: key AIGC, value the JSON object (GB 45438's implicit label for Markdown)
    lines = ["---", "AIGC: " + orjson.dumps(aigc).decode(), "---", "",
             f"# 对话记录 · Conversation history: {user_id}", ""]
    if label:
        lines += [f"> {label}", ""]
    for e in entries:
        reply = e.reply.strip()
        if e.explicit and e.explicit not in reply:   # delegated to the app's interface, or waived: labelled here
            reply = f"{e.explicit}\n\n{reply}"
        lines += [f"## {e.ts}" + (f" · {e.session_id}" if e.session_id else ""), "",
                  f"**User:** {e.user.strip()}", "", f"**AI:** {reply}", ""]
    return "\n".join(lines)
