"""All SQL of the timeline: one index walk over a customer's domain events per page."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from guanxi.activities import repository as activities_repo
from guanxi.audit.models import DomainEvent


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
