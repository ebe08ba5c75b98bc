"""Writes audit rows and domain events in the caller's transaction."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from guanxi.audit.models import AuditEntry, DomainEvent
from guanxi.authz.core import Principal
from guanxi.kit.errors import Problem
from guanxi.kit.pagination import clamp_limit, decode_cursor, encode_cursor


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Field-by-field changes; custom fields are reported one by one as custom.<key>."""
    changes: list[dict[str, Any]] = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if name == "custom" and isinstance(old, dict) and isinstance(new, dict):
            for key in sorted(set(old) | set(new)):
                if old.get(key) != new.get(key):
                    changes.append({"field": f"custom.{key}", "old": _plain(old.get(key)), "new": _plain(new.get(key))})
        elif _plain(old) != _plain(new):
            changes.append({"field": name, "old": _plain(old), "new": _plain(new)})
    return changes


def record(
    session: AsyncSession,
    *,
    workspace_id: int,
    action: str,
    record_type: str,
    record_id: int | None,
    label: str | None,
    changes: list[dict[str, Any]] | None = None,
    user_id: int | None = None,
    user_name: str | None = None,
    ip: str | None = None,
) -> None:
    session.add(
        AuditEntry(
            workspace_id=workspace_id,
            user_id=user_id,
            user_name=user_name,
            action=action,
            record_type=record_type,
            record_id=record_id,
            record_label=(label or "")[:200] or None,
            changes={"items": changes or []},
            ip=ip,
        )
    )


def past(action: str) -> str:
    """create → created, reopen → reopened, cancel → cancelled: the tense of event kinds."""
    if action == "cancel":
        return "cancelled"
    return action + ("d" if action.endswith("e") else "ed")


def change(
    session: AsyncSession,
    p: Principal,
    action: str,
    record_type: str,
    record_id: int,
    label: str,
    changes: list[dict[str, Any]] | None = None,
    payload: dict[str, Any] | None = None,
    *,
    customer_id: int | None = None,
) -> DomainEvent:
    """One audit row and one domain event for a change made by `p`.

    `customer_id` puts the event on that customer's timeline; a customer's own events carry its id.
    """
    record(
        session,
        workspace_id=p.workspace_id,
        action=action,
        record_type=record_type,
        record_id=record_id,
        label=label,
        changes=changes,
        user_id=p.user_id,
        user_name=p.name,
        ip=p.ip,
    )
    if customer_id is None and record_type == "customer":
        customer_id = record_id
    event = DomainEvent(
        workspace_id=p.workspace_id,
        kind=f"{record_type}.{past(action)}",
        record_type=record_type,
        record_id=record_id,
        actor_id=p.user_id,
        customer_id=customer_id,
        payload=_plain({"label": label, "changes": changes or [], **(payload or {})}),
    )
    session.add(event)
    return event


async def audit_page(session: AsyncSession, q: Any, limit: int | None, cursor: str | None) -> tuple[list[AuditEntry], str | None]:
    n = clamp_limit(limit)
    if cursor:
        (last,) = decode_cursor(cursor, 1)
        if not isinstance(last, int):
            raise Problem(400, "invalid_cursor")
        q = q.where(AuditEntry.id < last)
    rows = list(await session.scalars(q.order_by(AuditEntry.id.desc()).limit(n + 1)))
    nxt = encode_cursor([rows[n - 1].id]) if len(rows) > n else None
    return rows[:n], nxt
