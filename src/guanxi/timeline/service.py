"""The customer 360 timeline: the customer's domain events, newest first, rendered by their kinds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from guanxi.activities.repository import know_customer_name
from guanxi.audit.models import DomainEvent
from guanxi.authz.core import Principal
from guanxi.customers import repository as customers_repo
from guanxi.customers.models import Customer
from guanxi.kit.errors import FieldError, Problem, not_found
from guanxi.kit.i18n import current_language
from guanxi.kit.pagination import clamp_limit, decode_cursor, encode_cursor
from guanxi.kit.schemas import ID_MAX, bad_text
from guanxi.kit.timeutil import as_utc
from guanxi.timeline import kinds as _builtin  # noqa: F401 - registers the built-in kinds
from guanxi.timeline import registry
from guanxi.timeline import repository as repo
from guanxi.timeline import schemas as s

MAX_KINDS = 30


def parse_kinds(raw: str | None) -> list[str]:
    if not raw:
        return []
    wanted = [k.strip() for k in raw.split(",") if k.strip()]
    if len(wanted) > MAX_KINDS or any(len(k) > 40 or bad_text(k) for k in wanted):
        raise Problem(400, "invalid_filter", errors=[FieldError("kinds", "invalid_value")])
    return list(dict.fromkeys(wanted))


async def timeline(
    session: AsyncSession, p: Principal, customer_id: int, *, kinds: list[str], since: datetime | None,
    until: datetime | None, limit: int | None, cursor: str | None,
) -> tuple[list[s.TimelineEntry], str | None]:
    """One query walks (workspace_id, customer_id, id) for the page; the records it names are loaded in
    one batch per kind, so a page costs the same at the 10th and at the 10,000th entry."""
    p.require("customers", "view")
    c = await customers_repo.get(session, p, customer_id, deleted=None)  # like history: readable in the bin
    if c is None:
        raise not_found()
    before = None
    if cursor:
        (before,) = decode_cursor(cursor, 1)
        if isinstance(before, bool) or not isinstance(before, int) or not 0 < before <= ID_MAX:
            raise Problem(400, "invalid_cursor")
    dialect = session.get_bind().dialect.name
    where = [DomainEvent.workspace_id == p.workspace_id, DomainEvent.customer_id == c.id,
             *registry.permission_filter(p)]
    if kinds:
        where.append(registry.kinds_filter(kinds, dialect))
    n = clamp_limit(limit)
    know_customer_name(session, c.id, c.name)
    rows = await repo.page(session, where, before_id=before, since=as_utc(since), until=as_utc(until), limit=n)
    nxt = encode_cursor([rows[n - 1].id]) if len(rows) > n else None
    return await render(session, p, c, rows[:n]), nxt


async def render(session: AsyncSession, p: Principal, c: Customer, rows: list[DomainEvent]) -> list[s.TimelineEntry]:
    resolved = [(e, registry.kind_of(e)) for e in rows]
    loaded: dict[str, dict[int, Any]] = {}
    for loader_kind in {k.name: k for _, k in resolved if k is not None and k.load is not None}.values():
        ids = sorted({e.record_id for e, kk in resolved if kk is loader_kind and e.record_id is not None})
        assert loader_kind.load is not None
        loaded[loader_kind.name] = await loader_kind.load(session, p, c.id, ids)
    user_ids = {e.actor_id for e in rows if e.actor_id is not None}
    for e, k in resolved:
        if k is not None and k.users is not None:
            user_ids.update(k.users(e))
    wanted = {key for e, k in resolved if k is not None and (key := registry.audit_key(e)) is not None}
    audited = await repo.audited_changes(session, p.workspace_id, wanted) if wanted else {}
    ctx = registry.Ctx(p=p, en=current_language.get() == "en", users=await repo.user_names(session, user_ids),
                       customer_id=c.id, customer_name=c.name, audited=audited)
    out = []
    for e, k in resolved:
        restricted = False
        if k is None:
            parts = registry.default_parts(ctx, e)
            kind = e.record_type
        elif k.load is not None and (e.record_id is None or e.record_id not in loaded[k.name]):
            parts, restricted, kind = registry.Parts(ctx.pick(*k.hidden)), True, k.name
        else:
            record = loaded[k.name][e.record_id] if k.load is not None and e.record_id is not None else None
            parts, kind = k.render(ctx, e, record), k.name
        out.append(s.TimelineEntry(
            id=e.id, at=e.at, kind=kind, event=e.kind, actor_id=e.actor_id,
            actor_name=ctx.users.get(e.actor_id) if e.actor_id else None, title=parts.title, summary=parts.summary,
            link=parts.link, record_type=e.record_type, record_id=e.record_id, restricted=restricted,
            payload=parts.payload))
    return out


def kinds_catalog() -> list[s.TimelineKind]:
    en = current_language.get() == "en"
    return [s.TimelineKind(name=k.name, label=(k.label[1] if en else k.label[0]) or k.name, groups=list(k.groups))
            for k in registry.KINDS]
