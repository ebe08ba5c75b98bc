"""Audit log entries as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from guanxi.audit.models import AuditEntry
from guanxi.authz.core import Principal, apply_rules_to_changes


class Change(BaseModel):
    field: str
    old: Any = None
    new: Any = None


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    user_id: int | None
    user_name: str | None
    action: str
    record_type: str
    record_id: int | None
    record_label: str | None
    changes: list[Change]
    ip: str | None

    @classmethod
    def of(cls, e: AuditEntry, p: Principal | None = None) -> AuditEntryOut:
        changes = (e.changes or {}).get("items", [])
        if p is not None and e.record_type in ("customer", "contact"):
            changes = apply_rules_to_changes(p, "customers", changes)
        return cls(id=e.id, at=e.at, user_id=e.user_id, user_name=e.user_name, action=e.action,
                   record_type=e.record_type, record_id=e.record_id, record_label=e.record_label,
                   changes=[Change(**c) for c in changes], ip=e.ip)


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None = None
