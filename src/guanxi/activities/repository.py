"""All SQL of the activities domain: scoped reads, keyset lists, look-ups for a page of rows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from guanxi.accounts.models import User
from guanxi.activities.models import Attachment, Interaction, InteractionChannel, Note, Task
from guanxi.authz.core import Principal
from guanxi.authz.records import interaction_scope, note_scope, task_scope
from guanxi.customers.models import Contact, Customer
from guanxi.kit.errors import Problem
from guanxi.kit.models import dialect, id_in
from guanxi.kit.pagination import COUNT_CAP, after, decode_cursor, encode_cursor
from guanxi.kit.schemas import ID_MAX


def _bin(q: Select[Any], model: Any, deleted: bool | None) -> Select[Any]:
    if deleted is False:
        return q.where(model.deleted_at.is_(None))
    if deleted is True:
        return q.where(model.deleted_at.is_not(None))
    return q


async def get_interaction(session: AsyncSession, p: Principal, interaction_id: int, *,
                          deleted: bool | None = False) -> Interaction | None:
    q = select(Interaction).where(Interaction.id == interaction_id, interaction_scope(p))
    return (await session.scalars(_bin(q, Interaction, deleted))).first()


async def get_task(session: AsyncSession, p: Principal, task_id: int, *, deleted: bool | None = False) -> Task | None:
    q = select(Task).where(Task.id == task_id, task_scope(p))
    return (await session.scalars(_bin(q, Task, deleted))).first()


async def get_note(session: AsyncSession, p: Principal, customer_id: int, note_id: int, *,
                   deleted: bool | None = False) -> Note | None:
    q = select(Note).where(Note.id == note_id, Note.customer_id == customer_id, note_scope(p))
    return (await session.scalars(_bin(q, Note, deleted))).first()


# ------------------------------------------------------------------ keyset pages


def _cursor_time(session: AsyncSession, cursor: str) -> tuple[datetime, int]:
    value, last_id = decode_cursor(cursor, 2)
    if (isinstance(last_id, bool) or not isinstance(last_id, int) or not 0 < last_id <= ID_MAX
            or not isinstance(value, datetime)):
        raise Problem(400, "invalid_cursor")
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if dialect(session) == "sqlite":  # stored as naive UTC text; compare like with like
        value = value.replace(tzinfo=None)
    return value, last_id


async def time_page(session: AsyncSession, q: Select[Any], model: Any, column: str, *, desc: bool, limit: int,
                    cursor: str | None) -> tuple[list[Any], str | None]:
    """Rows ordered by a NOT NULL time column and id, `limit` at a time."""
    col, id_col = getattr(model, column), model.id
    if cursor:
        value, last_id = _cursor_time(session, cursor)
        q = q.where(after(col, id_col, value, last_id, desc=desc, nulls_low=True, nullable=False))
    order = [col.desc(), id_col.desc()] if desc else [col.asc(), id_col.asc()]
    rows = list(await session.scalars(q.order_by(*order).limit(limit + 1)))
    nxt = None
    if len(rows) > limit:
        last = rows[limit - 1]
        nxt = encode_cursor([getattr(last, column), last.id])
    return rows[:limit], nxt


async def id_page(session: AsyncSession, q: Select[Any], model: Any, *, limit: int,
                  cursor: str | None) -> tuple[list[Any], str | None]:
    """Newest first by id."""
    if cursor:
        (last,) = decode_cursor(cursor, 1)
        if isinstance(last, bool) or not isinstance(last, int) or not 0 < last <= ID_MAX:
            raise Problem(400, "invalid_cursor")
        q = q.where(model.id < last)
    rows = list(await session.scalars(q.order_by(model.id.desc()).limit(limit + 1)))
    nxt = encode_cursor([rows[limit - 1].id]) if len(rows) > limit else None
    return rows[:limit], nxt


async def capped_count(session: AsyncSession, model: Any, where: list[ColumnElement[bool]],
                       cap: int | None = None) -> tuple[int, bool]:
    cap = cap or COUNT_CAP
    sub = select(literal_column("1")).select_from(model).where(*where).limit(cap + 1).subquery()
    n = await session.scalar(select(func.count()).select_from(sub)) or 0
    return min(n, cap), n > cap


# ------------------------------------------------------------------ look-ups for a page of rows


async def _names(session: AsyncSession, memo_key: str, table: Any, ids: Iterable[int | None]) -> dict[int, str]:
    """Names by id, remembered for the rest of the unit of work: a page that renders several kinds of
    records (the timeline) asks for the same people more than once."""
    memo: dict[int, str] = session.info.setdefault(memo_key, {})
    wanted = {i for i in ids if i is not None}
    missing = sorted(wanted - memo.keys())
    if missing:
        memo.update((k, v) for k, v in (await session.execute(
            select(table.id, table.name).where(id_in(dialect(session), table.id, missing)))).all())
    return {i: memo[i] for i in wanted if i in memo}


async def user_names(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    return await _names(session, "user_names", User, ids)


async def customer_names(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    return await _names(session, "customer_names", Customer, ids)


def know_customer_name(session: AsyncSession, customer_id: int, name: str) -> None:
    session.info.setdefault("customer_names", {})[customer_id] = name


async def contact_names(session: AsyncSession, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(select(Contact.id, Contact.name).where(id_in(dialect(session), Contact.id, wanted)))
    return {k: v for k, v in rows.all()}


async def live_contacts(session: AsyncSession, customer_id: int, ids: list[int]) -> set[int]:
    if not ids:
        return set()
    rows = await session.scalars(select(Contact.id).where(
        Contact.id.in_(ids), Contact.customer_id == customer_id, Contact.deleted_at.is_(None)))
    return set(rows)


async def attachments_of(session: AsyncSession, interaction_ids: list[int]) -> dict[int, list[Attachment]]:
    out: dict[int, list[Attachment]] = {i: [] for i in interaction_ids}
    if not interaction_ids:
        return out
    rows = await session.scalars(select(Attachment).where(id_in(dialect(session), Attachment.interaction_id, interaction_ids))
                                 .order_by(Attachment.id))
    for a in rows:
        out[a.interaction_id].append(a)
    return out


async def active_users(session: AsyncSession, workspace_id: int, ids: Iterable[int]) -> dict[int, User]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.scalars(select(User).where(User.id.in_(wanted), User.workspace_id == workspace_id, User.active))
    return {u.id: u for u in rows}


async def custom_channels(session: AsyncSession, workspace_id: int) -> list[InteractionChannel]:
    return list(await session.scalars(
        select(InteractionChannel).where(InteractionChannel.workspace_id == workspace_id)
        .order_by(InteractionChannel.position, InteractionChannel.id)))


async def channel_in_use(session: AsyncSession, workspace_id: int, key: str) -> bool:
    return await session.scalar(select(Interaction.id).where(
        Interaction.workspace_id == workspace_id, Interaction.channel == key).limit(1)) is not None


# ------------------------------------------------------------------ derived columns


async def refresh_last_contacted(session: AsyncSession, customer_id: int) -> datetime | None:
    """customers.last_contacted_at = the latest occurred_at of the customer's live interactions.

    Derived, so neither the customer's version nor its updated_at moves: logging a call never makes someone's
    open edit of the customer stale.
    """
    latest = await session.scalar(select(func.max(Interaction.occurred_at)).where(
        Interaction.customer_id == customer_id, Interaction.deleted_at.is_(None)))
    await session.execute(update(Customer).where(Customer.id == customer_id).values(last_contacted_at=latest)
                          .execution_options(synchronize_session=False))
    cached = session.identity_map.get(identity_key(Customer, customer_id))
    if cached is not None:  # the request may still answer with it; not a change of its own
        set_committed_value(cached, "last_contacted_at", latest)
    return latest
