"""Business rules of notifications. Never commits.

Other domains call `notify` in their own transaction: a rolled-back change notifies nobody. The title is
written in each recipient's language when the notification is made. When SMTP is configured, each notification
also gets an email copy through the job outbox, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from guanxi.authz.core import Principal
from guanxi.kit.errors import Problem, not_found
from guanxi.kit.models import utcnow
from guanxi.kit.pagination import clamp_limit, decode_cursor, encode_cursor
from guanxi.kit.schemas import ID_MAX
from guanxi.notifications import repository as repo
from guanxi.notifications import schemas as s
from guanxi.notifications.models import Notification
from guanxi.notifications.tasks import email_copies


@dataclass(frozen=True)
class Recipient:
    user_id: int
    language: str


def notify(
    session: AsyncSession,
    p: Principal,
    recipients: Iterable[Recipient],
    *,
    kind: str,
    title: Callable[[str], str],
    body: str | None = None,
    link: str | None = None,
    record_type: str | None = None,
    record_id: int | None = None,
) -> list[Notification]:
    """One notification per recipient, never to the caller themself."""
    out: list[Notification] = []
    seen: set[int] = set()
    for r in recipients:
        if r.user_id == p.user_id or r.user_id in seen:
            continue
        seen.add(r.user_id)
        n = Notification(workspace_id=p.workspace_id, user_id=r.user_id, kind=kind, title=title(r.language)[:300],
                         body=(body or None) and body[:2000], link=link, record_type=record_type, record_id=record_id,
                         actor_id=p.user_id, created_at=utcnow())
        session.add(n)
        out.append(n)
    email_copies(session, out)
    return out


async def to_out(session: AsyncSession, rows: list[Notification]) -> list[s.Notification]:
    names = await repo.user_names(session, {r.actor_id for r in rows if r.actor_id})
    return [s.Notification(id=r.id, kind=r.kind, title=r.title, body=r.body, link=r.link, record_type=r.record_type,
                           record_id=r.record_id, actor_id=r.actor_id,
                           actor_name=names.get(r.actor_id) if r.actor_id else None, created_at=r.created_at,
                           read_at=r.read_at) for r in rows]


async def list_mine(session: AsyncSession, p: Principal, *, unread: bool, limit: int | None,
                    cursor: str | None) -> tuple[list[Notification], str | None]:
    n = clamp_limit(limit)
    before = None
    if cursor:
        (before,) = decode_cursor(cursor, 1)
        if isinstance(before, bool) or not isinstance(before, int) or not 0 < before <= ID_MAX:
            raise Problem(400, "invalid_cursor")
    rows = await repo.page(session, p.workspace_id, p.user_id, unread=unread, limit=n, before_id=before)
    nxt = encode_cursor([rows[n - 1].id]) if len(rows) > n else None
    return rows[:n], nxt


async def unread_count(session: AsyncSession, p: Principal) -> s.UnreadCount:
    n = await repo.unread_count(session, p.workspace_id, p.user_id)
    return s.UnreadCount(count=min(n, repo.UNREAD_CAP), capped=n > repo.UNREAD_CAP)


def _writable(p: Principal) -> None:
    if p.api_scopes is not None and "write" not in p.api_scopes:
        raise Problem(403, "api_key_read_only")


async def mark_read(session: AsyncSession, p: Principal, notification_id: int) -> Notification:
    """Read flags are the reader's own state: they are not business changes and write no audit row."""
    _writable(p)
    n = await repo.get_own(session, p.workspace_id, p.user_id, notification_id)
    if n is None:
        raise not_found()
    if n.read_at is None:
        n.read_at = utcnow()
    return n


async def mark_all_read(session: AsyncSession, p: Principal) -> s.ReadAll:
    _writable(p)
    return s.ReadAll(updated=await repo.mark_all_read(session, p.workspace_id, p.user_id))
