"""All SQL of the timeline: one index walk over a customer's domain events per page."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from guanxi.accounts.models import User
from guanxi.audit.models import DomainEvent


async def page(session: AsyncSession, where: list[ColumnElement[bool]], *, before_id: int | None,
               since: datetime | None, until: datetime | None, limit: int) -> list[DomainEvent]:
    q = select(DomainEvent).where(*where)
    if before_id is not None:
        q = q.where(DomainEvent.id < before_id)
    if since is not None:
        q = q.where(DomainEvent.at >= since)
    if until is not None:
        q = q.where(DomainEvent.at <= until)
    return list(await session.scalars(q.order_by(DomainEvent.id.desc()).limit(limit + 1)))


async def user_names(session: AsyncSession, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {k: v for k, v in (await session.execute(select(User.id, User.name).where(User.id.in_(wanted)))).all()}
