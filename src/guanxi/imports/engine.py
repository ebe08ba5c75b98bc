"""The import engine: one batch of records at a time, cleaned, checked for duplicates, written with Core statements.

The same code answers the preview (clean + duplicate checks, no writes) and runs the import. A batch is written in
one transaction together with its checkpoint (see `runner.py`): every customer row, its identities, its search
document, one audit row and one domain event per record — exactly what the app writes for a record created or
updated by hand, only as multi-row inserts instead of one ORM object at a time.

Duplicates (customers): against live customers through `customer_identities` (normalised phone, email, and the
name-in-city key from `name_identity`), one `kind = ? AND value IN (...)` lookup per kind per batch; within the
file through the same lookup (records of earlier batches are committed already, and their ids are remembered as
this import's own) and a dict for the batch itself.
"""

from __future__ import annotations

import bisect
import re
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import JSON, bindparam, delete, func, insert, select, text, update
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import NullType

from guanxi.accounts.models import User, Workspace
from guanxi.activities.models import Interaction, Task
from guanxi.audit.models import AuditEntry, DomainEvent
from guanxi.audit.service import _plain, diff, past
from guanxi.authz.core import Principal, owner_in_scope
from guanxi.customers import schemas as cs
from guanxi.customers.models import Contact, Customer, CustomerIdentity, CustomFieldDef, SourceChannel
from guanxi.customers.service import ENUM_LABELS, SOURCE_LABELS, TEXT_FIELDS
from guanxi.dedupe import repository as dedupe_repo
from guanxi.dedupe.models import ContactIdentity
from guanxi.imports import clean
from guanxi.imports.fields import specs
from guanxi.kit import search
from guanxi.kit.errors import FieldError
from guanxi.kit.i18n import t
from guanxi.kit.models import utcnow
from guanxi.kit.normalize import PhoneError, clean_text, name_identity, name_key
from guanxi.kit.timeutil import DEFAULT_TZ

BATCH = 5000
MAX_LEN = {"name": 200, "industry": 50, "province": 30, "city": 30, "district": 30, "address": 300, "wechat": 64,
           "website": 300, "notes": 5000, "title": 100, "subject": 200, "summary": 20000, "outcome": 1000,
           "next_step": 1000, "description": 5000}
_WEBSITE = re.compile(r"^(https?://)?[\w.-]+\.[a-z]{2,}(/\S*)?$", re.IGNORECASE)  # as customers.service checks it
FUTURE_SLACK = timedelta(days=1)
# a task made in the app reminds its assignee an hour before it is due unless told otherwise (TaskFormDialog)
DEFAULT_REMIND = 60
MAX_REMIND = 10080  # a week, as TaskCreate allows
NO_REMINDER = frozenset({"不提醒", "无", "否", "none", "no", "-"})
IDS: Any = bindparam("ids", expanding=True)


@dataclass
class Dup:
    reason: str  # phone email name in_file record
    existing_id: int | None = None
    existing_name: str | None = None
    line: int | None = None
    visible: bool = True


@dataclass
class Row:
    line: int
    cells: list[str]
    values: dict[str, Any] = field(default_factory=dict)
    shown: dict[str, str | None] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)
    identities: list[tuple[str, str]] = field(default_factory=list)
    dup: Dup | None = None
    action: str = "create"
    target_id: int | None = None  # the record an update changes
    merge_into: Row | None = None  # an earlier row of the same batch this one updates
    customer: Any = None  # the customer row a contact, interaction or task belongs to
    prep: Prepared | None = None  # a new customer's row, built ahead (see `prepare_customer`)


@dataclass(frozen=True)
class FieldDef:
    """What cleaning needs of a custom field's definition: a plain copy, so a context can go to another process."""

    key: str
    type: str
    options: list[dict[str, str]]
    required: bool
    label: str
    label_en: str | None


@dataclass
class Ctx:
    p: Principal
    type: str
    lang: str
    mode: str
    columns: list[tuple[int, str]]  # (column index, field key)
    fill: bool = True  # an update fills the record's empty fields only (else the file's non-empty values win)
    tz: str = DEFAULT_TZ
    defs: dict[str, FieldDef] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)
    channel_labels: dict[str, str] = field(default_factory=dict)
    users: dict[str, tuple[int, int | None] | None] = field(default_factory=dict)
    user_names: dict[int, str] = field(default_factory=dict)
    my_team: int | None = None
    may_assign: bool = False
    # ids this import created, in order, with the line each came from: duplicates of them are "in the file"
    created_ids: array = field(default_factory=lambda: array("q"))
    created_lines: array = field(default_factory=lambda: array("q"))
    options: dict[str, dict[str, str]] = field(default_factory=dict)  # custom select options by folded label
    required_custom: list[str] = field(default_factory=list)  # required custom fields the mapping fills
    principals: dict[int, Principal | None] = field(default_factory=dict)  # task assignees, as the app sees them
    # identity values of this batch that live customers hold already (from the duplicate lookup)
    held: set[tuple[str, str]] = field(default_factory=set)
    # cleaned cells by column and raw text (see `_memo`): stage, owner, dates, options repeat on every row
    memo: dict[str, dict[Any, tuple[Any, tuple[tuple[str, str], ...]]]] = field(default_factory=dict)

    def err(self, row: Row, field_: str, code: str) -> None:
        row.errors.append(FieldError(field_, code, t(code, self.lang)))

    def created_line(self, record_id: int) -> int | None:
        i = bisect.bisect_left(self.created_ids, record_id)
        if i < len(self.created_ids) and self.created_ids[i] == record_id:
            return int(self.created_lines[i])
        return None

    def remember(self, ids: list[int], lines: list[int]) -> None:
        if ids and self.created_ids and ids[0] < self.created_ids[-1]:  # keep it sorted (PostgreSQL sequences)
            pairs = sorted(zip(list(self.created_ids) + ids, list(self.created_lines) + lines, strict=True))
            self.created_ids = array("q", [a for a, _ in pairs])
            self.created_lines = array("q", [b for _, b in pairs])
            return
        self.created_ids.extend(ids)
        self.created_lines.extend(lines)


def _opt_map(pairs: dict[str, tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value, (zh, en) in pairs.items():
        for k in (value, zh, en):
            out[clean.fold(k)] = value
    return out


KIND = _opt_map(ENUM_LABELS["kind"]) | {clean.fold(k): "company" for k in ("企业", "公司", "单位")} | {
    clean.fold(k): "person" for k in ("个人", "自然人")}
STAGE = _opt_map(ENUM_LABELS["stage"])
GRADE = _opt_map(ENUM_LABELS["grade"]) | {clean.fold(f"{g}级"): g for g in cs.GRADES} | {
    clean.fold(f"{g}类客户"): g for g in cs.GRADES}
SIZE = _opt_map(ENUM_LABELS["size"])
PRIORITY = {clean.fold(k): v for v, ks in {"low": ("low", "低", "不紧急"), "normal": ("normal", "普通", "中", "一般"),
                                          "high": ("high", "高", "重要"), "urgent": ("urgent", "紧急", "非常紧急")}.items()
            for k in ks}
DIRECTION = {clean.fold(k): v for v, ks in {"inbound": ("inbound", "in", "呼入", "来电", "客户来访", "收到"),
                                           "outbound": ("outbound", "out", "呼出", "去电", "拜访", "发出")}.items()
             for k in ks}


async def load_context(session: AsyncSession, p: Principal, import_type: str, lang: str, mode: str,
                       headers: list[str], mapping: dict[str, str | None], update_fields: str = "fill") -> Ctx:
    columns = [(i, mapping[h]) for i, h in enumerate(headers) if mapping.get(h)]
    ctx = Ctx(p=p, type=import_type, lang=lang, mode=mode, columns=columns,  # type: ignore[arg-type]
              fill=update_fields != "overwrite")
    ctx.may_assign = p.can_reassign
    ws = await session.get(Workspace, p.workspace_id)
    ctx.tz = str(((ws.settings if ws else None) or {}).get("timezone") or DEFAULT_TZ)
    ctx.my_team = p.team_id
    users = (await session.execute(select(User.id, User.name, User.email, User.team_id)
                                   .where(User.workspace_id == p.workspace_id, User.active))).all()
    for uid, name, email, team_id in users:
        ctx.user_names[uid] = name
        ctx.users[clean.fold(email)] = (uid, team_id)
        key = clean.fold(name)
        ctx.users[key] = None if key in ctx.users and ctx.users[key] != (uid, team_id) else (uid, team_id)
    if import_type == "customers":
        defs = await session.scalars(select(CustomFieldDef).where(CustomFieldDef.workspace_id == p.workspace_id,
                                                                  CustomFieldDef.entity == "customer"))
        ctx.defs = {d.key: FieldDef(d.key, d.type, list(d.options or []), bool(d.required), d.label, d.label_en)
                    for d in defs}
        mapped = {k for _, k in columns}
        ctx.required_custom = [d.key for d in ctx.defs.values() if d.required and f"custom.{d.key}" in mapped]
        ctx.sources = _opt_map(SOURCE_LABELS)
        for key, label in (await session.execute(select(SourceChannel.key, SourceChannel.label)
                                                 .where(SourceChannel.workspace_id == p.workspace_id))).all():
            ctx.sources[clean.fold(key)] = key
            ctx.sources[clean.fold(label)] = key
    if import_type == "interactions":
        from guanxi.activities.service import channel_labels

        labels = await channel_labels(session, p.workspace_id)
        for key, (zh, en) in labels.items():
            ctx.channel_labels[key] = zh
            for k in (key, zh, en or ""):
                if k:
                    ctx.channels[clean.fold(k)] = key
        ctx.channels.setdefault(clean.fold("电话"), "phone") if "phone" in labels else None
    return ctx


# ------------------------------------------------------------------ cleaning one record


def _user(ctx: Ctx, row: Row, key: str, raw: str) -> tuple[int, int | None] | None:
    hit = ctx.users.get(clean.fold(raw))
    if hit is None:
        ctx.err(row, key, "invalid_user")
    return hit


def _text(ctx: Ctx, row: Row, key: str, raw: str) -> str | None:
    v = clean_text(raw)
    if v is not None and len(v) > MAX_LEN.get(key, 2000):
        ctx.err(row, key, "too_long")
    return v


def clean_row(ctx: Ctx, line: int, cells: list[str], *, show: bool = False) -> Row:
    """One record's values, problems and duplicate keys; `show` adds the values as text (preview)."""
    row = Row(line, cells)
    raw: dict[str, list[str]] = {}
    n = len(cells)
    for i, key in ctx.columns:
        if i >= n:
            continue
        v = cells[i].strip()
        if not v:
            continue
        if v[0] == "'" and v[1:2] in _FORMULA:
            v = v[1:]  # a failed-rows file neutralises formulas with a quote: the fixed file comes back with it
            if not v:
                continue
        got = raw.get(key)
        if got is None:
            raw[key] = [v]
        else:
            got.append(v)
    CLEANERS[ctx.type](ctx, row, raw)
    if show:
        for k, v in row.values.items():
            if k == "custom":
                row.shown.update({f"custom.{ck}": _show(cv) for ck, cv in v.items() if f"custom.{ck}" not in row.shown})
            elif k not in row.shown and k not in ("owner_id", "team_id", "customer_id", "assignee_id", "user_id"):
                row.shown[k] = _show(v)
    return row


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _show(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, list):
        return "; ".join(str(x) for x in v)
    if hasattr(v, "isoformat"):
        return str(v.isoformat())
    return str(v)


def _phones_emails(ctx: Ctx, row: Row, raw: dict[str, list[str]]) -> None:
    phones: list[str] = []
    emails: list[str] = []
    for cell in raw.get("phones", []):
        for part in clean.split_list(cell):
            try:
                display, e164 = clean.phone(part)
            except PhoneError:
                ctx.err(row, "phones", "invalid_phone")
                continue
            if ("phone", e164) not in row.identities:
                row.identities.append(("phone", e164))
                phones.append(display)
    for cell in raw.get("emails", []):
        for part in clean.split_emails(cell):
            try:
                e = clean.email(part)
            except ValueError:
                ctx.err(row, "emails", "invalid_email")
                continue
            if ("email", e) not in row.identities:
                row.identities.append(("email", e))
                emails.append(e)
    if len(phones) > 10:
        ctx.err(row, "phones", "too_long")
    if len(emails) > 10:
        ctx.err(row, "emails", "too_long")
    if "phones" in raw:
        row.values["phones"] = phones
    if "emails" in raw:
        row.values["emails"] = emails


def _option(ctx: Ctx, row: Row, key: str, raw: str, table: dict[str, str]) -> None:
    v = table.get(clean.fold(raw))
    if v is None:
        ctx.err(row, key, "invalid_option")
    else:
        row.values[key] = v


def _options(d: FieldDef) -> dict[str, str]:
    by: dict[str, str] = {}
    for o in d.options:
        for k in (o.get("label_en") or "", o.get("label") or "", o["value"]):
            if k:
                by[clean.fold(k)] = o["value"]
    return by


MEMO_MAX = 20_000  # distinct cells remembered per column: a column of names or notes stops filling its memo


def _memo(ctx: Ctx, row: Row, column: str, key: str, raw: Any,
          clean_one: Callable[[Ctx, Row, str, Any], Any]) -> Any:
    """`clean_one(ctx, row, key, raw)` once per distinct cell of a column: its value and the errors it gives (field,
    code) are remembered and replayed. For cleaning that depends on the cell and the import's context only."""
    memo = ctx.memo.get(column)
    if memo is None:
        memo = ctx.memo[column] = {}
    hit = memo.get(raw)
    if hit is None:
        probe = Row(0, [])
        hit = (clean_one(ctx, probe, key, raw), tuple((e["field"], e["code"]) for e in probe.errors))
        if len(memo) < MEMO_MAX:
            memo[raw] = hit
    value, errors = hit
    for f, code in errors:
        ctx.err(row, f, code)
    return list(value) if type(value) is list else value  # a row's lists are its own


def _custom(ctx: Ctx, row: Row, key: str, raw: str) -> Any:
    """A custom field's value from its cell, by the rules of customers.service.validate_custom (the same
    codes); select options match by value or label."""
    d = ctx.defs[key]
    typ, path = d.type, f"custom.{key}"
    try:
        if typ == "text":
            if len(raw) > 2000:
                raise ValueError
            return raw.strip()
        if typ in ("number", "money"):
            num = Decimal(raw.replace(",", "").replace("，", "").replace("¥", "").replace("￥", "").strip())
            if not num.is_finite() or abs(num) >= Decimal("1e15"):
                raise ValueError
            if typ == "money":
                return str(num.quantize(Decimal("0.01")))
            return int(num) if num == num.to_integral_value() else float(num)
        if typ == "date":
            try:
                return clean.parse_date(raw).isoformat()
            except ValueError:
                ctx.err(row, path, "invalid_value")
                return None
        if typ == "boolean":
            return clean.parse_bool(raw)
        if typ in ("select", "multiselect"):
            by = ctx.options.get(key)
            if by is None:
                by = ctx.options[key] = _options(d)
            if typ == "select":
                if clean.fold(raw) not in by:
                    ctx.err(row, path, "invalid_option")
                    return None
                return by[clean.fold(raw)]
            picked = [by.get(clean.fold(x)) for x in clean.split_list(raw)]
            if any(v is None for v in picked):
                ctx.err(row, path, "invalid_option")
                return None
            return [o["value"] for o in d.options if o["value"] in picked]
        if typ == "user":
            hit = ctx.users.get(clean.fold(raw))
            if hit is None:
                ctx.err(row, path, "invalid_user")
                return None
            return hit[0]
    except (ValueError, InvalidOperation, ArithmeticError):
        ctx.err(row, path, "invalid_type")
        return None
    return raw


# a batch's rows are cleaned, then built: the name key of each is asked for twice
_name_identity = lru_cache(maxsize=8192)(name_identity)
# text columns that repeat a few values (places, industries): cleaned once per distinct cell
_MEMO_TEXT = frozenset({"industry", "province", "city", "district"})


def _clean_customer(ctx: Ctx, row: Row, raw: dict[str, list[str]]) -> None:
    one = {k: v[0] for k, v in raw.items()}
    for f in TEXT_FIELDS:
        if f in one:
            row.values[f] = _memo(ctx, row, f, f, one[f], _text) if f in _MEMO_TEXT else _text(ctx, row, f, one[f])
    if not row.values.get("name"):
        ctx.err(row, "name", "required")
    if "kind" in one:
        _option(ctx, row, "kind", one["kind"], KIND)
    for key, table in (("stage", STAGE), ("grade", GRADE), ("size", SIZE), ("source", ctx.sources)):
        if key in one:
            _option(ctx, row, key, one[key], table)
    if row.values.get("website") and not _WEBSITE.match(row.values["website"]):
        ctx.err(row, "website", "invalid_value")
    _phones_emails(ctx, row, raw)
    if "tags" in raw:
        row.values["tags"] = _memo(ctx, row, "tags", "tags", tuple(raw["tags"]), _tags)
    if "birthday" in one:
        day = _memo(ctx, row, "birthday", "birthday", one["birthday"], _birthday)
        if day is not None:
            row.values["birthday"] = day
    if "owner" in one:
        hit = _user(ctx, row, "owner", one["owner"])
        if hit is not None:
            if not ctx.may_assign and hit[0] != ctx.p.user_id:
                ctx.err(row, "owner", "owner_not_allowed")
            elif not owner_in_scope(ctx.p, hit[0], hit[1]):
                ctx.err(row, "owner", "invalid_user")
            else:
                row.values["owner_id"], row.values["team_id"] = hit
                row.shown["owner"] = ctx.user_names.get(hit[0])
    custom_raw = {k[7:]: one[k] for k in one if k.startswith("custom.") and k[7:] in ctx.defs}
    if custom_raw:
        values = {k: _memo(ctx, row, f"custom.{k}", k, v, _custom) for k, v in custom_raw.items()}
        row.values["custom"] = {k: v for k, v in values.items() if v is not None}
    for k in ctx.required_custom:  # a required custom field mapped but empty in this row
        if k not in custom_raw:
            ctx.err(row, f"custom.{k}", "required")
    named = _name_identity(row.values.get("name"), row.values.get("city"))
    if named:
        row.identities.append(named)


def _tags(ctx: Ctx, row: Row, key: str, cells: tuple[str, ...]) -> list[str]:
    tags: list[str] = []
    for cell in cells:
        for tag in clean.split_list(cell):
            if len(tag) > 30:
                ctx.err(row, key, "too_long")
            elif tag not in tags:
                tags.append(tag)
    if len(tags) > 20:
        ctx.err(row, key, "too_long")
    return tags


def _birthday(ctx: Ctx, row: Row, key: str, raw: str) -> Any:
    try:
        return clean.parse_date(raw)
    except ValueError:
        ctx.err(row, key, "invalid_date")
        return None


def _customer_ref(ctx: Ctx, row: Row, raw: dict[str, list[str]], required: bool) -> None:
    ref = raw.get("customer", [""])[0]
    if not ref:
        if required:
            ctx.err(row, "customer", "required")
        return
    row.values["customer_ref"] = ref
    row.shown["customer"] = ref


def _clean_contact(ctx: Ctx, row: Row, raw: dict[str, list[str]]) -> None:
    one = {k: v[0] for k, v in raw.items()}
    _customer_ref(ctx, row, raw, True)
    for f in ("name", "title", "wechat", "notes"):
        if f in one:
            row.values[f] = _text(ctx, row, f, one[f])
    if not row.values.get("name"):
        ctx.err(row, "name", "required")
    _phones_emails(ctx, row, raw)
    if "birthday" in one:
        try:
            row.values["birthday"] = clean.parse_date(one["birthday"])
        except ValueError:
            ctx.err(row, "birthday", "invalid_date")
    if "is_primary" in one:
        try:
            row.values["is_primary"] = clean.parse_bool(one["is_primary"])
        except ValueError:
            ctx.err(row, "is_primary", "invalid_value")


def _when(ctx: Ctx, row: Row, key: str, raw: str | None, required: bool) -> None:
    if not raw:
        if required:
            ctx.err(row, key, "required")
        return
    try:
        row.values[key] = clean.parse_datetime(raw, ctx.tz)
    except ValueError:
        ctx.err(row, key, "invalid_date")


def _clean_interaction(ctx: Ctx, row: Row, raw: dict[str, list[str]]) -> None:
    one = {k: v[0] for k, v in raw.items()}
    _customer_ref(ctx, row, raw, True)
    if "channel" in one:
        _option(ctx, row, "channel", one["channel"], ctx.channels)
    else:
        ctx.err(row, "channel", "required")
    _when(ctx, row, "occurred_at", one.get("occurred_at"), True)
    if row.values.get("occurred_at") and row.values["occurred_at"] > utcnow() + FUTURE_SLACK:
        ctx.err(row, "occurred_at", "in_future")
    if "direction" in one:
        _option(ctx, row, "direction", one["direction"], DIRECTION)
    if "duration_minutes" in one:
        try:
            n = int(float(one["duration_minutes"]))
            if not 0 <= n <= 10000:
                raise ValueError
            row.values["duration_minutes"] = n
        except ValueError:
            ctx.err(row, "duration_minutes", "invalid_value")
    for f in ("subject", "summary", "outcome", "next_step"):
        if f in one:
            row.values[f] = _text(ctx, row, f, one[f])
    if "user" in one:
        hit = _user(ctx, row, "user", one["user"])
        if hit is not None:
            row.values["user_id"] = hit[0]
            row.shown["user"] = ctx.user_names.get(hit[0])


def _clean_task(ctx: Ctx, row: Row, raw: dict[str, list[str]]) -> None:
    one = {k: v[0] for k, v in raw.items()}
    _customer_ref(ctx, row, raw, False)
    row.values["title"] = _text(ctx, row, "title", one.get("title", ""))
    if not row.values["title"]:
        ctx.err(row, "title", "required")
    if "description" in one:
        row.values["description"] = _text(ctx, row, "description", one["description"])
    _when(ctx, row, "due_at", one.get("due_at"), True)
    if "priority" in one:
        _option(ctx, row, "priority", one["priority"], PRIORITY)
    if "assignee" in one:
        hit = _user(ctx, row, "assignee", one["assignee"])
        if hit is not None:
            row.values["assignee_id"], row.values["team_id"] = hit
            row.shown["assignee"] = ctx.user_names.get(hit[0])
    if "remind_before_minutes" in one:
        value = one["remind_before_minutes"].strip()
        if clean.fold(value) in NO_REMINDER:
            row.values["remind_before_minutes"] = None
        else:
            try:
                n = int(float(value))
                if not 0 <= n <= MAX_REMIND:
                    raise ValueError
                row.values["remind_before_minutes"] = n
            except ValueError:
                ctx.err(row, "remind_before_minutes", "invalid_value")


CLEANERS = {"customers": _clean_customer, "contacts": _clean_contact, "interactions": _clean_interaction,
            "tasks": _clean_task}


# ------------------------------------------------------------------ batch: references and duplicates


async def resolve(session: AsyncSession, ctx: Ctx, rows: list[Row]) -> None:
    """Find what each valid row refers to and what it duplicates; decide its action."""
    if ctx.type == "customers":
        await _customer_duplicates(session, ctx, rows)
    else:
        await _resolve_customers(session, ctx, rows)
        if ctx.type == "contacts":
            await _contact_duplicates(session, ctx, rows)
        elif ctx.type == "interactions":
            await _record_duplicates(session, ctx, rows, Interaction,
                                     lambda r: (r.customer.id, r.values.get("occurred_at"), r.values.get("channel"),
                                                r.values.get("subject")),
                                     (Interaction.customer_id, Interaction.occurred_at, Interaction.channel,
                                      Interaction.subject), Interaction.customer_id)
        else:
            await _task_assignees(session, ctx, rows)
            await _record_duplicates(session, ctx, rows, Task,
                                     lambda r: (r.customer.id if r.customer else None, r.values.get("due_at"),
                                                r.values.get("title")),
                                     (Task.customer_id, Task.due_at, Task.title), Task.customer_id)
    for r in rows:
        if r.errors:
            r.action = "fail"


def _decide(ctx: Ctx, row: Row, dup: Dup, target: int | None, earlier: Row | None) -> None:
    row.dup = dup
    if ctx.mode == "create":
        row.action = "create"
    elif ctx.mode == "skip":
        row.action = "skip"
    elif earlier is not None:
        row.action, row.merge_into = "update", earlier
    elif not dup.visible:
        ctx.err(row, "name", "duplicate_not_visible")
    else:
        row.action, row.target_id = "update", target


async def _customer_duplicates(session: AsyncSession, ctx: Ctx, rows: list[Row]) -> None:
    live = [r for r in rows if not r.errors]
    wanted: dict[str, set[str]] = {"phone": set(), "email": set(), "name": set()}
    for r in live:
        for k, v in r.identities:
            wanted[k].add(v)
    hits: dict[tuple[str, str], int] = {}
    pg = session.get_bind().dialect.name == "postgresql"
    # the values as one parameter (a JSON array on SQLite, an array on PostgreSQL): an expanding IN of 5,000
    # parameters cost more to compile than the lookup itself
    lookup = text("SELECT i.value, min(i.customer_id) FROM customer_identities i JOIN customers c ON c.id = "
                  "i.customer_id WHERE i.workspace_id = :ws AND i.kind = :kind AND i.value "
                  + ("= ANY(CAST(:vals AS text[]))" if pg else "IN (SELECT value FROM json_each(:vals))")
                  + " AND c.deleted_at IS NULL GROUP BY i.value")
    for kind, values in wanted.items():
        vals = sorted(values)
        for i in range(0, len(vals), 5000):
            part = vals[i:i + 5000]
            res = await session.execute(lookup, {"ws": ctx.p.workspace_id, "kind": kind,
                                                 "vals": part if pg else _json(part)})
            for value, cid in res.all():
                hits[(kind, value)] = cid
    ctx.held = set(hits)
    found = sorted(set(hits.values()))
    info: dict[int, Any] = {}
    for i in range(0, len(found), 5000):
        for rec in (await session.execute(select(Customer.id, Customer.name, Customer.owner_id, Customer.team_id)
                                          .where(Customer.id.in_(IDS)), {"ids": found[i:i + 5000]})).all():
            info[rec.id] = rec
    seen: dict[tuple[str, str], Row] = {}
    order = {"phone": 0, "email": 1, "name": 2}
    for r in live:
        idents = sorted(r.identities, key=lambda kv: order[kv[0]])
        existing = next(((k, hits[(k, v)]) for k, v in idents if (k, v) in hits), None)
        if existing is not None:
            kind, cid = existing
            c = info.get(cid)
            visible = c is not None and owner_in_scope(ctx.p, c.owner_id, c.team_id)
            line = ctx.created_line(cid)
            dup = Dup("in_file" if line is not None else kind, cid if visible else None,
                      c.name if (visible and c is not None) else None, line, visible)
            _decide(ctx, r, dup, cid, None)
        else:
            earlier = next((seen[kv] for kv in idents if kv in seen), None)
            if earlier is not None:
                _decide(ctx, r, Dup("in_file", None, earlier.values.get("name"), earlier.line), None, earlier)
        if r.action == "create":
            for kv in r.identities:
                seen.setdefault(kv, r)


async def _resolve_customers(session: AsyncSession, ctx: Ctx, rows: list[Row]) -> None:
    """A contact's, interaction's or task's customer: by id, phone or name, among those the importer may see."""
    refs = {r.values["customer_ref"] for r in rows if not r.errors and r.values.get("customer_ref")}
    if not refs:
        return
    cols = (Customer.id, Customer.name, Customer.owner_id, Customer.team_id)
    base = (Customer.workspace_id == ctx.p.workspace_id, Customer.deleted_at.is_(None))
    by_ref: dict[str, list[Any]] = {}
    ids = [int(x) for x in refs if x.isdigit() and len(x) < 18]
    if ids:
        for rec in (await session.execute(select(*cols).where(*base, Customer.id.in_(IDS)), {"ids": ids})).all():
            by_ref.setdefault(str(rec.id), []).append(rec)
    phones: dict[str, str] = {}
    for ref in refs:
        try:
            phones[clean.phone(ref)[1]] = ref
        except PhoneError:
            pass
    if phones:
        q = (select(CustomerIdentity.value, *cols).join(Customer, Customer.id == CustomerIdentity.customer_id)
             .where(*base, CustomerIdentity.workspace_id == ctx.p.workspace_id, CustomerIdentity.kind == "phone",
                    CustomerIdentity.value.in_(IDS)))
        for prec in (await session.execute(q, {"ids": sorted(phones)})).all():
            by_ref.setdefault(phones[prec.value], []).append(prec)
    names = sorted(r for r in refs if r not in by_ref)
    for i in range(0, len(names), 5000):
        for rec in (await session.execute(select(*cols).where(*base, Customer.name.in_(IDS)),
                                          {"ids": names[i:i + 5000]})).all():
            by_ref.setdefault(rec.name, []).append(rec)
    for r in rows:
        ref = r.values.get("customer_ref")
        if r.errors or not ref:
            continue
        found = [c for c in {c.id: c for c in by_ref.get(ref, [])}.values()
                 if owner_in_scope(ctx.p, c.owner_id, c.team_id)]
        if not found:
            ctx.err(r, "customer", "customer_not_found")
        elif len(found) > 1:
            ctx.err(r, "customer", "customer_ambiguous")
        else:
            r.customer = found[0]
            r.values["customer_id"] = found[0].id
            r.shown["customer"] = found[0].name


async def _contact_duplicates(session: AsyncSession, ctx: Ctx, rows: list[Row]) -> None:
    live = [r for r in rows if not r.errors]
    cids = sorted({r.customer.id for r in live})
    existing: dict[tuple[int, str, str], tuple[int, str]] = {}
    self_count: dict[int, int] = {}
    for i in range(0, len(cids), 5000):
        res = await session.execute(select(Contact.id, Contact.customer_id, Contact.name, Contact.phones,
                                           Contact.emails).where(Contact.customer_id.in_(IDS),
                                                                 Contact.deleted_at.is_(None)),
                                    {"ids": cids[i:i + 5000]})
        for cid, customer_id, name, phones, emails in res.all():
            self_count[customer_id] = self_count.get(customer_id, 0) + 1
            for kv in _contact_keys(name, phones, emails):
                existing.setdefault((customer_id, *kv), (cid, name))
    ctx_counts = self_count
    seen: dict[tuple[int, str, str], Row] = {}
    for r in live:
        keys = [(r.customer.id, *kv) for kv in r.identities] + [(r.customer.id, "name", name_key(r.values["name"]))]
        hit = next(((k, existing[k]) for k in keys if k in existing), None)
        if hit is not None:
            (_, kind, _), (cid, name) = hit
            _decide(ctx, r, Dup(kind, cid, name, ctx.created_line(cid)), cid, None)
            if r.dup and r.dup.line is not None:
                r.dup.reason = "in_file"
        else:
            earlier = next((seen[k] for k in keys if k in seen), None)
            if earlier is not None:
                _decide(ctx, r, Dup("in_file", None, earlier.values.get("name"), earlier.line), None, earlier)
        if r.action == "create":
            for k in keys:
                seen.setdefault(k, r)
            r.values.setdefault("is_primary", ctx_counts.get(r.customer.id, 0) == 0 and not any(
                s.customer.id == r.customer.id and s is not r and s.values.get("is_primary")
                for s in seen.values() if s.line < r.line))
            ctx_counts[r.customer.id] = ctx_counts.get(r.customer.id, 0) + 1


def _contact_keys(name: str, phones: list[str], emails: list[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = [("name", name_key(name))]
    for ph in phones or []:
        try:
            out.append(("phone", clean.phone(ph)[1]))
        except PhoneError:
            pass
    out += [("email", e) for e in emails or []]
    return out


async def _record_duplicates(session: AsyncSession, ctx: Ctx, rows: list[Row], model: Any, key_of: Any,
                             columns: tuple[Any, ...], customer_col: Any) -> None:
    """Interactions and tasks: the same record (customer, time, channel/title ...) already there or earlier."""
    live = [r for r in rows if not r.errors]
    cids = sorted({r.customer.id for r in live if r.customer is not None})
    existing: dict[tuple[Any, ...], int] = {}
    for i in range(0, len(cids), 5000):
        res = await session.execute(select(model.id, *columns).where(customer_col.in_(IDS),
                                                                     model.deleted_at.is_(None)),
                                    {"ids": cids[i:i + 5000]})
        for rec in res.all():
            existing.setdefault(tuple(rec[1:]), rec[0])
    seen: dict[tuple[Any, ...], Row] = {}
    for r in live:
        key = key_of(r)
        if key in existing:
            rid = existing[key]
            line = ctx.created_line(rid)
            r.dup = Dup("in_file" if line is not None else "record", rid, None, line)
            r.action = "skip" if ctx.mode != "create" else "create"
        elif key in seen:
            r.dup = Dup("in_file", None, None, seen[key].line)
            r.action = "skip" if ctx.mode != "create" else "create"
        if r.action == "create":
            seen.setdefault(key, r)


async def _task_assignees(session: AsyncSession, ctx: Ctx, rows: list[Row]) -> None:
    """An assignee must be able to see the task's customer (as when a task is created by hand)."""
    from guanxi.authz.records import principal_for

    cache = ctx.principals
    for r in rows:
        if r.errors:
            continue
        uid = r.values.get("assignee_id") or ctx.p.user_id
        if uid not in cache:
            cache[uid] = await principal_for(session, ctx.p.workspace_id, uid)
        q = cache[uid]
        if q is None:
            ctx.err(r, "assignee", "invalid_user")
        elif not q.can("tasks", "view") or (r.customer is not None and not (
                q.can("customers", "view") and owner_in_scope(q, r.customer.owner_id, r.customer.team_id))):
            ctx.err(r, "assignee", "assignee_cannot_see")
        else:
            r.values["assignee_id"], r.values["team_id"] = q.user_id, q.team_id


# ------------------------------------------------------------------ batch: writing


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0


async def reserve_ids(session: AsyncSession, table: str, n: int) -> list[int]:
    """Ids for n new rows, taken before the insert so identities, search, audit and events can name them.

    SQLite: the caller holds the writer turn, so nobody else inserts between this and the insert.
    """
    if n == 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        res = await session.scalars(text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                                         "FROM generate_series(1, :n)"), {"n": n})
        return sorted(res)
    top = await session.scalar(text(f"SELECT max(id) FROM {table}")) or 0
    return list(range(top + 1, top + 1 + n))


def _merge_rows(ctx: Ctx, rows: list[Row]) -> None:
    """Rows that update an earlier row of the same batch fold their values into it (filling its blanks, or the later
    value wins when the import overwrites)."""
    for r in rows:
        if r.action == "update" and r.merge_into is not None:
            target = r.merge_into
            while target.merge_into is not None:
                target = target.merge_into
            _merge_values(target.values, r.values, ctx.fill)
            target.prep = None  # its values changed: built again by the writer
            for kv in r.identities:
                if kv not in target.identities and kv[0] != "name":
                    target.identities.append(kv)


def _empty(v: Any) -> bool:
    return v is None or v == "" or v == [] or v == {}


def _merge_values(into: dict[str, Any], new: dict[str, Any], fill: bool = False) -> None:
    """The file's non-empty values into a record's: an empty cell never clears a value; phones, emails and tags are
    joined (nothing is lost); with `fill`, a field that has a value keeps it (仅补充空白字段)."""
    for k, v in new.items():
        if _empty(v):
            continue
        if k in ("phones", "emails", "tags"):
            into[k] = list(dict.fromkeys(list(into.get(k) or []) + list(v)))
        elif k == "custom":
            old = into.get(k) or {}
            into[k] = {**old, **{ck: cv for ck, cv in v.items() if not (fill and not _empty(old.get(ck)))}}
        elif fill and not _empty(into.get(k)):
            continue
        elif k == "team_id" and fill:
            continue  # follows the owner, below
        else:
            into[k] = v
    if fill and "owner_id" in new and into.get("owner_id") == new.get("owner_id") and "team_id" in new:
        into["team_id"] = new["team_id"]  # an owner filled in brings their team


async def write(session: AsyncSession, ctx: Ctx, rows: list[Row], import_id: int) -> Counts:
    counts = Counts()
    _merge_rows(ctx, rows)
    for r in rows:
        if r.action == "fail":
            counts.failed += 1
        elif r.action == "skip":
            counts.skipped += 1
    writer = WRITERS[ctx.type]
    created, changed = await writer(session, ctx, rows)
    counts.created += created
    # a row counts as updated when the record it names changed (rows folded into an earlier row of the file
    # count with it); an update that changes nothing counts as skipped
    for r in rows:
        if r.action == "update":
            if r.merge_into is not None or r.target_id in changed:
                counts.updated += 1
            else:
                counts.skipped += 1
    failures = [{"import_id": import_id, "line": r.line, "cells": r.cells, "error": error_text(ctx, r)}
                for r in rows if r.action == "fail"]
    if failures:
        await bulk_insert(session, _failures_table(), failures)
    return counts


def _failures_table() -> Any:
    from guanxi.imports.models import ImportFailure

    return ImportFailure.__table__


def error_text(ctx: Ctx, r: Row) -> str:
    labels = specs(ctx.type)
    parts = []
    for e in r.errors:
        f = e["field"]
        if f.startswith("custom."):
            d = ctx.defs.get(f[7:])
            label = (d.label_en or d.label if ctx.lang == "en" else d.label) if d else f
        else:
            spec = labels.get(f)
            label = (spec.en if ctx.lang == "en" else spec.zh) if spec else f
        parts.append(f"{label}: {e['message']}")
    return "; ".join(dict.fromkeys(parts))


def _plain1(v: Any) -> Any:
    return v if v is None or type(v) in (str, int, float, bool) else _plain(v)


def created_changes(after: dict[str, Any]) -> list[dict[str, Any]]:
    """audit.diff({}, after) for a new record (custom fields as one "custom" entry, as diff gives it), without
    comparing: every value is new."""
    return [{"field": name, "old": None, "new": _plain1(after[name])} for name in sorted(after)
            if after[name] is not None]


def _json(v: Any) -> str:
    return orjson.dumps(v).decode()


_LIGHT: dict[str, Any] = {}


def light(t: Any) -> Any:
    """The table with its JSON columns untyped: bulk rows carry their JSON already encoded by orjson (the
    stdlib encoder SQLAlchemy would use was a tenth of an import's time); other columns keep their types."""
    if t.name not in _LIGHT:
        _LIGHT[t.name] = sql_table(t.name, *(sql_column(c.name, NullType() if isinstance(c.type, JSON) else c.type)
                                              for c in t.c))
    return _LIGHT[t.name]


def json_columns(t: Any) -> tuple[str, ...]:
    return tuple(c.name for c in t.c if isinstance(c.type, JSON))


async def bulk_insert(session: AsyncSession, t: Any, rows: list[dict[str, Any]], *, encoded: bool = False) -> None:
    """Many rows of one table; every row has the same keys. On SQLite straight through the driver's executemany,
    each value converted by its column type's own SQLAlchemy bind processor (so stored exactly as the ORM stores
    it): per-row statement bookkeeping was a third of an import's write time. `encoded`: the rows' JSON columns
    are JSON text already."""
    if not rows:
        return
    cols = json_columns(t)
    if not encoded:
        for r in rows:
            for c in cols:
                r[c] = _json(r[c])
    if session.get_bind().dialect.name != "sqlite":
        await session.execute(insert(light(t)), rows)
        return
    keys = tuple(rows[0])
    get = itemgetter(*keys)
    await insert_values(session, t, keys, [get(r) if len(keys) > 1 else (r[keys[0]],) for r in rows])


async def insert_values(session: AsyncSession, t: Any, keys: tuple[str, ...], rows: list[Any]) -> None:
    """bulk_insert of rows given as value tuples in the order of `keys` (JSON columns as JSON text)."""
    if not rows:
        return
    if session.get_bind().dialect.name != "sqlite":
        await session.execute(insert(light(t)), [dict(zip(keys, r, strict=True)) for r in rows])
        return
    cols = json_columns(t)
    conn = await session.connection()
    dialect = conn.dialect
    procs = [None if k in cols else t.c[k].type.dialect_impl(dialect).bind_processor(dialect) for k in keys]
    sql = f"INSERT INTO {t.name} ({', '.join(keys)}) VALUES ({', '.join('?' * len(keys))})"
    active = [(i, p) for i, p in enumerate(procs) if p is not None]
    params: list[Any] = []
    last: dict[int, tuple[Any, Any]] = {}  # a batch's timestamps are one object: converted once per column
    for vals in rows:
        if active:
            vals = list(vals)
            for i, proc in active:
                v = vals[i]
                if v is not None:
                    seen = last.get(i)
                    if seen is not None and seen[0] is v:
                        vals[i] = seen[1]
                    else:
                        vals[i] = out = proc(v)
                        last[i] = (v, out)
        params.append(vals)
    raw = await conn.get_raw_connection()
    raw.driver_connection._conn.executemany(sql, params)  # type: ignore[union-attr]  # InlineSQLite: this thread


def _events(ctx: Ctx, now: datetime, action: str, record_type: str, items: list[tuple[int, str, Any, int | None,
                                                                                    dict[str, Any]]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One audit row and one domain event per record, as `audit.change` writes them — except that the event of a
    created record does not repeat the new values: it says `"audited": "create"`, and the timeline reads them from
    the record's audit row (`timeline.repository.audited_changes`). The values were half of an import's bytes."""
    p = ctx.p
    audits, events = [], []
    kind = f"{record_type}.{past(action)}"
    slim = action == "create"
    for record_id, label, changes, customer_id, payload in items:
        # JSON text built here (the changes encoded once for both rows): {"items": changes} and
        # {"label": label, "changes": changes, **payload} (or {"label": label, "audited": "create", **payload})
        ch = changes if isinstance(changes, str) else _json(changes)
        extra = _json(payload)[1:-1] if payload else ""
        audits.append({"workspace_id": p.workspace_id, "at": now, "user_id": p.user_id, "user_name": p.name,
                       "action": action, "record_type": record_type, "record_id": record_id,
                       "record_label": (label or "")[:200] or None, "changes": '{"items":' + ch + "}", "ip": p.ip})
        body = ',"audited":"create"' if slim else ',"changes":' + ch
        events.append({"workspace_id": p.workspace_id, "at": now, "kind": kind, "record_type": record_type,
                       "record_id": record_id, "actor_id": p.user_id, "customer_id": customer_id,
                       "payload": '{"label":' + _json(label) + body + ("," + extra if extra else "") + "}",
                       "dispatched_at": None})
    return audits, events


async def _write_events(session: AsyncSession, audits: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
    if audits:
        await bulk_insert(session, AuditEntry.__table__, audits, encoded=True)
        await bulk_insert(session, DomainEvent.__table__, events, encoded=True)


CUSTOMER_FIELDS = tuple(cs.CustomerWrite.model_fields)
_C: Any = Customer.__table__
_IDENT: Any = CustomerIdentity.__table__  # Core, not the ORM's bulk path
_C_JSON = ("phones", "emails", "tags", "custom")


def _doc(values: dict[str, Any], identities: list[tuple[str, str]]) -> str:
    return search.document(values["name"], [v for k, v in identities if k == "phone"],
                           [v for k, v in identities if k == "email"], [values.get("wechat") or ""])


async def _index(session: AsyncSession, docs: list[tuple[int, str]], *, replace: bool) -> None:
    """SQLite's FTS5 documents. PostgreSQL indexes the customer rows themselves (migration 0011): nothing to do."""
    if not docs or session.get_bind().dialect.name == "postgresql":
        return
    if replace:
        await session.execute(text("DELETE FROM customer_fts WHERE rowid IN (SELECT value FROM json_each(:ids))"),
                              {"ids": "[" + ",".join(str(i) for i, _ in docs) + "]"})
    raw = await (await session.connection()).get_raw_connection()
    raw.driver_connection._conn.executemany(  # type: ignore[union-attr]  # InlineSQLite: this thread
        "INSERT INTO customer_fts(rowid, doc) VALUES (?, ?)", docs)


@dataclass(slots=True)
class Prepared:
    """A new customer's row built from its cleaned values before the duplicate checks (in the import's worker
    process when there is one): only the id and the timestamps are left for the writer."""

    fields: tuple[Any, ...]  # the values of PREP_COLUMNS (JSON columns encoded)
    identities: list[tuple[str, str]]
    doc: str  # the search document
    changes: str  # the audit row's and the event's changes, JSON


def prepare_customer(ctx: Ctx, r: Row) -> Prepared:
    p, v = ctx.p, r.values
    name = v["name"]
    rec = {"kind": v.get("kind") or "company", "name": name, "name_pinyin": search.pinyin_key(name),
           "name_sort": search.sort_key(name), "name_fold": search.fold_name(name), "industry": v.get("industry"),
           "size": v.get("size"), "province": v.get("province"), "city": v.get("city"),
           "district": v.get("district"), "address": v.get("address"), "phones": v.get("phones") or [],
           "emails": v.get("emails") or [], "wechat": v.get("wechat"), "website": v.get("website"),
           "source": v.get("source"), "stage": v.get("stage") or "potential", "grade": v.get("grade"),
           "tags": v.get("tags") or [], "owner_id": v.get("owner_id", p.user_id),
           "team_id": v.get("team_id", ctx.my_team) if "owner_id" in v else ctx.my_team,
           "birthday": v.get("birthday"), "notes": v.get("notes"), "custom": v.get("custom") or {}}
    identities = [kv for kv in r.identities if kv[0] != "name"]
    named = _name_identity(name, rec["city"])
    identities += [named] if named else []
    changes = created_json(rec)
    doc = _doc(rec, identities)
    for c in _C_JSON:
        rec[c] = _json(rec[c])
    return Prepared(tuple(rec.values()), identities, doc, changes)


_CREATED_FIELDS = tuple(sorted({*CUSTOMER_FIELDS, "team_id"}))
_CREATED_HEAD = {f: '{"field":' + _json(f) + ',"old":null,"new":' for f in _CREATED_FIELDS}


def created_json(rec: dict[str, Any]) -> str:
    """`_json(created_changes(...))` of a new customer's fields that have a value, built as JSON text directly: one
    orjson call per value (dates as ISO text, as `_plain` gives them), no dicts of changes."""
    parts = []
    for f in _CREATED_FIELDS:
        v = rec.get(f)
        if v is None or v == [] or v == {}:
            continue
        parts.append(_CREATED_HEAD[f] + orjson.dumps(v, default=_plain).decode() + "}")
    return "[" + ",".join(parts) + "]"


# the order in which prepare_customer builds a customer's values
PREP_COLUMNS = ("kind", "name", "name_pinyin", "name_sort", "name_fold", "industry", "size", "province", "city",
                "district", "address", "phones", "emails", "wechat", "website", "source", "stage", "grade", "tags",
                "owner_id", "team_id", "birthday", "notes", "custom")


async def _write_customers(session: AsyncSession, ctx: Ctx, rows: list[Row]) -> tuple[int, set[int]]:
    p = ctx.p
    now = utcnow()
    new = [r for r in rows if r.action == "create"]
    ids = await reserve_ids(session, "customers", len(new))
    inserts: list[tuple[Any, ...]] = []
    idents: list[dict[str, Any]] = []
    docs: list[tuple[int, str]] = []
    items: list[Any] = []
    fixed = {"workspace_id": p.workspace_id, "created_by": p.user_id, "created_at": now, "updated_at": now,
             "version": 1, "deleted_at": None, "last_contacted_at": None}
    fixed_values = tuple(fixed.values())
    for cid, r in zip(ids, new, strict=True):
        pr = r.prep if r.prep is not None else prepare_customer(ctx, r)
        inserts.append((cid, *fixed_values, *pr.fields))
        idents += [{"workspace_id": p.workspace_id, "customer_id": cid, "kind": k, "value": val}
                   for k, val in pr.identities]
        docs.append((cid, pr.doc))
        items.append((cid, pr.fields[1], pr.changes, cid, {}))
    if inserts:
        await insert_values(session, _C, ("id", *fixed, *PREP_COLUMNS), inserts)
        if idents:
            await bulk_insert(session, _IDENT, idents)
            # "create anyway" may have made duplicates: the 查重合并 page must list them. A value no live customer
            # held before this batch (the lookup's answer) and only one new customer holds has one holder: it has
            # no group and gets none, so only the others are recounted.
            keys = [(i["kind"], i["value"]) for i in idents]
            many = Counter(keys)
            await dedupe_repo.refresh(session, p.workspace_id, "customer",
                                      [kv for kv in many if many[kv] > 1 or kv in ctx.held])
        await _index(session, docs, replace=False)
        ctx.remember(ids, [r.line for r in new])
    updated = await _update_customers(session, ctx, [r for r in rows if r.action == "update" and r.target_id], now)
    audits, events = _events(ctx, now, "create", "customer", items)
    audits2, events2 = _events(ctx, now, "update", "customer", updated)
    await _write_events(session, audits + audits2, events + events2)
    return len(inserts), {u[0] for u in updated}


async def _update_customers(session: AsyncSession, ctx: Ctx, rows: list[Row], now: datetime) -> list[Any]:
    """Existing customers updated with the file's non-empty values; lists are joined, custom fields merged."""
    if not rows:
        return []
    sqlite = session.get_bind().dialect.name != "postgresql"
    by_target: dict[int, dict[str, Any]] = {}
    extra_idents: dict[int, list[tuple[str, str]]] = {}
    for r in rows:
        assert r.target_id is not None
        # rows of this batch naming one record fold together under the same policy, then meet the record
        _merge_values(by_target.setdefault(r.target_id, {}), r.values, ctx.fill)
        extra_idents.setdefault(r.target_id, []).extend(kv for kv in r.identities if kv[0] != "name")
    ids = sorted(by_target)
    current = {rec.id: dict(rec._mapping) for rec in (await session.execute(select(_C).where(_C.c.id.in_(IDS)),
                                                                             {"ids": ids})).all()}
    changes_out: list[Any] = []
    params: list[dict[str, Any]] = []
    idents: list[dict[str, Any]] = []
    docs: list[tuple[int, str]] = []
    for cid in ids:
        old = current.get(cid)
        if old is None:
            continue
        new = dict(old)
        _merge_values(new, by_target[cid], ctx.fill)
        if "team_id" not in by_target[cid] or (ctx.fill and new["owner_id"] == old["owner_id"]):
            new["team_id"] = old["team_id"]
        before = {f: old.get(f) for f in CUSTOMER_FIELDS} | {"team_id": old["team_id"]}
        after = {f: new.get(f) for f in CUSTOMER_FIELDS} | {"team_id": new["team_id"]}
        changes = diff(before, after)
        if not changes:
            continue
        new["version"] = old["version"] + 1
        new["updated_at"] = now
        new["name_pinyin"] = search.pinyin_key(new["name"])
        new["name_sort"], new["name_fold"] = search.sort_key(new["name"]), search.fold_name(new["name"])
        params.append({"_id": cid, **{k: new[k] for k in _UPDATABLE}})
        identities: list[tuple[str, str]] = []
        for ph in new["phones"]:
            try:
                identities.append(("phone", clean.phone(ph)[1]))
            except PhoneError:
                pass
        identities += [("email", e) for e in new["emails"]]
        named = name_identity(new["name"], new["city"])
        identities = list(dict.fromkeys(identities + ([named] if named else [])))
        idents += [{"workspace_id": ctx.p.workspace_id, "customer_id": cid, "kind": k, "value": v} for k, v in identities]
        if sqlite:  # PostgreSQL indexes the row itself
            docs.append((cid, _doc(new, identities)))
        changes_out.append((cid, new["name"], changes, cid, {}))
    if params:
        await session.execute(update(_C).where(_C.c.id == bindparam("_id"))
                              .values({k: bindparam(k) for k in _UPDATABLE}), params)
        done = [x["_id"] for x in params]
        old_idents = (await session.execute(select(CustomerIdentity.kind, CustomerIdentity.value)
                                            .where(CustomerIdentity.customer_id.in_(IDS)), {"ids": done})).all()
        await session.execute(delete(CustomerIdentity).where(CustomerIdentity.customer_id.in_(IDS)), {"ids": done})
        await session.execute(insert(_IDENT), idents)
        await dedupe_repo.refresh(session, ctx.p.workspace_id, "customer",
                                  [*((k, v) for k, v in old_idents), *((i["kind"], i["value"]) for i in idents)])
        moved = [x["_id"] for x in params if x["owner_id"] != current[x["_id"]]["owner_id"]]
        if moved:  # their contacts' groups change owner too (per-owner rows of the duplicates page)
            await dedupe_repo.refresh(session, ctx.p.workspace_id, "contact",
                                      await dedupe_repo.contact_keys_of_customers(session, moved))
        await _index(session, docs, replace=True)
    return changes_out


_UPDATABLE = (*CUSTOMER_FIELDS, "team_id", "version", "updated_at", "name_pinyin", "name_sort", "name_fold")


async def _write_contacts(session: AsyncSession, ctx: Ctx, rows: list[Row]) -> tuple[int, set[int]]:
    p = ctx.p
    now = utcnow()
    new = [r for r in rows if r.action == "create"]
    ids = await reserve_ids(session, "contacts", len(new))
    inserts: list[dict[str, Any]] = []
    items: list[Any] = []
    primaries: set[int] = set()
    for cid, r in zip(ids, new, strict=True):
        v = r.values
        rec = {"id": cid, "workspace_id": p.workspace_id, "created_by": p.user_id, "created_at": now,
               "updated_at": now, "version": 1, "deleted_at": None, "customer_id": r.customer.id, "name": v["name"],
               "title": v.get("title"), "phones": v.get("phones") or [], "emails": v.get("emails") or [],
               "wechat": v.get("wechat"), "birthday": v.get("birthday"), "is_primary": bool(v.get("is_primary")),
               "notes": v.get("notes")}
        if rec["is_primary"]:
            primaries.add(r.customer.id)
        inserts.append(rec)
        out = {k: rec[k] for k in ("name", "title", "phones", "emails", "wechat", "birthday", "is_primary", "notes")}
        items.append((cid, f"{r.customer.name} · {rec['name']}",
                      created_changes({k: x for k, x in out.items() if x not in (None, [])}),
                      r.customer.id, {"customer_id": r.customer.id}))
    if inserts:
        if primaries:  # one primary contact per customer, as when a contact is saved by hand
            await session.execute(update(Contact).where(Contact.customer_id.in_(IDS), Contact.is_primary)
                                  .values(is_primary=False), {"ids": sorted(primaries)})
        await bulk_insert(session, Contact.__table__, inserts)
        ctx.remember(ids, [r.line for r in new])
        contact_idents = [{"workspace_id": p.workspace_id, "contact_id": rec["id"], "kind": k, "value": v}
                          for rec in inserts for k, v in dedupe_repo.contact_identities(
                              rec["customer_id"], rec["name"], rec["phones"], rec["emails"])]
        if contact_idents:
            await bulk_insert(session, ContactIdentity.__table__, contact_idents)
            await dedupe_repo.refresh(session, p.workspace_id, "contact",
                                      [(i["kind"], i["value"]) for i in contact_idents])
    changed = []
    targets = [r for r in rows if r.action == "update" and r.target_id]
    if targets:
        current = {c.id: c for c in await session.scalars(select(Contact).where(Contact.id.in_(IDS)),
                                                           {"ids": sorted({r.target_id for r in targets if r.target_id})})}
        for r in targets:
            c = current.get(r.target_id)  # type: ignore[arg-type]
            if c is None:
                continue
            fields_ = ("name", "title", "phones", "emails", "wechat", "birthday", "notes")
            before = {k: getattr(c, k) for k in fields_}
            after = dict(before)
            _merge_values(after, {k: r.values.get(k) for k in fields_}, ctx.fill)
            changes = diff(before, after)
            if not changes:
                continue
            for k in fields_:
                setattr(c, k, after[k])
            c.version += 1
            c.updated_at = now
            changed.append((c.id, f"{r.customer.name} · {c.name}", changes, r.customer.id,
                            {"customer_id": r.customer.id}))
        await session.flush()
        for c in current.values():
            if any(ch[0] == c.id for ch in changed):
                await dedupe_repo.replace_contact_identities(session, c)
    a1, e1 = _events(ctx, now, "create", "contact", items)
    a2, e2 = _events(ctx, now, "update", "contact", changed)
    await _write_events(session, a1 + a2, e1 + e2)
    return len(inserts), {c[0] for c in changed}


async def _write_interactions(session: AsyncSession, ctx: Ctx, rows: list[Row]) -> tuple[int, set[int]]:
    p = ctx.p
    now = utcnow()
    new = [r for r in rows if r.action == "create"]
    ids = await reserve_ids(session, "interactions", len(new))
    inserts: list[dict[str, Any]] = []
    items: list[Any] = []
    for iid, r in zip(ids, new, strict=True):
        v = r.values
        rec = {"id": iid, "workspace_id": p.workspace_id, "created_by": p.user_id, "created_at": now,
               "updated_at": now, "version": 1, "deleted_at": None, "customer_id": r.customer.id, "contact_ids": [],
               "channel": v["channel"], "direction": v.get("direction") or "outbound", "occurred_at": v["occurred_at"],
               "duration_minutes": v.get("duration_minutes"), "user_id": v.get("user_id") or p.user_id,
               "subject": v.get("subject"), "summary": v.get("summary"), "outcome": v.get("outcome"),
               "next_step": v.get("next_step"), "next_step_at": None}
        inserts.append(rec)
        snap = {k: rec[k] for k in ("channel", "direction", "occurred_at", "duration_minutes", "user_id", "contact_ids",
                                    "subject", "summary", "outcome", "next_step", "next_step_at")}
        label = " · ".join(x for x in (r.customer.name, ctx.channel_labels.get(rec["channel"], rec["channel"]),
                                       rec["subject"]) if x)
        items.append((iid, label, created_changes({k: x for k, x in snap.items() if x not in (None, [])}),
                      r.customer.id, {}))
    if inserts:
        await bulk_insert(session, Interaction.__table__, inserts)
        ctx.remember(ids, [r.line for r in new])
        touched = sorted({r["customer_id"] for r in inserts})
        latest = (select(func.max(Interaction.occurred_at)).where(Interaction.customer_id == Customer.id,
                                                                  Interaction.deleted_at.is_(None))
                  .scalar_subquery())
        await session.execute(update(Customer).where(Customer.id.in_(IDS)).values(last_contacted_at=latest)
                              .execution_options(synchronize_session=False), {"ids": touched})
    audits, events = _events(ctx, now, "create", "interaction", items)
    await _write_events(session, audits, events)
    return len(inserts), set()


async def _write_tasks(session: AsyncSession, ctx: Ctx, rows: list[Row]) -> tuple[int, set[int]]:
    p = ctx.p
    now = utcnow()
    new = [r for r in rows if r.action == "create"]
    ids = await reserve_ids(session, "tasks", len(new))
    inserts: list[dict[str, Any]] = []
    items: list[Any] = []
    for tid, r in zip(ids, new, strict=True):
        v = r.values
        rec = {"id": tid, "workspace_id": p.workspace_id, "created_by": p.user_id, "created_at": now,
               "updated_at": now, "version": 1, "deleted_at": None, "title": v["title"],
               "description": v.get("description"), "due_at": v["due_at"], "assignee_id": v.get("assignee_id"),
               "team_id": v.get("team_id"), "customer_id": r.customer.id if r.customer else None,
               "related_type": None, "related_id": None, "priority": v.get("priority") or "normal", "status": "open",
               "completed_at": None, "remind_before_minutes": v.get("remind_before_minutes", DEFAULT_REMIND),
               "remind_at": None, "reminded_at": None, "repeat": "none", "repeat_day": None, "previous_id": None}
        if rec["remind_before_minutes"] is not None:
            # the reminder sweep (activities.tasks) sends it when the time comes, as for a task made in the app;
            # a reminder time already past (an old task brought over from another system) is not sent
            rec["remind_at"] = rec["due_at"] - timedelta(minutes=rec["remind_before_minutes"])
            if rec["remind_at"] <= now:
                rec["reminded_at"] = now
        inserts.append(rec)
        snap = {k: rec[k] for k in ("title", "description", "due_at", "assignee_id", "customer_id", "priority", "status",
                                    "repeat")}
        items.append((tid, rec["title"], created_changes({k: x for k, x in snap.items() if x not in (None, [])}),
                      rec["customer_id"], {}))
    if inserts:
        await bulk_insert(session, Task.__table__, inserts)
        ctx.remember(ids, [r.line for r in new])
        _notify_assignees(session, ctx, inserts)
    audits, events = _events(ctx, now, "create", "task", items)
    await _write_events(session, audits, events)
    return len(inserts), set()


def _notify_assignees(session: AsyncSession, ctx: Ctx, tasks: list[dict[str, Any]]) -> None:
    """The bell of each assignee other than the importer, in the same transaction as the tasks: one task gets the
    notification the app makes for a task assigned by hand, several in one batch one summary (not a flood)."""
    from guanxi.activities.service import excerpt
    from guanxi.notifications.service import Recipient, notify

    p = ctx.p
    mine: dict[int, list[dict[str, Any]]] = {}
    for rec in tasks:
        if rec["assignee_id"] and rec["assignee_id"] != p.user_id:
            mine.setdefault(rec["assignee_id"], []).append(rec)
    for uid, recs in mine.items():
        q = ctx.principals.get(uid)
        if q is None:
            continue
        who = [Recipient(q.user_id, q.language)]
        if len(recs) == 1:
            notify(session, p, who, kind="task_assigned", title=_assigned_title(p.name, recs[0]["title"]),
                   body=excerpt(recs[0]["description"], 200) or None, link=f"/tasks/{recs[0]['id']}",
                   record_type="task", record_id=recs[0]["id"])
            continue
        notify(session, p, who, kind="task_assigned", title=_assigned_many_title(p.name, len(recs), recs[0]["title"]),
               body="\n".join(r["title"] for r in recs[:10]) + ("\n…" if len(recs) > 10 else ""), link="/my-work")


def _assigned_title(actor: str, title: str) -> Callable[[str], str]:
    return lambda lang: f"{actor} assigned you a task: {title}" if lang == "en" else f"{actor} 给你分配了待办：{title}"


def _assigned_many_title(actor: str, n: int, first: str) -> Callable[[str], str]:
    return lambda lang: (f"{actor} assigned you {n} tasks by import: {first} …" if lang == "en"
                         else f"{actor} 通过导入给你分配了 {n} 个待办：{first} 等")


WRITERS = {"customers": _write_customers, "contacts": _write_contacts, "interactions": _write_interactions,
           "tasks": _write_tasks}

