"""All SQL of the timeline: one index walk over a customer's domain events per page."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from guanxi.activities import repository as activities_repo
from guanxi.audit.models import AuditEntry, DomainEvent
from guanxi.kit.models import dialect, id_in


async def page(session: AsyncSession, where: list[ColumnElement[bool]], *, before_id: int | None,
               since: datetime | None, until: datetime | None, limit: int) -> list[Any]:
    """Plain rows with DomainEvent's attributes: a page is read, never changed, so no ORM identity map."""
    q = select(*DomainEvent.__table__.c).where(*where)
    if before_id is not None:
        q = q.where(DomainEvent.id < before_id)
    if since is not None:
        q = q.where(DomainEvent.at >= since)
    if until is not None:
        q = q.where(DomainEvent.at <= until)
    return list((await session.execute(q.order_by(DomainEvent.id.desc()).limit(limit + 1))).all())


async def user_names(session: AsyncSession, ids: Iterable[int]) -> dict[int, str]:
    return await activities_repo.user_names(session, ids)


async def audited_changes(session: AsyncSession, workspace_id: int,
                          wanted: Iterable[tuple[str, str, int]]) -> dict[tuple[str, str, int], list[Any]]:
    """The changes of (record type, action, record id) from the audit log, for events that name their audit row
    instead of repeating it (`"audited": "create"`: an import's created records). The first such row wins."""
    groups: dict[tuple[str, str], set[int]] = {}
    for record_type, action, record_id in wanted:
        groups.setdefault((record_type, action), set()).add(record_id)
    out: dict[tuple[str, str, int], list[Any]] = {}
    for (record_type, action), ids in groups.items():
        rows = await session.execute(
            select(AuditEntry.record_id, AuditEntry.changes)
            .where(AuditEntry.workspace_id == workspace_id, AuditEntry.record_type == record_type,
                   id_in(dialect(session), AuditEntry.record_id, sorted(ids)),
                   AuditEntry.action == action)
            .order_by(AuditEntry.id))
        for record_id, changes in rows.all():
            items = (changes or {}).get("items") if isinstance(changes, dict) else None
            out.setdefault((record_type, action, record_id), items if isinstance(items, list) else [])
    return out
