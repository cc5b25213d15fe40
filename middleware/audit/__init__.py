"""The tamper-evident audit log: hash-chained events per writer stream, signed checkpoints,
per-user encrypted content that can be erased, retention with signed purge anchors.

The request pipeline uses ``AuditLog``, ``EventDraft``, ``new_event_id`` and ``AuditUnavailable``.
"""

from middleware.audit.events import KINDS, AuditEvent, AuditUnavailable, EventDraft, new_event_id
from middleware.audit.log import AuditLog, LogSettings

__all__ = ["KINDS", "AuditEvent", "AuditLog", "AuditUnavailable", "EventDraft", "LogSettings", "new_event_id"]
