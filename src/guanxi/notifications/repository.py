"""All SQL of notifications: the caller's own, newest first."""

from __future__ import annotations

from sqlalchemy import func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from guanxi.accounts.models import User
from guanxi.kit.models import utcnow
from guanxi.notifications.models import Notification

UNREAD_CAP = 999


async def page(session: AsyncSession, workspace_id: int, user_id: int, *, unread: bool, limit: int,
               before_id: int | None) -> list[Notification]:
    q = select(Notification).where(Notification.user_id == user_id, Notification.workspace_id == workspace_id)
    if unread:
        q = q.where(Notification.read_at.is_(None))
    if before_id is not None:
        q = q.where(Notification.id < before_id)
    return list(await session.scalars(q.order_by(Notification.id.desc()).limit(limit + 1)))


async def unread_count(session: AsyncSession, workspace_id: int, user_id: int) -> int:
    sub = (select(literal_column("1")).select_from(Notification)
           .where(Notification.user_id == user_id, Notification.workspace_id == workspace_id,
                  Notification.read_at.is_(None))
           .limit(UNREAD_CAP + 1).subquery())
    return await session.scalar(select(func.count()).select_from(sub)) or 0


async def get_own(session: AsyncSession, workspace_id: int, user_id: int, notification_id: int) -> Notification | None:
    return await session.scalar(select(Notification).where(
        Notification.id == notification_id, Notification.user_id == user_id, Notification.workspace_id == workspace_id))


async def mark_all_read(session: AsyncSession, workspace_id: int, user_id: int) -> int:
    res = await session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.workspace_id == workspace_id,
               Notification.read_at.is_(None))
        .values(read_at=utcnow()).execution_options(synchronize_session=False)
    )
    return int(res.rowcount or 0)  # type: ignore[attr-defined]


async def user_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {k: v for k, v in (await session.execute(select(User.id, User.name).where(User.id.in_(sorted(ids))))).all()}
