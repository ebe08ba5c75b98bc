"""Business rules for interactions, attachments, channels, tasks and notes. Never commits.

Visibility: an interaction or a note is visible (and writable, with the module right) exactly when its
customer is; a task follows its assignee's record scope and, when it is about a customer, that customer's
visibility too (authz.records builds both filters). Every change writes an audit row and a domain event
that carries the customer id, so it shows on the customer's timeline.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import anyio
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from guanxi.accounts.models import User
from guanxi.activities import files
from guanxi.activities import repository as repo
from guanxi.activities import schemas as s
from guanxi.activities.models import Attachment, Interaction, InteractionChannel, Note, Task
from guanxi.audit import service as audit
from guanxi.authz.core import Principal
from guanxi.authz.records import (
    customer_visible,
    interaction_scope,
    principal_for,
    sees_customer,
    task_scope,
)
from guanxi.customers import repository as customers_repo
from guanxi.customers.models import Customer
from guanxi.customers.service import parse_if_match
from guanxi.kit.errors import FieldError, Problem, forbidden, not_found, validation_error
from guanxi.kit.i18n import current_language
from guanxi.kit.models import utcnow
from guanxi.kit.normalize import clean_text
from guanxi.kit.pagination import clamp_limit
from guanxi.kit.schemas import ID_MAX
from guanxi.kit.timeutil import add_days_local, add_month_local, day_start, local_day_of, local_today
from guanxi.kit.transactions import after_commit
from guanxi.kit.versioning import bump_version
from guanxi.notifications.service import Recipient, notify

FUTURE_SLACK = timedelta(days=1)  # an interaction is something that happened; a day covers clocks and time zones
MAX_ATTACHMENTS = 20
WORK_ITEMS = 5  # items per bucket on "my work"


def _pick(pair: tuple[str, str | None], lang: str | None = None) -> str:
    zh, en = pair
    return (en or zh) if (lang or current_language.get()) == "en" else zh


async def visible_customer(session: AsyncSession, p: Principal, customer_id: int, field: str | None = None) -> Customer:
    """A live customer the caller may see; 404 (naming the field, when it came in a body) otherwise."""
    c = await session.scalar(select(Customer).where(Customer.id == customer_id, customer_visible(p)))
    if c is None:
        raise Problem(404, "not_found", errors=[FieldError(field, "not_found")] if field else None)
    return c


def excerpt(text: str | None, n: int = 120) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _bin(model: Any, deleted: bool) -> ColumnElement[bool]:
    return model.deleted_at.is_not(None) if deleted else model.deleted_at.is_(None)


# ------------------------------------------------------------------ channels


async def channel_labels(session: AsyncSession, workspace_id: int) -> dict[str, tuple[str, str | None]]:
    out: dict[str, tuple[str, str | None]] = dict(s.BUILTIN_CHANNELS)
    out.update({c.key: (c.label, c.label_en) for c in await repo.custom_channels(session, workspace_id)})
    return out


async def list_channels(session: AsyncSession, p: Principal) -> list[s.InteractionChannel]:
    out = [s.InteractionChannel(key=k, label=zh, label_en=en, position=i, builtin=True)
           for i, (k, (zh, en)) in enumerate(s.BUILTIN_CHANNELS.items())]
    out += [s.InteractionChannel(key=c.key, label=c.label, label_en=c.label_en, position=c.position, builtin=False)
            for c in await repo.custom_channels(session, p.workspace_id)]
    return out


def channel_out(c: InteractionChannel) -> s.InteractionChannel:
    return s.InteractionChannel(key=c.key, label=c.label, label_en=c.label_en, position=c.position, builtin=False)


async def add_channel(session: AsyncSession, p: Principal, body: s.InteractionChannelCreate) -> InteractionChannel:
    p.require_admin()
    customs = await repo.custom_channels(session, p.workspace_id)
    keys = set(s.BUILTIN_CHANNELS) | {c.key for c in customs}
    label = clean_text(body.label) or ""
    errors: list[FieldError] = []
    if body.key and body.key in keys:
        errors.append(FieldError("key", "duplicate"))
    if label in {zh for zh, _ in s.BUILTIN_CHANNELS.values()} | {c.label for c in customs}:
        errors.append(FieldError("label", "duplicate"))
    if errors:
        raise validation_error(errors)
    key = body.key or f"c{len(customs) + 1}"
    while key in keys:
        key += "x"
    now = utcnow()
    ch = InteractionChannel(workspace_id=p.workspace_id, key=key, label=label, label_en=clean_text(body.label_en),
                            position=body.position if body.position is not None else 100 + len(customs),
                            created_at=now, updated_at=now, version=1)
    session.add(ch)
    await session.flush()
    audit.change(session, p, "create", "interaction_channel", ch.id, ch.label,
                 audit.diff({}, {"key": ch.key, "label": ch.label, "label_en": ch.label_en}))
    return ch


async def _custom_channel(session: AsyncSession, p: Principal, key: str) -> InteractionChannel:
    p.require_admin()
    if key in s.BUILTIN_CHANNELS:
        raise Problem(409, "builtin_readonly")
    ch = await session.scalar(select(InteractionChannel).where(
        InteractionChannel.workspace_id == p.workspace_id, InteractionChannel.key == key))
    if ch is None:
        raise not_found()
    return ch


async def update_channel(session: AsyncSession, p: Principal, key: str,
                         body: s.InteractionChannelUpdate) -> InteractionChannel:
    ch = await _custom_channel(session, p, key)
    data = body.model_dump(exclude_unset=True)
    before = {"label": ch.label, "label_en": ch.label_en, "position": ch.position}
    if "label" in data:
        label = clean_text(data["label"])
        if not label:
            raise validation_error([FieldError("label", "required")])
        others = {c.label for c in await repo.custom_channels(session, p.workspace_id) if c.id != ch.id}
        if label in others | {zh for zh, _ in s.BUILTIN_CHANNELS.values()}:
            raise validation_error([FieldError("label", "duplicate")])
        ch.label = label
    if "label_en" in data:
        ch.label_en = clean_text(data["label_en"])
    if data.get("position") is not None:
        ch.position = data["position"]
    changes = audit.diff(before, {"label": ch.label, "label_en": ch.label_en, "position": ch.position})
    if changes:
        ch.version += 1
        ch.updated_at = utcnow()
        audit.change(session, p, "update", "interaction_channel", ch.id, ch.label, changes)
    return ch


async def delete_channel(session: AsyncSession, p: Principal, key: str) -> None:
    ch = await _custom_channel(session, p, key)
    if await repo.channel_in_use(session, p.workspace_id, ch.key):
        raise Problem(409, "in_use")
    audit.change(session, p, "delete", "interaction_channel", ch.id, ch.label)
    await session.delete(ch)


# ------------------------------------------------------------------ interactions

INTERACTION_FIELDS = ("channel", "direction", "occurred_at", "duration_minutes", "user_id", "contact_ids", "subject",
                      "summary", "outcome", "next_step", "next_step_at")


def _interaction_snapshot(i: Interaction) -> dict[str, Any]:
    return {f: getattr(i, f) for f in INTERACTION_FIELDS}


def _interaction_label(c: Customer, i: Interaction, labels: dict[str, tuple[str, str | None]]) -> str:
    channel = _pick(labels.get(i.channel, (i.channel, None)))
    return " · ".join(x for x in (c.name, channel, i.subject) if x)


async def _clean_interaction(session: AsyncSession, p: Principal, data: dict[str, Any], customer: Customer,
                             errors: list[FieldError], *, creating: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in ("subject", "summary", "outcome", "next_step"):
        if f in data:
            out[f] = clean_text(data[f])
    if "channel" in data:
        if data["channel"] is None:
            errors.append(FieldError("channel", "required"))
        elif data["channel"] not in await channel_labels(session, p.workspace_id):
            errors.append(FieldError("channel", "invalid_option"))
        else:
            out["channel"] = data["channel"]
    if "direction" in data:
        out["direction"] = data["direction"] or "outbound"
    if "occurred_at" in data:
        when = data["occurred_at"]
        if when is None:
            if not creating:
                errors.append(FieldError("occurred_at", "required"))
        elif when > utcnow() + FUTURE_SLACK:
            errors.append(FieldError("occurred_at", "in_future"))
        else:
            out["occurred_at"] = when
    for f in ("duration_minutes", "next_step_at"):
        if f in data:
            out[f] = data[f]
    if "contact_ids" in data:
        wanted = list(data["contact_ids"] or [])
        live = await repo.live_contacts(session, customer.id, wanted)
        for n, cid in enumerate(wanted):
            if cid not in live:
                errors.append(FieldError(f"contact_ids.{n}", "invalid_contact"))
        out["contact_ids"] = list(dict.fromkeys(wanted))
    if "user_id" in data:
        uid = data["user_id"] or p.user_id
        if uid not in await repo.active_users(session, p.workspace_id, [uid]):
            errors.append(FieldError("user_id", "invalid_user"))
        else:
            out["user_id"] = uid
    return out


async def interactions_out(session: AsyncSession, p: Principal, rows: list[Interaction]) -> list[s.Interaction]:
    users = await repo.user_names(session, [r.user_id for r in rows])
    customers = await repo.customer_names(session, [r.customer_id for r in rows])
    contacts = await repo.contact_names(session, [cid for r in rows for cid in r.contact_ids])
    attachments = await repo.attachments_of(session, [r.id for r in rows])
    labels = await channel_labels(session, p.workspace_id)
    return [
        s.Interaction(
            id=r.id, customer_id=r.customer_id, customer_name=customers.get(r.customer_id), contact_ids=r.contact_ids,
            contacts=[s.ContactRef(id=c, name=contacts[c]) for c in r.contact_ids if c in contacts],
            channel=r.channel, channel_label=_pick(labels.get(r.channel, (r.channel, None))), direction=r.direction,
            occurred_at=r.occurred_at, duration_minutes=r.duration_minutes, user_id=r.user_id,
            user_name=users.get(r.user_id) if r.user_id else None, subject=r.subject, summary=r.summary,
            outcome=r.outcome, next_step=r.next_step, next_step_at=r.next_step_at,
            attachments=[attachment_out(a) for a in attachments.get(r.id, [])], version=r.version,
            created_at=r.created_at, updated_at=r.updated_at, created_by=r.created_by, deleted_at=r.deleted_at,
        )
        for r in rows
    ]


def attachment_out(a: Attachment) -> s.Attachment:
    return s.Attachment(id=a.id, interaction_id=a.interaction_id, filename=a.filename, content_type=a.content_type,
                        size=a.size, sha256=a.sha256, created_at=a.created_at, created_by=a.created_by,
                        url=f"/api/v1/interactions/{a.interaction_id}/attachments/{a.id}")


async def get_interaction(session: AsyncSession, p: Principal, interaction_id: int, *,
                          deleted: bool | None = False) -> Interaction:
    p.require("activities", "view")
    i = await repo.get_interaction(session, p, interaction_id, deleted=deleted)
    if i is None:
        raise not_found()
    return i


async def list_interactions(
    session: AsyncSession, p: Principal, *, customer_id: int | None, user_id: int | None, channel: str | None,
    occurred_from: datetime | None, occurred_to: datetime | None, deleted: bool, limit: int | None, cursor: str | None,
    page_size: int | None = None, count_cap: int | None = None,
) -> tuple[list[Interaction], str | None, int, bool]:
    """`page_size` and `count_cap` let an export walk in bigger pages and count further than the API list."""
    p.require("activities", "delete" if deleted else "view")
    where = [interaction_scope(p), _bin(Interaction, deleted)]
    if customer_id is not None:
        where.append(Interaction.customer_id == customer_id)
    if user_id is not None:
        where.append(Interaction.user_id == user_id)
    if channel:
        where.append(Interaction.channel == channel)
    if occurred_from is not None:
        where.append(Interaction.occurred_at >= occurred_from)
    if occurred_to is not None:
        where.append(Interaction.occurred_at <= occurred_to)
    n = page_size or clamp_limit(limit)
    rows, nxt = await repo.time_page(session, select(Interaction).where(*where), Interaction, "occurred_at",
                                     desc=True, limit=n, cursor=cursor)
    if cursor is None and nxt is None:
        return rows, nxt, len(rows), False
    total, capped = await repo.capped_count(session, Interaction, where, count_cap)
    return rows, nxt, total, capped


async def create_interaction(session: AsyncSession, p: Principal,
                             body: s.InteractionCreate) -> tuple[Interaction, Task | None]:
    """The interaction, and the follow-up task when `follow_up` is sent: both or neither."""
    p.require("activities", "create")
    if body.follow_up is not None:
        p.require("tasks", "create")
    c = await visible_customer(session, p, body.customer_id, "customer_id")
    data = body.model_dump(exclude_unset=True, exclude={"customer_id", "follow_up"})
    errors: list[FieldError] = []
    out = await _clean_interaction(session, p, data, c, errors, creating=True)
    plan = None
    if body.follow_up is not None:
        plan = await _clean_task(session, p, body.follow_up.model_dump(exclude_unset=True), None, errors,
                                 prefix="follow_up.", customer=c)
    if errors:
        raise validation_error(errors)
    now = utcnow()
    i = Interaction(workspace_id=p.workspace_id, customer_id=c.id, created_by=p.user_id, created_at=now,
                    updated_at=now, version=1, direction="outbound", occurred_at=now, user_id=p.user_id,
                    contact_ids=[])
    for k, v in out.items():
        setattr(i, k, v)
    session.add(i)
    await session.flush()
    labels = await channel_labels(session, p.workspace_id)
    audit.change(session, p, "create", "interaction", i.id, _interaction_label(c, i, labels),
                 audit.diff({}, {k: v for k, v in _interaction_snapshot(i).items() if v not in (None, [])}),
                 customer_id=c.id)
    await repo.refresh_last_contacted(session, c.id)
    task = None
    if plan is not None:
        plan.values.update(related_type="interaction", related_id=i.id)
        task = await _insert_task(session, p, plan)
    return i, task


async def update_interaction(session: AsyncSession, p: Principal, interaction_id: int, body: s.InteractionUpdate,
                             if_match: str | None) -> Interaction:
    p.require("activities", "edit")
    i = await repo.get_interaction(session, p, interaction_id)
    if i is None:
        raise not_found()
    expected = parse_if_match(if_match)
    c = await session.get(Customer, i.customer_id)
    assert c is not None
    errors: list[FieldError] = []
    out = await _clean_interaction(session, p, body.model_dump(exclude_unset=True), c, errors, creating=False)
    if errors:
        raise validation_error(errors)
    if i.version != expected:
        raise Problem(412, "precondition_failed")
    before = _interaction_snapshot(i)
    for k, v in out.items():
        setattr(i, k, v)
    changes = audit.diff(before, _interaction_snapshot(i))
    if not changes:
        return i
    await bump_version(session, i, expected)
    await session.flush()
    labels = await channel_labels(session, p.workspace_id)
    audit.change(session, p, "update", "interaction", i.id, _interaction_label(c, i, labels), changes,
                 customer_id=c.id)
    if "occurred_at" in out:
        await repo.refresh_last_contacted(session, c.id)
    return i


async def delete_interaction(session: AsyncSession, p: Principal, interaction_id: int) -> None:
    p.require("activities", "delete")
    i = await repo.get_interaction(session, p, interaction_id)
    if i is None:
        raise not_found()
    c = await session.get(Customer, i.customer_id)
    assert c is not None
    i.deleted_at = utcnow()
    i.version += 1
    await session.flush()
    audit.change(session, p, "delete", "interaction", i.id,
                 _interaction_label(c, i, await channel_labels(session, p.workspace_id)), customer_id=c.id)
    await repo.refresh_last_contacted(session, c.id)


async def restore_interaction(session: AsyncSession, p: Principal, interaction_id: int) -> Interaction:
    p.require("activities", "delete")
    i = await repo.get_interaction(session, p, interaction_id, deleted=True)
    if i is None:
        raise not_found()
    c = await session.get(Customer, i.customer_id)
    assert c is not None
    i.deleted_at = None
    i.version += 1
    i.updated_at = utcnow()
    await session.flush()
    audit.change(session, p, "restore", "interaction", i.id,
                 _interaction_label(c, i, await channel_labels(session, p.workspace_id)), customer_id=c.id)
    await repo.refresh_last_contacted(session, c.id)
    return i


# ------------------------------------------------------------------ attachments


async def add_attachment(session: AsyncSession, p: Principal, interaction_id: int, src: BinaryIO,
                         filename: str | None, *, root: Path, max_bytes: int) -> Attachment:
    p.require("activities", "edit")
    i = await repo.get_interaction(session, p, interaction_id)
    if i is None:
        raise not_found()
    files.check_name(filename)  # a forbidden name is refused before a byte is copied
    count = await session.scalar(select(func.count()).select_from(Attachment)
                                 .where(Attachment.interaction_id == i.id)) or 0
    if count >= MAX_ATTACHMENTS:
        raise Problem(409, "too_many_attachments")
    stored = await anyio.to_thread.run_sync(
        lambda: files.store(src, filename, root=root, workspace_id=p.workspace_id, max_bytes=max_bytes))
    a = Attachment(workspace_id=p.workspace_id, interaction_id=i.id, filename=stored.filename,
                   content_type=stored.content_type, size=stored.size, sha256=stored.sha256,
                   storage_path=stored.storage_path, created_at=utcnow(), created_by=p.user_id)
    session.add(a)
    await session.flush()
    c = await session.get(Customer, i.customer_id)
    audit.change(session, p, "create", "attachment", a.id, f"{c.name if c else ''} · {a.filename}",
                 audit.diff({}, {"filename": a.filename, "size": a.size, "content_type": a.content_type}),
                 {"interaction_id": i.id}, customer_id=i.customer_id)
    return a


async def get_attachment(session: AsyncSession, p: Principal, interaction_id: int, attachment_id: int) -> Attachment:
    p.require("activities", "view")
    row = (await session.execute(
        select(Attachment).join(Interaction, Interaction.id == Attachment.interaction_id)
        .where(Attachment.id == attachment_id, Interaction.id == interaction_id, Interaction.deleted_at.is_(None),
               interaction_scope(p))
    )).scalars().first()
    if row is None:
        raise not_found()
    return row


async def delete_attachment(session: AsyncSession, p: Principal, interaction_id: int, attachment_id: int, *,
                            root: Path) -> None:
    p.require("activities", "edit")
    a = await get_attachment(session, p, interaction_id, attachment_id)
    i = await session.get(Interaction, interaction_id)
    c = await session.get(Customer, i.customer_id) if i else None
    others = await session.scalar(select(func.count()).select_from(Attachment).where(
        Attachment.workspace_id == a.workspace_id, Attachment.storage_path == a.storage_path, Attachment.id != a.id))
    audit.change(session, p, "delete", "attachment", a.id, f"{c.name if c else ''} · {a.filename}", None,
                 {"interaction_id": interaction_id}, customer_id=c.id if c else None)
    path = a.storage_path
    await session.delete(a)
    if not others:  # the bytes go only once the row is gone for good, and only when no other row names them
        after_commit(session, lambda: files.remove(root, path))


# ------------------------------------------------------------------ tasks

TASK_FIELDS = ("title", "description", "due_at", "assignee_id", "team_id", "customer_id", "related_type", "related_id",
               "priority", "status", "completed_at", "remind_before_minutes", "repeat")


@dataclass
class TaskPlan:
    values: dict[str, Any]
    customer: Customer | None
    assignee: Principal | None  # set when the task gets a (new) assignee


def _task_snapshot(t: Task) -> dict[str, Any]:
    return {f: getattr(t, f) for f in TASK_FIELDS}


async def _clean_task(session: AsyncSession, p: Principal, data: dict[str, Any], existing: Task | None,
                      errors: list[FieldError], *, prefix: str = "", customer: Customer | None = None) -> TaskPlan:
    """Validate a task body; `customer` fixes the customer (a follow-up of an interaction)."""
    out: dict[str, Any] = {}
    if "title" in data:
        title = clean_text(data["title"])
        if not title:
            errors.append(FieldError(prefix + "title", "required"))
        out["title"] = title
    if "description" in data:
        out["description"] = clean_text(data["description"])
    if "due_at" in data:
        if data["due_at"] is None:
            errors.append(FieldError(prefix + "due_at", "required"))
        out["due_at"] = data["due_at"]
    for f, default in (("priority", "normal"), ("status", "open"), ("repeat", "none")):
        if f in data:
            out[f] = data[f] or default
    if "remind_before_minutes" in data:
        out["remind_before_minutes"] = data["remind_before_minutes"]
    if "related_type" in data or "related_id" in data:
        rt = data.get("related_type", existing.related_type if existing else None)
        rid = data.get("related_id", existing.related_id if existing else None)
        if (rt is None) != (rid is None):
            errors.append(FieldError(prefix + ("related_id" if rid is None else "related_type"), "required"))
        out["related_type"], out["related_id"] = rt, rid
    cust = customer
    customer_changed = False
    if customer is None:
        if "customer_id" in data:
            customer_changed = True
            if data["customer_id"] is not None:
                cust = await visible_customer(session, p, data["customer_id"], prefix + "customer_id")
            out["customer_id"] = cust.id if cust else None
        elif existing is not None and existing.customer_id is not None:
            cust = await session.get(Customer, existing.customer_id)
    else:
        out["customer_id"] = customer.id
    assignee: Principal | None = None
    if existing is None or "assignee_id" in data or (customer_changed and cust is not None):
        uid = data.get("assignee_id") if "assignee_id" in data else (existing.assignee_id if existing else None)
        uid = uid or p.user_id
        q = await principal_for(session, p.workspace_id, uid)
        if q is None:
            errors.append(FieldError(prefix + "assignee_id", "invalid_user"))
        elif not q.can("tasks", "view") or (cust is not None and not sees_customer(q, cust)):
            errors.append(FieldError(prefix + "assignee_id", "assignee_cannot_see"))
        else:
            out["assignee_id"], out["team_id"] = q.user_id, q.team_id
            if existing is None or existing.assignee_id != q.user_id:
                assignee = q
    return TaskPlan(out, cust, assignee)


async def _tz_of(session: AsyncSession, user_id: int | None, fallback: str) -> str:
    if user_id is None:
        return fallback
    return await session.scalar(select(User.timezone).where(User.id == user_id)) or fallback


def _derive(t: Task, tz: str, *, anchor: bool) -> None:
    """remind_at from due_at and the lead time; with `anchor`, the day of the month a monthly repeat keeps
    (taken from due_at when the due date or the repeat is set, so a rolled-over Feb 28 still means "the 31st")."""
    remind_at = t.due_at - timedelta(minutes=t.remind_before_minutes) if t.remind_before_minutes is not None else None
    if remind_at != t.remind_at:
        t.remind_at, t.reminded_at = remind_at, None
    if t.repeat != "monthly":
        t.repeat_day = None
    elif anchor or t.repeat_day is None:
        t.repeat_day = local_day_of(t.due_at, tz)


def _notify_assignee(session: AsyncSession, p: Principal, t: Task, q: Principal) -> None:
    title = t.title
    notify(session, p, [Recipient(q.user_id, q.language)], kind="task_assigned",
           title=lambda lang: (f"{p.name} assigned you a task: {title}" if lang == "en"
                               else f"{p.name} 给你分配了待办：{title}"),
           body=excerpt(t.description, 200) or None, link=f"/tasks/{t.id}", record_type="task", record_id=t.id)


async def _insert_task(session: AsyncSession, p: Principal, plan: TaskPlan) -> Task:
    now = utcnow()
    t = Task(workspace_id=p.workspace_id, created_by=p.user_id, created_at=now, updated_at=now, version=1,
             priority="normal", status="open", repeat="none", assignee_id=p.user_id)
    status = plan.values.pop("status", "open")
    for k, v in plan.values.items():
        setattr(t, k, v)
    tz = plan.assignee.timezone if plan.assignee else await _tz_of(session, t.assignee_id, p.timezone)
    _derive(t, tz, anchor=True)
    if status == "done":
        t.status, t.completed_at = "done", now
    elif status == "cancelled":
        t.status = "cancelled"
    session.add(t)
    await session.flush()
    audit.change(session, p, "create", "task", t.id, t.title,
                 audit.diff({}, {k: v for k, v in _task_snapshot(t).items() if v not in (None, [])}),
                 customer_id=t.customer_id)
    if plan.assignee is not None:
        _notify_assignee(session, p, t, plan.assignee)
    return t


async def tasks_out(session: AsyncSession, rows: list[Task]) -> list[s.Task]:
    users = await repo.user_names(session, [r.assignee_id for r in rows])
    customers = await repo.customer_names(session, [r.customer_id for r in rows])
    now = utcnow()
    return [
        s.Task(id=r.id, title=r.title, description=r.description, due_at=r.due_at, assignee_id=r.assignee_id,
               assignee_name=users.get(r.assignee_id) if r.assignee_id else None, team_id=r.team_id,
               customer_id=r.customer_id, customer_name=customers.get(r.customer_id) if r.customer_id else None,
               related_type=r.related_type, related_id=r.related_id, priority=r.priority, status=r.status,
               completed_at=r.completed_at, remind_before_minutes=r.remind_before_minutes, remind_at=r.remind_at,
               reminded_at=r.reminded_at, repeat=r.repeat, previous_id=r.previous_id,
               overdue=r.status == "open" and r.due_at < now, version=r.version, created_at=r.created_at,
               updated_at=r.updated_at, created_by=r.created_by, deleted_at=r.deleted_at)
        for r in rows
    ]


async def get_task(session: AsyncSession, p: Principal, task_id: int, *, deleted: bool | None = False) -> Task:
    p.require("tasks", "view")
    t = await repo.get_task(session, p, task_id, deleted=deleted)
    if t is None:
        raise not_found()
    return t


def bucket_clause(bucket: str, tz: str, now: datetime) -> list[ColumnElement[bool]]:
    """Open tasks overdue (due before now), due later today, or due from tomorrow on, in the caller's time zone."""
    tomorrow = day_start(local_today(tz, now) + timedelta(days=1), tz)
    where: list[ColumnElement[bool]] = [Task.status == "open"]
    if bucket == "overdue":
        where.append(Task.due_at < now)
    elif bucket == "today":
        where += [Task.due_at >= now, Task.due_at < tomorrow]
    else:
        where.append(Task.due_at >= tomorrow)
    return where


async def list_tasks(
    session: AsyncSession, p: Principal, *, assignee_id: int | None, customer_id: int | None, status: str | None,
    due_from: datetime | None, due_to: datetime | None, bucket: str | None, mine: bool, deleted: bool,
    sort: str, limit: int | None, cursor: str | None, page_size: int | None = None, count_cap: int | None = None,
) -> tuple[list[Task], str | None, int, bool]:
    """`page_size` and `count_cap` let an export walk in bigger pages and count further than the API list."""
    p.require("tasks", "delete" if deleted else "view")
    where = [task_scope(p), _bin(Task, deleted)]
    if mine:
        where.append(Task.assignee_id == p.user_id)
    if assignee_id is not None:
        where.append(Task.assignee_id == assignee_id)
    if customer_id is not None:
        where.append(Task.customer_id == customer_id)
    if status:
        where.append(Task.status == status)
    if due_from is not None:
        where.append(Task.due_at >= due_from)
    if due_to is not None:
        where.append(Task.due_at <= due_to)
    if bucket:
        where += bucket_clause(bucket, p.timezone, utcnow())
    n = page_size or clamp_limit(limit)
    rows, nxt = await repo.time_page(session, select(Task).where(*where), Task, "due_at", desc=sort.startswith("-"),
                                     limit=n, cursor=cursor)
    if cursor is None and nxt is None:
        return rows, nxt, len(rows), False
    total, capped = await repo.capped_count(session, Task, where, count_cap)
    return rows, nxt, total, capped


async def my_work(session: AsyncSession, p: Principal, scope: str) -> s.MyWork:
    p.require("tasks", "view")
    now = utcnow()
    base = [task_scope(p), Task.deleted_at.is_(None)]
    if scope == "mine":
        base.append(Task.assignee_id == p.user_id)
    buckets: dict[str, s.WorkBucket] = {}
    for name in ("overdue", "today", "upcoming"):
        where = base + bucket_clause(name, p.timezone, now)
        rows = list(await session.scalars(select(Task).where(*where).order_by(Task.due_at, Task.id)
                                          .limit(WORK_ITEMS)))
        if len(rows) < WORK_ITEMS:
            total, capped = len(rows), False
        else:
            total, capped = await repo.capped_count(session, Task, where)
        buckets[name] = s.WorkBucket(count=total, capped=capped, items=await tasks_out(session, rows))
    return s.MyWork(scope=scope, time_zone=p.timezone, **buckets)  # type: ignore[arg-type]


async def create_task(session: AsyncSession, p: Principal, body: s.TaskCreate) -> Task:
    p.require("tasks", "create")
    errors: list[FieldError] = []
    plan = await _clean_task(session, p, body.model_dump(exclude_unset=True), None, errors)
    if errors:
        raise validation_error(errors)
    return await _insert_task(session, p, plan)


def _next_due(t: Task, due: datetime, tz: str) -> datetime:
    if t.repeat == "daily":
        return add_days_local(due, 1, tz)
    if t.repeat == "weekly":
        return add_days_local(due, 7, tz)
    return add_month_local(due, t.repeat_day or local_day_of(due, tz), tz)


async def _roll_over(session: AsyncSession, p: Principal, t: Task, tz: str) -> Task | None:
    """The next occurrence of a repeating task that was just done: due after the last one and after now."""
    if t.repeat == "none":
        return None
    if await session.scalar(select(Task.id).where(Task.previous_id == t.id, Task.deleted_at.is_(None))):
        return None  # done, reopened and done again: the next occurrence exists already
    now = utcnow()
    due = _next_due(t, t.due_at, tz)
    if t.repeat in ("daily", "weekly") and due <= now:  # skip whole missed periods at once
        step = 1 if t.repeat == "daily" else 7
        periods = (now - due).days // step
        due = add_days_local(due, periods * step, tz)
    while due <= now:
        due = _next_due(t, due, tz)
    nt = Task(workspace_id=t.workspace_id, created_by=p.user_id, created_at=now, updated_at=now, version=1,
              title=t.title, description=t.description, due_at=due, assignee_id=t.assignee_id, team_id=t.team_id,
              customer_id=t.customer_id, related_type=t.related_type, related_id=t.related_id, priority=t.priority,
              status="open", remind_before_minutes=t.remind_before_minutes, repeat=t.repeat, previous_id=t.id,
              repeat_day=t.repeat_day)  # the anchor survives short months: Jan 31 → Feb 28 → Mar 31
    _derive(nt, tz, anchor=False)
    session.add(nt)
    await session.flush()
    audit.change(session, p, "create", "task", nt.id, nt.title,
                 audit.diff({}, {k: v for k, v in _task_snapshot(nt).items() if v not in (None, [])}),
                 {"previous_id": t.id}, customer_id=nt.customer_id)
    return nt


def _set_status(t: Task, status: str) -> None:
    t.status = status
    t.completed_at = utcnow() if status == "done" else None


async def _bump(session: AsyncSession, t: Task, expected: int | None) -> None:
    """The version check and bump in one statement (PATCH); actions without If-Match just bump."""
    if expected is not None:
        await bump_version(session, t, expected)
    else:
        t.version += 1
        t.updated_at = utcnow()


async def update_task(session: AsyncSession, p: Principal, task_id: int, body: s.TaskUpdate,
                      if_match: str | None) -> tuple[Task, Task | None]:
    p.require("tasks", "edit")
    t = await repo.get_task(session, p, task_id)
    if t is None:
        raise not_found()
    expected = parse_if_match(if_match)
    errors: list[FieldError] = []
    plan = await _clean_task(session, p, body.model_dump(exclude_unset=True), t, errors)
    if errors:
        raise validation_error(errors)
    if t.version != expected:
        raise Problem(412, "precondition_failed")
    before = _task_snapshot(t)
    status = plan.values.pop("status", None)
    for k, v in plan.values.items():
        setattr(t, k, v)
    tz = plan.assignee.timezone if plan.assignee else await _tz_of(session, t.assignee_id, p.timezone)
    _derive(t, tz, anchor="due_at" in plan.values or "repeat" in plan.values)
    if status is not None and status != t.status:
        _set_status(t, status)
    changes = audit.diff(before, _task_snapshot(t))
    if not changes:
        return t, None
    await _bump(session, t, expected)
    await session.flush()
    action = "complete" if status == "done" and before["status"] != "done" else "update"
    audit.change(session, p, action, "task", t.id, t.title, changes, customer_id=t.customer_id)
    nxt = await _roll_over(session, p, t, tz) if action == "complete" else None
    if plan.assignee is not None:
        _notify_assignee(session, p, t, plan.assignee)
    return t, nxt


async def complete_task(session: AsyncSession, p: Principal, task_id: int) -> tuple[Task, Task | None]:
    """Done (and the next occurrence of a repeating task). Completing a done task changes nothing."""
    p.require("tasks", "edit")
    t = await repo.get_task(session, p, task_id)
    if t is None:
        raise not_found()
    if t.status == "done":
        return t, None
    before = _task_snapshot(t)
    _set_status(t, "done")
    await _bump(session, t, None)
    await session.flush()
    audit.change(session, p, "complete", "task", t.id, t.title, audit.diff(before, _task_snapshot(t)),
                 customer_id=t.customer_id)
    return t, await _roll_over(session, p, t, await _tz_of(session, t.assignee_id, p.timezone))


async def reopen_task(session: AsyncSession, p: Principal, task_id: int) -> Task:
    p.require("tasks", "edit")
    t = await repo.get_task(session, p, task_id)
    if t is None:
        raise not_found()
    if t.status == "open":
        return t
    before = _task_snapshot(t)
    _set_status(t, "open")
    await _bump(session, t, None)
    audit.change(session, p, "reopen", "task", t.id, t.title, audit.diff(before, _task_snapshot(t)),
                 customer_id=t.customer_id)
    return t


async def delete_task(session: AsyncSession, p: Principal, task_id: int) -> None:
    p.require("tasks", "delete")
    t = await repo.get_task(session, p, task_id)
    if t is None:
        raise not_found()
    t.deleted_at = utcnow()
    t.version += 1
    audit.change(session, p, "delete", "task", t.id, t.title, customer_id=t.customer_id)


async def restore_task(session: AsyncSession, p: Principal, task_id: int) -> Task:
    p.require("tasks", "delete")
    t = await repo.get_task(session, p, task_id, deleted=True)
    if t is None:
        raise not_found()
    t.deleted_at = None
    t.version += 1
    t.updated_at = utcnow()
    audit.change(session, p, "restore", "task", t.id, t.title, customer_id=t.customer_id)
    return t


# ------------------------------------------------------------------ notes

MENTION = re.compile(r"@\[([^\]\n]{1,100})\]\(user:(\d{1,20})\)")
MAX_MENTIONS = 50


def parse_mentions(body: str) -> list[int]:
    """User ids of `@[name](user:ID)` tokens, in order, once each."""
    return list(dict.fromkeys(int(m.group(2)) for m in MENTION.finditer(body)))


async def _clean_mentions(session: AsyncSession, p: Principal, customer: Customer, body: str,
                          explicit: list[int] | None, errors: list[FieldError], *,
                          kept: Sequence[int] = ()) -> list[Principal]:
    """Every mentioned colleague must be an active user who may read notes on this customer.

    `kept` are earlier explicit mentions an edit did not resend: they stay while still valid, silently.
    """
    wanted: list[tuple[str | None, int]] = [("body", uid) for uid in parse_mentions(body)]
    wanted += [(f"mentions.{n}", uid) for n, uid in enumerate(explicit or [])]
    wanted += [(None, uid) for uid in kept]
    out: dict[int, Principal] = {}
    for field, uid in wanted:
        if uid in out:
            continue
        if len(out) >= MAX_MENTIONS:
            errors.append(FieldError("mentions", "too_long"))
            break
        q = await principal_for(session, p.workspace_id, uid) if 0 < uid <= ID_MAX else None
        if q is not None and q.can("activities", "view") and sees_customer(q, customer):
            out[uid] = q
        elif field is not None:
            errors.append(FieldError(field, "invalid_user" if q is None else "mention_cannot_see"))
    return list(out.values())


def _notify_mentions(session: AsyncSession, p: Principal, c: Customer, note: Note, people: list[Principal]) -> None:
    name = c.name
    notify(session, p, [Recipient(q.user_id, q.language) for q in people], kind="mention",
           title=lambda lang: (f"{p.name} mentioned you in a note on {name}" if lang == "en"
                               else f"{p.name} 在「{name}」的备注中提到了你"),
           body=excerpt(MENTION.sub(lambda m: "@" + m.group(1), note.body), 200),
           link=f"/customers/{c.id}/notes/{note.id}", record_type="note", record_id=note.id)  # opens on the note


def _note_label(c: Customer, note: Note) -> str:
    return f"{c.name} · {excerpt(note.body, 40)}"


def _may_change(p: Principal, note: Note) -> bool:
    return p.is_admin or note.created_by == p.user_id


async def notes_out(session: AsyncSession, p: Principal, rows: list[Note]) -> list[s.Note]:
    names = await repo.user_names(session, [r.created_by for r in rows] + [u for r in rows for u in r.mentions])
    return [
        s.Note(id=r.id, customer_id=r.customer_id, body=r.body, mentions=r.mentions,
               mentioned=[s.UserRef(id=u, name=names[u]) for u in r.mentions if u in names], author_id=r.created_by,
               author_name=names.get(r.created_by) if r.created_by else None,
               can_edit=_may_change(p, r) and p.can("activities", "edit"), version=r.version,
               created_at=r.created_at, updated_at=r.updated_at, deleted_at=r.deleted_at)
        for r in rows
    ]


async def list_notes(session: AsyncSession, p: Principal, customer_id: int, *, limit: int | None,
                     cursor: str | None) -> tuple[list[Note], str | None]:
    """Newest first; readable while the customer is in the recycle bin, like its contacts and history."""
    p.require("activities", "view")
    c = await customers_repo.get(session, p, customer_id, deleted=None)
    if c is None:
        raise not_found()
    q = select(Note).where(Note.customer_id == c.id, Note.workspace_id == p.workspace_id, Note.deleted_at.is_(None))
    return await repo.id_page(session, q, Note, limit=clamp_limit(limit), cursor=cursor)


async def create_note(session: AsyncSession, p: Principal, customer_id: int, body: s.NoteCreate) -> Note:
    p.require("activities", "create")
    c = await visible_customer(session, p, customer_id)
    text = clean_text(body.body)
    errors: list[FieldError] = []
    if not text:
        errors.append(FieldError("body", "required"))
    people = await _clean_mentions(session, p, c, text or "", body.mentions, errors)
    if errors:
        raise validation_error(errors)
    assert text is not None
    now = utcnow()
    note = Note(workspace_id=p.workspace_id, customer_id=c.id, body=text, mentions=[q.user_id for q in people],
                created_by=p.user_id, created_at=now, updated_at=now, version=1)
    session.add(note)
    await session.flush()
    audit.change(session, p, "create", "note", note.id, _note_label(c, note),
                 audit.diff({}, {"body": note.body, "mentions": note.mentions or None}), customer_id=c.id)
    _notify_mentions(session, p, c, note, people)
    return note


async def _own_note(session: AsyncSession, p: Principal, customer_id: int, note_id: int, action: str,
                    deleted: bool = False) -> tuple[Note, Customer]:
    p.require("activities", action)
    c = await visible_customer(session, p, customer_id)
    note = await repo.get_note(session, p, c.id, note_id, deleted=deleted)
    if note is None:
        raise not_found()
    if not _may_change(p, note):
        raise forbidden()
    return note, c


async def update_note(session: AsyncSession, p: Principal, customer_id: int, note_id: int, body: s.NoteUpdate,
                      if_match: str | None) -> Note:
    note, c = await _own_note(session, p, customer_id, note_id, "edit")
    expected = parse_if_match(if_match)
    data = body.model_dump(exclude_unset=True)
    errors: list[FieldError] = []
    text = note.body
    if "body" in data:
        text = clean_text(data["body"]) or ""
        if not text:
            errors.append(FieldError("body", "required"))
    people: list[Principal] | None = None
    if "body" in data or "mentions" in data:
        # mentions = the body's tokens + the explicit list; an update without `mentions` keeps the explicit ones
        kept = [] if "mentions" in data else [u for u in note.mentions if u not in set(parse_mentions(note.body))]
        people = await _clean_mentions(session, p, c, text, data.get("mentions"), errors, kept=kept)
    if errors:
        raise validation_error(errors)
    if note.version != expected:
        raise Problem(412, "precondition_failed")
    before = {"body": note.body, "mentions": note.mentions}
    note.body = text
    newly: list[Principal] = []
    if people is not None:
        newly = [q for q in people if q.user_id not in set(note.mentions)]
        note.mentions = [q.user_id for q in people]
    changes = audit.diff(before, {"body": note.body, "mentions": note.mentions})
    if not changes:
        return note
    await bump_version(session, note, expected)
    audit.change(session, p, "update", "note", note.id, _note_label(c, note), changes, customer_id=c.id)
    if newly:
        _notify_mentions(session, p, c, note, newly)  # only colleagues mentioned for the first time
    return note


async def delete_note(session: AsyncSession, p: Principal, customer_id: int, note_id: int) -> None:
    note, c = await _own_note(session, p, customer_id, note_id, "delete")
    note.deleted_at = utcnow()
    note.version += 1
    audit.change(session, p, "delete", "note", note.id, _note_label(c, note), customer_id=c.id)


async def restore_note(session: AsyncSession, p: Principal, customer_id: int, note_id: int) -> Note:
    note, c = await _own_note(session, p, customer_id, note_id, "delete", deleted=True)
    note.deleted_at = None
    note.version += 1
    note.updated_at = utcnow()
    audit.change(session, p, "restore", "note", note.id, _note_label(c, note), customer_id=c.id)
    return note

