"""Timeline kinds: how a domain event about a customer reads on that customer's timeline.

A module puts its records on the timeline by emitting events with `customer_id` set
(`audit.service.change(..., customer_id=...)`). That alone is enough: an event kind nobody registered
shows as a plain entry (its kind is the record type, e.g. `order`, titled "order created") that reveals no
field of the record. Registering a `Kind` (see timeline/kinds.py, the one place the built-in ones live)
gives the events a name clients can filter on, a title, a summary, a link, a payload, the module whose
`view` right a caller needs to see them at all, and a loader that fetches the current records a caller may
see — an entry whose record was since deleted or left the caller's scope is shown redacted, never with data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, literal_column, not_, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from guanxi.audit.models import DomainEvent
from guanxi.authz.core import Principal


@dataclass
class Ctx:
    """What renderers get besides the event: the caller, their language, names, the customer."""

    p: Principal
    en: bool
    users: dict[int, str]
    customer_id: int
    customer_name: str
    # changes read from the audit log for events that name their audit row (see `changes_of`)
    audited: dict[tuple[str, str, int], list[Any]] = field(default_factory=dict)

    def pick(self, zh: str, en: str) -> str:
        return en if self.en else zh

    def user(self, user_id: Any) -> str | None:
        return self.users.get(user_id) if isinstance(user_id, int) else None


@dataclass(frozen=True)
class Parts:
    title: str
    summary: str | None = None
    link: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


# (session, caller, customer id, record ids) → the records the caller may still see, by id
Loader = Callable[[AsyncSession, Principal, int, list[int]], Awaitable[dict[int, Any]]]
# (context, event, the loaded record or None when the kind has no loader) → what the entry says
Render = Callable[[Ctx, DomainEvent, Any], Parts]


@dataclass(frozen=True)
class Kind:
    name: str  # what clients see and filter on: "stage_change"
    events: tuple[str, ...]  # the domain event kinds it covers: ("customer.updated",)
    render: Render
    module: str = "customers"  # callers without `view` on it never see these entries
    label: tuple[str, str] = ("", "")  # zh-CN, en
    groups: tuple[str, ...] = ()  # filter aliases: kinds=task covers task_created, task_done and task_change
    changed: tuple[str, ...] = ()  # an update event matches when one of these fields changed ...
    unchanged: tuple[str, ...] = ()  # ... and none of these did (stage beats grade beats other fields)
    load: Loader | None = None
    hidden: tuple[str, str] = ("这条记录已删除或无权查看", "This record was deleted or is not visible to you")
    users: Callable[[DomainEvent], list[int]] | None = None  # user ids the renderer wants names for


KINDS: list[Kind] = []


def register(kind: Kind) -> Kind:
    if any(k.name == kind.name for k in KINDS):
        raise ValueError(f"timeline kind {kind.name} is registered twice")
    KINDS.append(kind)
    return kind


def audit_key(e: DomainEvent) -> tuple[str, str, int] | None:
    """(record type, action, record id) of the audit row that holds an event's changes, when the event names it
    instead of repeating them (`"audited": "create"`, written by imports); None when the event has its changes."""
    payload = e.payload
    if not isinstance(payload, dict) or "changes" in payload or e.record_id is None:
        return None
    action = payload.get("audited")
    return (e.record_type, action, e.record_id) if isinstance(action, str) else None


def changes_of(ctx: Ctx, e: DomainEvent) -> list[Any]:
    """An event's field changes: its own, or its audit row's."""
    key = audit_key(e)
    if key is not None:
        return ctx.audited.get(key, [])
    return list((e.payload or {}).get("changes", []))


def _fields(e: DomainEvent) -> set[str]:
    return {str(c.get("field")) for c in (e.payload or {}).get("changes", []) if isinstance(c, dict)}


def kind_of(e: DomainEvent) -> Kind | None:
    """The first registered kind that covers this event (None: an unregistered module's event)."""
    changed = None
    for k in KINDS:
        if e.kind not in k.events:
            continue
        if k.changed or k.unchanged:
            changed = _fields(e) if changed is None else changed
            if k.changed and not changed & set(k.changed):
                continue
            if changed & set(k.unchanged):
                continue
        return k
    return None


def _has_field(dialect: str, name: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return type_coerce(DomainEvent.payload, JSONB)["changes"].contains([{"field": name}])
    each = func.json_each(DomainEvent.payload, "$.changes").table_valued("value")
    return exists(select(literal_column("1")).select_from(each)
                  .where(func.json_extract(each.c.value, "$.field") == name))


def match(kind: Kind, dialect: str) -> ColumnElement[bool]:
    """The SQL twin of kind_of for one kind: a row filter on the timeline's index walk."""
    parts: list[ColumnElement[bool]] = [DomainEvent.kind.in_(kind.events)]
    if kind.changed:
        parts.append(or_(*[_has_field(dialect, f) for f in kind.changed]))
    if kind.unchanged:
        parts.append(not_(or_(*[_has_field(dialect, f) for f in kind.unchanged])))
    return and_(*parts)


def registered_events() -> set[str]:
    return {ev for k in KINDS for ev in k.events}


def names() -> dict[str, list[Kind]]:
    """Every filter value clients may send: kind names and group aliases."""
    out: dict[str, list[Kind]] = {}
    for k in KINDS:
        out.setdefault(k.name, []).append(k)
        for g in k.groups:
            out.setdefault(g, []).append(k)
    return out


def permission_filter(p: Principal) -> list[ColumnElement[bool]]:
    """Leave out whole kinds of a module the caller may not view."""
    barred = sorted({ev for k in KINDS if not p.can(k.module, "view") for ev in k.events})
    return [DomainEvent.kind.not_in(barred)] if barred else []


def kinds_filter(wanted: list[str], dialect: str) -> ColumnElement[bool]:
    """kinds=interaction,stage,order: registered names and aliases, else the record type of unregistered events."""
    table = names()
    known = sorted(registered_events())
    parts: list[ColumnElement[bool]] = []
    for w in wanted:
        if w in table:
            parts += [match(k, dialect) for k in table[w]]
        else:
            parts.append(and_(DomainEvent.record_type == w, DomainEvent.kind.not_in(known)))
    return or_(*parts)


def default_parts(ctx: Ctx, e: DomainEvent) -> Parts:
    """An unregistered event: what happened to which kind of record, nothing of its content."""
    action = e.kind.rsplit(".", 1)[-1]
    return Parts(title=f"{e.record_type} {action}")
