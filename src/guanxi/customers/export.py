"""Customer list and contact exports: the list's own scope, filters and field rules, formatted for people."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from guanxi.audit import service as audit
from guanxi.authz.core import Principal
from guanxi.customers import repository as repo
from guanxi.customers import schemas as s
from guanxi.customers import service
from guanxi.customers.models import CustomFieldDef
from guanxi.kit.export import vcard

PAGE = 1_000
_STANDARD = ("name", "kind", "industry", "size", "province", "city", "district", "address", "phones", "emails",
             "wechat", "website", "source", "stage", "grade", "tags", "owner_id", "team_id", "birthday", "notes",
             "last_contacted_at", "created_at", "updated_at")
_NAMES = {"owner_id": "owner_name", "team_id": "team_name"}
_YES_NO = {True: ("是", "Yes"), False: ("否", "No")}


class CustomerExport:
    """Columns and row formatting for one caller, language and workspace."""

    def __init__(self, p: Principal, en: bool, defs: list[CustomFieldDef], sources: dict[str, str]) -> None:
        self.p, self.en, self.defs, self.sources = p, en, defs, sources
        self.tz = ZoneInfo(p.workspace_timezone)
        # a field the role may not see at all is left out rather than shown as an empty column
        self.fields = [f for f in _STANDARD if p.field_rule("customers", f) != "hidden"]

    def _label(self, zh_en: tuple[str, str]) -> str:
        return zh_en[1 if self.en else 0]

    def header(self) -> list[str]:
        cols = [self._label(service.FIELD_LABELS[f]) for f in self.fields]
        return cols + [(d.label_en or d.label) if self.en else d.label for d in self.defs]

    def _when(self, v: datetime | None) -> str:
        if v is None:
            return ""
        if v.tzinfo is None:  # SQLite hands back naive UTC
            v = v.replace(tzinfo=ZoneInfo("UTC"))
        return v.astimezone(self.tz).strftime("%Y-%m-%d %H:%M")

    def _value(self, c: s.Customer, f: str) -> Any:
        if f in _NAMES:
            return getattr(c, _NAMES[f]) or ""
        v = getattr(c, f)
        if v is None:
            return ""
        if f in service.ENUM_LABELS:
            lab = service.ENUM_LABELS[f].get(v)
            return self._label(lab) if lab else v
        if f == "source":
            return self.sources.get(v, v)
        if isinstance(v, list):
            return "; ".join(str(x) for x in v)
        if isinstance(v, datetime):
            return self._when(v)
        if isinstance(v, date):
            return v.isoformat()
        return v

    def _custom(self, d: CustomFieldDef, v: Any, users: dict[int, str]) -> Any:
        if v is None or v == "" or v == []:
            return ""
        options = {o["value"]: (o.get("label_en") or o["label"]) if self.en else o["label"] for o in d.options}
        if d.type == "select":
            return options.get(v, v)
        if d.type == "multiselect" and isinstance(v, list):
            return "; ".join(str(options.get(x, x)) for x in v)
        if d.type == "boolean" and isinstance(v, bool):
            return self._label(_YES_NO[v])
        if d.type == "user" and isinstance(v, int):
            return users.get(v, str(v))
        return v

    async def rows(self, session: AsyncSession, customers: list[s.Customer]) -> list[list[Any]]:
        user_keys = [d.key for d in self.defs if d.type == "user"]
        ids = [c.custom.get(k) for c in customers for k in user_keys]
        users, _ = await repo.names_for(session, [i for i in ids if isinstance(i, int)], []) if user_keys else ({}, {})
        return [[self._value(c, f) for f in self.fields] + [self._custom(d, c.custom.get(d.key), users) for d in self.defs]
                for c in customers]


async def walk(
    session: AsyncSession, p: Principal, ex: CustomerExport, *, q: str | None, filters: list[str], sort: str | None
) -> AsyncIterator[list[list[Any]]]:
    """Pages of formatted rows through the list service itself: the same scope, filters, sort and field rules."""
    cursor: str | None = None
    while True:
        rows, cursor, _, _ = await service.list_customers(
            session, p, q=q, filters=filters, sort=sort, limit=PAGE, cursor=cursor, deleted=False, page_size=PAGE)
        yield await ex.rows(session, service.rows_out(p, rows))
        if cursor is None:
            return


def record_export(session: AsyncSession, p: Principal, record_id: int | None, label: str, fmt: str, rows: int,
                  filters: dict[str, Any] | None = None) -> None:
    changes: list[dict[str, Any]] = [{"field": "format", "new": fmt}, {"field": "rows", "new": rows}]
    if filters is not None:
        changes.insert(1, {"field": "filters", "new": filters})
    audit.record(session, workspace_id=p.workspace_id, action="export", record_type="customer", record_id=record_id,
                 label=label, changes=changes, user_id=p.user_id, user_name=p.name, ip=p.ip)


async def contacts_vcard(session: AsyncSession, p: Principal, customer_id: int) -> tuple[str, str, int]:
    """The customer's contacts as vCard 3.0, phones and emails as the role sees them; the name, text and count."""
    p.require("customers", "export")
    c = await service.get_customer(session, p, customer_id)
    contacts = [service.contact_out(p, ct) for ct in await service.list_contacts(session, p, customer_id)]
    text = "".join(vcard(ct.name, c.name, ct.title, ct.phones, ct.emails) for ct in contacts)
    return c.name, text, len(contacts)
