"""The lists an export can read: each walks its list's own service (scope, filters, sort, field rules) page by page.

A source names its columns (key and label in the caller's language), counts its rows up to a cap and yields
pages of formatted cells; `guanxi.kit.export.encode` turns them into CSV or .xlsx. Nothing here writes files.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from guanxi.activities import service as activities
from guanxi.activities.schemas import Bucket, Status
from guanxi.audit.models import AuditEntry
from guanxi.audit.schemas import AuditEntryOut
from guanxi.authz.core import Principal
from guanxi.customers import export as customer_export
from guanxi.customers import repository as customer_repo
from guanxi.customers import service as customers
from guanxi.customers.models import Contact, Customer
from guanxi.kit.errors import FieldError, Problem, validation_error
from guanxi.kit.schemas import Id, Instant

PAGE = 1_000


@dataclass(frozen=True)
class Column:
    key: str
    label: tuple[str, str]  # zh-CN, en


@dataclass
class Spec:
    """What to export: the list, and its search, filters, sort, columns and list-specific parameters."""

    list: str
    q: str | None = None
    filter: builtins.list[str] = field(default_factory=builtins.list)
    sort: str | None = None
    columns: builtins.list[str] | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def plain(self) -> dict[str, Any]:
        return {"q": self.q, "filter": list(self.filter), "sort": self.sort, "columns": self.columns,
                "params": dict(self.params)}

    @classmethod
    def of(cls, list_key: str, data: dict[str, Any]) -> Spec:
        return cls(list=list_key, q=data.get("q"), filter=list(data.get("filter") or []), sort=data.get("sort"),
                   columns=data.get("columns"), params=dict(data.get("params") or {}))


class Source:
    """One list for one caller. Subclasses fill in the columns and the walk."""

    key: ClassVar[str]
    module: ClassVar[str]  # whose `export` permission it needs
    record_type: ClassVar[str]  # of its audit entry
    title: ClassVar[tuple[str, str]]
    params_model: ClassVar[type[BaseModel] | None] = None

    def __init__(self, p: Principal, spec: Spec, en: bool) -> None:
        self.p, self.spec, self.en = p, spec, en
        self.tz = ZoneInfo(p.workspace_timezone)
        self.args: Any = None
        self.all_columns: list[Column] = []
        self.picked: list[int] | None = None

    # ---------------------------------------------------------------- set-up

    async def open(self, session: AsyncSession) -> None:
        """Check the permission and the parameters, then learn the columns."""
        self.p.require(self.module, "view")
        self.p.require(self.module, "export")
        self.args = self._parse_params()
        self.all_columns = await self.load_columns(session)
        if self.spec.columns:
            keys = [c.key for c in self.all_columns]
            bad = [FieldError(f"columns.{i}", "invalid_option") for i, k in enumerate(self.spec.columns) if k not in keys]
            if bad:
                raise validation_error(bad)
            self.picked = [keys.index(k) for k in self.spec.columns]

    def _parse_params(self) -> Any:
        if self.params_model is None:
            if self.spec.params:
                raise validation_error([FieldError(f"params.{k}", "unknown_field") for k in self.spec.params])
            return None
        try:
            return self.params_model.model_validate(self.spec.params)
        except ValidationError as exc:
            errors = []
            for e in exc.errors():
                where = ".".join(str(x) for x in e["loc"])
                errors.append(FieldError(f"params.{where}", "unknown_field" if e["type"] == "extra_forbidden"
                                         else "invalid_value"))
            raise validation_error(errors) from None

    async def load_columns(self, session: AsyncSession) -> list[Column]:
        raise NotImplementedError

    # ---------------------------------------------------------------- reading

    async def count(self, session: AsyncSession, cap: int) -> tuple[int, bool]:
        """Rows up to `cap`; every caller counts right after `open`, so this is also where the list itself
        refuses a bad q, filter or sort (400) before anything is queued or sent."""
        raise NotImplementedError

    def walk(self, session: AsyncSession) -> AsyncIterator[list[list[Any]]]:
        raise NotImplementedError

    # ---------------------------------------------------------------- what callers use

    def label(self, pair: tuple[str, str]) -> str:
        return pair[1] if self.en else pair[0]

    @property
    def sheet(self) -> str:
        return self.label(self.title)

    def header(self) -> list[str]:
        labels = [self.label(c.label) for c in self.all_columns]
        return labels if self.picked is None else [labels[i] for i in self.picked]

    def columns(self) -> list[tuple[str, str]]:
        cols = [(c.key, self.label(c.label)) for c in self.all_columns]
        return cols if self.picked is None else [cols[i] for i in self.picked]

    async def pages(self, session: AsyncSession) -> AsyncIterator[list[list[Any]]]:
        async for page in self.walk(session):
            yield page if self.picked is None else [[row[i] for i in self.picked] for row in page]

    # ---------------------------------------------------------------- formatting helpers

    def when(self, v: datetime | None) -> str:
        if v is None:
            return ""
        if v.tzinfo is None:  # SQLite hands back naive UTC
            v = v.replace(tzinfo=ZoneInfo("UTC"))
        return v.astimezone(self.tz).strftime("%Y-%m-%d %H:%M")

    @staticmethod
    def plain(v: Any) -> Any:
        if v is None:
            return ""
        if isinstance(v, list):
            return "; ".join(str(x) for x in v)
        if isinstance(v, date):
            return v.isoformat()
        return v


# ------------------------------------------------------------------ customers


class CustomerSource(Source):
    key, module, record_type, title = "customers", "customers", "customer", ("客户", "Customers")

    async def load_columns(self, session: AsyncSession) -> list[Column]:
        defs = await customer_repo.custom_defs(session, self.p.workspace_id)
        sources = {ch.key: ch.label for ch in await customers.list_channels(session, self.p)}
        self.ex = customer_export.CustomerExport(self.p, self.en, list(defs), sources)
        return ([Column(f, customers.FIELD_LABELS[f]) for f in self.ex.fields]
                + [Column(f"custom.{d.key}", (d.label, d.label_en or d.label)) for d in defs])

    async def count(self, session: AsyncSession, cap: int) -> tuple[int, bool]:
        _, _, total, capped = await customers.list_customers(
            session, self.p, q=self.spec.q, filters=self.spec.filter, sort=self.spec.sort, limit=1, cursor=None,
            deleted=False, count_cap=cap)
        return total, capped

    def walk(self, session: AsyncSession) -> AsyncIterator[list[list[Any]]]:
        return customer_export.walk(session, self.p, self.ex, q=self.spec.q, filters=self.spec.filter,
                                    sort=self.spec.sort)


# ------------------------------------------------------------------ contacts


class ContactParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_id: Id | None = None


_CONTACT_FIELDS: list[tuple[str, tuple[str, str]]] = [
    ("customer_name", ("客户", "Customer")), ("name", ("姓名", "Name")), ("title", ("职务", "Title")),
    ("phones", ("电话", "Phones")), ("emails", ("邮箱", "Emails")), ("wechat", ("微信", "WeChat")),
    ("birthday", ("生日", "Birthday")), ("is_primary", ("主要联系人", "Primary")), ("notes", ("备注", "Notes")),
    ("created_at", ("创建时间", "Created")), ("updated_at", ("更新时间", "Updated")),
]


class ContactSource(Source):
    """The contacts of the customers the caller may see (or of one customer), in the order they were added."""

    key, module, record_type, title = "contacts", "customers", "contact", ("联系人", "Contacts")
    params_model = ContactParams

    async def load_columns(self, session: AsyncSession) -> list[Column]:
        if self.args.customer_id is not None:
            await customers.get_customer(session, self.p, self.args.customer_id)  # 404 outside the caller's scope
        # a field the role may not see at all is left out rather than shown as an empty column
        self.fields = [f for f, _ in _CONTACT_FIELDS if self.p.field_rule("customers", f) != "hidden"]
        labels = dict(_CONTACT_FIELDS)
        return [Column(f, labels[f]) for f in self.fields]

    def _where(self) -> list[Any]:
        where = [customer_repo.scoped(self.p), Customer.deleted_at.is_(None), Contact.deleted_at.is_(None)]
        if self.args.customer_id is not None:
            where.append(Contact.customer_id == self.args.customer_id)
        return where

    async def count(self, session: AsyncSession, cap: int) -> tuple[int, bool]:
        sub = (select(literal_column("1")).select_from(Contact).join(Customer, Customer.id == Contact.customer_id)
               .where(*self._where()).limit(cap + 1).subquery())
        n = await session.scalar(select(func.count()).select_from(sub)) or 0
        return min(n, cap), n > cap

    async def walk(self, session: AsyncSession) -> AsyncIterator[list[list[Any]]]:
        last = 0
        yes_no = (("是", "Yes"), ("否", "No"))
        while True:
            rows = (await session.execute(
                select(Contact, Customer.name).join(Customer, Customer.id == Contact.customer_id)
                .where(*self._where(), Contact.id > last).order_by(Contact.id).limit(PAGE))).all()
            if not rows:
                return
            page = []
            for ct, customer_name in rows:
                out = customers.contact_out(self.p, ct)  # the role's masking
                cells = []
                for f in self.fields:
                    if f == "customer_name":
                        cells.append(customer_name)
                    elif f == "is_primary":
                        cells.append(self.label(yes_no[0] if out.is_primary else yes_no[1]))
                    elif f in ("created_at", "updated_at"):
                        cells.append(self.when(getattr(out, f)))
                    else:
                        cells.append(self.plain(getattr(out, f)))
                page.append(cells)
            yield page
            last = rows[-1][0].id
            if len(rows) < PAGE:
                return


# ------------------------------------------------------------------ interactions (沟通记录)


class InteractionParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_id: Id | None = None
    user_id: Id | None = None
    channel: str | None = Field(default=None, max_length=40)
    occurred_from: Instant | None = None
    occurred_to: Instant | None = None


_DIRECTIONS = {"inbound": ("客户发起", "Inbound"), "outbound": ("我方发起", "Outbound")}


class InteractionSource(Source):
    key, module, record_type, title = "interactions", "activities", "interaction", ("沟通记录", "Interactions")
    params_model = InteractionParams

    async def load_columns(self, session: AsyncSession) -> list[Column]:
        if self.spec.sort not in (None, "", "-occurred_at"):
            raise Problem(400, "invalid_sort", errors=[FieldError("sort", "invalid_option")])
        return [Column("occurred_at", ("沟通时间", "When")), Column("customer_name", ("客户", "Customer")),
                Column("contacts", ("联系人", "Contacts")), Column("channel", ("沟通方式", "Channel")),
                Column("direction", ("发起方", "Direction")), Column("duration_minutes", ("时长（分钟）", "Minutes")),
                Column("user_name", ("记录人", "By")), Column("subject", ("主题", "Subject")),
                Column("summary", ("内容", "Summary")), Column("outcome", ("结果", "Outcome")),
                Column("next_step", ("下一步", "Next step")), Column("next_step_at", ("下一步时间", "Next step at")),
                Column("attachments", ("附件", "Attachments"))]

    async def _list(self, session: AsyncSession, cursor: str | None, limit: int, cap: int | None = None) -> Any:
        a = self.args
        return await activities.list_interactions(
            session, self.p, customer_id=a.customer_id, user_id=a.user_id, channel=a.channel,
            occurred_from=a.occurred_from, occurred_to=a.occurred_to, deleted=False, limit=limit, cursor=cursor,
            page_size=limit, count_cap=cap)

    async def count(self, session: AsyncSession, cap: int) -> tuple[int, bool]:
        _, _, total, capped = await self._list(session, None, 1, cap)
        return total, capped

    async def walk(self, session: AsyncSession) -> AsyncIterator[list[list[Any]]]:
        cursor: str | None = None
        while True:
            rows, cursor, _, _ = await self._list(session, cursor, PAGE)
            page = []
            for i in await activities.interactions_out(session, self.p, rows):
                page.append([self.when(i.occurred_at), i.customer_name or "", "; ".join(c.name for c in i.contacts),
                             i.channel_label, self.label(_DIRECTIONS.get(i.direction, (i.direction, i.direction))),
                             self.plain(i.duration_minutes), i.user_name or "", self.plain(i.subject),
                             self.plain(i.summary), self.plain(i.outcome), self.plain(i.next_step),
                             self.when(i.next_step_at), "; ".join(a.filename for a in i.attachments)])
            yield page
            if cursor is None:
                return


# ------------------------------------------------------------------ tasks (待办)


class TaskParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assignee_id: Id | None = None
    customer_id: Id | None = None
    status: Status | None = None
    due_from: Instant | None = None
    due_to: Instant | None = None
    bucket: Bucket | None = None
    mine: bool = False


_PRIORITY = {"low": ("低", "Low"), "normal": ("普通", "Normal"), "high": ("高", "High"), "urgent": ("紧急", "Urgent")}
_STATUS = {"open": ("未完成", "Open"), "done": ("已完成", "Done"), "cancelled": ("已取消", "Cancelled")}
_REPEAT = {"none": ("不重复", "No"), "daily": ("每天", "Daily"), "weekly": ("每周", "Weekly"),
           "monthly": ("每月", "Monthly")}


class TaskSource(Source):
    key, module, record_type, title = "tasks", "tasks", "task", ("待办", "Tasks")
    params_model = TaskParams

    async def load_columns(self, session: AsyncSession) -> list[Column]:
        if self.spec.sort not in (None, "", "due_at", "-due_at"):
            raise Problem(400, "invalid_sort", errors=[FieldError("sort", "invalid_option")])
        return [Column("title", ("标题", "Title")), Column("customer_name", ("客户", "Customer")),
                Column("assignee_name", ("负责人", "Assignee")), Column("due_at", ("截止时间", "Due")),
                Column("priority", ("优先级", "Priority")), Column("status", ("状态", "Status")),
                Column("completed_at", ("完成时间", "Completed")), Column("repeat", ("重复", "Repeat")),
                Column("description", ("说明", "Description")), Column("created_at", ("创建时间", "Created"))]

    async def _list(self, session: AsyncSession, cursor: str | None, limit: int, cap: int | None = None) -> Any:
        a = self.args
        return await activities.list_tasks(
            session, self.p, assignee_id=a.assignee_id, customer_id=a.customer_id, status=a.status,
            due_from=a.due_from, due_to=a.due_to, bucket=a.bucket, mine=a.mine, deleted=False,
            sort=self.spec.sort or "due_at", limit=limit, cursor=cursor, page_size=limit, count_cap=cap)

    async def count(self, session: AsyncSession, cap: int) -> tuple[int, bool]:
        _, _, total, capped = await self._list(session, None, 1, cap)
        return total, capped

    async def walk(self, session: AsyncSession) -> AsyncIterator[list[list[Any]]]:
        cursor: str | None = None

        def lab(table: dict[str, tuple[str, str]], v: str) -> str:
            return self.label(table.get(v, (v, v)))

        while True:
            rows, cursor, _, _ = await self._list(session, cursor, PAGE)
            yield [[t.title, t.customer_name or "", t.assignee_name or "", self.when(t.due_at),
                    lab(_PRIORITY, t.priority), lab(_STATUS, t.status), self.when(t.completed_at),
                    lab(_REPEAT, t.repeat), self.plain(t.description), self.when(t.created_at)]
                   for t in await activities.tasks_out(session, rows)]
            if cursor is None:
                return


# ------------------------------------------------------------------ audit log (admins)


class AuditParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    record_type: str | None = Field(default=None, max_length=40)
    action: str | None = Field(default=None, max_length=20)
    user_id: Id | None = None


class AuditSource(Source):
    """The workspace's audit log, newest first, old and new values as the caller's field rules allow."""

    key, module, record_type, title = "audit", "audit", "audit", ("审计日志", "Audit log")
    params_model = AuditParams

    async def load_columns(self, session: AsyncSession) -> list[Column]:
        return [Column("at", ("时间", "When")), Column("user_name", ("操作人", "User")),
                Column("action", ("操作", "Action")), Column("record_type", ("对象类型", "Record type")),
                Column("record_id", ("对象 ID", "Record id")), Column("record_label", ("对象", "Record")),
                Column("changes", ("变更内容", "Changes")), Column("ip", ("IP", "IP"))]

    def _where(self) -> list[Any]:
        a = self.args
        where: list[Any] = [AuditEntry.workspace_id == self.p.workspace_id]
        if a.record_type:
            where.append(AuditEntry.record_type == a.record_type)
        if a.action:
            where.append(AuditEntry.action == a.action)
        if a.user_id:
            where.append(AuditEntry.user_id == a.user_id)
        return where

    async def count(self, session: AsyncSession, cap: int) -> tuple[int, bool]:
        sub = select(literal_column("1")).select_from(AuditEntry).where(*self._where()).limit(cap + 1).subquery()
        n = await session.scalar(select(func.count()).select_from(sub)) or 0
        return min(n, cap), n > cap

    @staticmethod
    def _change(c: Any) -> str:
        def show(v: Any) -> str:
            if v is None or v == "" or v == []:
                return "∅"
            return "; ".join(map(str, v)) if isinstance(v, list) else str(v)

        if c.old is None and c.new is None:
            return c.field
        return f"{c.field}: {show(c.old)} → {show(c.new)}"

    async def walk(self, session: AsyncSession) -> AsyncIterator[list[list[Any]]]:
        before: int | None = None
        while True:
            q = select(AuditEntry).where(*self._where())
            if before is not None:
                q = q.where(AuditEntry.id < before)
            rows = list(await session.scalars(q.order_by(AuditEntry.id.desc()).limit(PAGE)))
            if not rows:
                return
            page = []
            for r in rows:
                e = AuditEntryOut.of(r, self.p)
                page.append([self.when(e.at), e.user_name or "", e.action, e.record_type, self.plain(e.record_id),
                             e.record_label or "", "\n".join(self._change(c) for c in e.changes), e.ip or ""])
            yield page
            before = rows[-1].id
            if len(rows) < PAGE:
                return


SOURCES: dict[str, type[Source]] = {s.key: s for s in (CustomerSource, ContactSource, InteractionSource, TaskSource,
                                                        AuditSource)}
ListKey = Literal["customers", "contacts", "interactions", "tasks", "audit"]


async def open_source(session: AsyncSession, p: Principal, spec: Spec, *, en: bool) -> Source:
    """The source of `spec.list` for `p`, checked: permission, parameters, filters, sort and columns."""
    cls = SOURCES.get(spec.list)
    if cls is None:
        raise validation_error([FieldError("list", "invalid_option")])
    src = cls(p, spec, en)
    await src.open(session)
    return src

