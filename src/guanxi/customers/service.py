"""Business rules for customers, contacts, custom fields and channels. Never commits."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from guanxi.accounts.models import User
from guanxi.activities import files
from guanxi.activities.models import Attachment, Interaction, Note, Task
from guanxi.audit import service as audit
from guanxi.audit.models import AuditEntry, DomainEvent
from guanxi.authz.core import (
    Principal,
    apply_field_rules,
    check_writable,
    filterable,
    owner_in_scope,
    sees_only_own,
)
from guanxi.customers import repository as repo
from guanxi.customers import schemas as s
from guanxi.customers.models import Contact, Customer, CustomerIdentity, CustomFieldDef, SourceChannel
from guanxi.dedupe import repository as dedupe
from guanxi.dedupe.models import ContactIdentity
from guanxi.kit import search
from guanxi.kit.errors import FieldError, Problem, forbidden, not_found, validation_error
from guanxi.kit.i18n import current_language
from guanxi.kit.models import id_in, utcnow
from guanxi.kit.normalize import PhoneError, clean_text, name_identity, normalize_email, normalize_phone
from guanxi.kit.pagination import COUNT_CAP, clamp_limit, decode_cursor, encode_cursor
from guanxi.kit.schemas import ID_MAX, bad_text
from guanxi.kit.timeutil import as_utc, days_since
from guanxi.kit.transactions import after_commit
from guanxi.kit.versioning import bump_version
from guanxi.notifications.models import Notification

TEXT_FIELDS = ("name", "industry", "province", "city", "district", "address", "wechat", "website", "notes")
SOURCE_LABELS = {
    "referral": ("老客户介绍", "Referral"),
    "advertising": ("广告宣传", "Advertising"),
    "prospecting": ("销售人员开发", "Sales prospecting"),
    "service": ("客服人员开发", "Customer service"),
    "web": ("网络", "Web"),
    "event": ("活动", "Event"),
    "other": ("其他", "Other"),
}


# ------------------------------------------------------------------ validation


def normalize_contact_points(phones: list[str] | None, emails: list[str] | None, errors: list[FieldError]) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """Display values and (kind, normalised) identities; invalid entries become field errors."""
    shown_phones: list[str] = []
    shown_emails: list[str] = []
    identities: list[tuple[str, str]] = []
    for i, raw in enumerate(phones or []):
        if not raw or not raw.strip():
            continue
        try:
            display, e164 = normalize_phone(raw)
        except PhoneError:
            errors.append(FieldError(f"phones.{i}", "invalid_phone"))
            continue
        if ("phone", e164) not in identities:
            identities.append(("phone", e164))
            shown_phones.append(display)
    for i, raw in enumerate(emails or []):
        if not raw or not raw.strip():
            continue
        try:
            email = normalize_email(raw)
        except ValueError:
            errors.append(FieldError(f"emails.{i}", "invalid_email"))
            continue
        if ("email", email) not in identities:
            identities.append(("email", email))
            shown_emails.append(email)
    return shown_phones, shown_emails, identities


def identities_of(customer: Customer) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for ph in customer.phones:
        try:
            out.append(("phone", normalize_phone(ph)[1]))
        except PhoneError:
            pass
    out.extend(("email", e) for e in customer.emails)
    return with_name(customer, out)


def with_name(customer: Customer, identities: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The contact-point identities plus the customer's name-in-city identity (kind "name")."""
    named = name_identity(customer.name, customer.city)
    return [i for i in identities if i[0] != "name"] + ([named] if named else [])


def validate_custom(
    defs: list[CustomFieldDef], values: dict[str, Any], errors: list[FieldError], user_ids: set[int], *, creating: bool
) -> dict[str, Any]:
    by_key = {d.key: d for d in defs}
    out: dict[str, Any] = {}
    for key, value in values.items():
        d = by_key.get(key)
        path = f"custom.{key}"
        if d is None:
            errors.append(FieldError(path, "unknown_field"))
            continue
        if value is None or value == "" or value == []:
            if d.required:
                errors.append(FieldError(path, "required"))
            out[key] = None
            continue
        options = {o["value"] for o in d.options}
        try:
            if d.type == "text":
                if not isinstance(value, str) or len(value) > 2000:
                    raise ValueError
                out[key] = value.strip()
            elif d.type in ("number", "money"):
                if isinstance(value, bool) or not isinstance(value, int | float | str):
                    raise ValueError
                num = Decimal(str(value))
                if not num.is_finite() or abs(num) >= Decimal("1e15"):
                    raise ValueError
                out[key] = str(num.quantize(Decimal("0.01"))) if d.type == "money" else (
                    int(num) if num == num.to_integral_value() else float(num))
            elif d.type == "date":
                if not isinstance(value, str):
                    raise ValueError
                out[key] = date.fromisoformat(value).isoformat()
            elif d.type == "boolean":
                if not isinstance(value, bool):
                    raise ValueError
                out[key] = value
            elif d.type == "select":
                if value not in options:
                    errors.append(FieldError(path, "invalid_option"))
                    continue
                out[key] = value
            elif d.type == "multiselect":
                if not isinstance(value, list) or any(v not in options for v in value):
                    errors.append(FieldError(path, "invalid_option"))
                    continue
                out[key] = [o["value"] for o in d.options if o["value"] in value]
            elif d.type == "user":
                if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= ID_MAX:
                    raise ValueError
                if value not in user_ids:
                    errors.append(FieldError(path, "invalid_user"))
                    continue
                out[key] = value
        except (ValueError, InvalidOperation, TypeError):
            errors.append(FieldError(path, "invalid_type" if d.type != "date" else "invalid_value"))
    if creating:
        for d in defs:
            if d.required and d.key not in values:
                errors.append(FieldError(f"custom.{d.key}", "required"))
    return out


async def source_keys(session: AsyncSession, workspace_id: int) -> set[str]:
    custom = await session.scalars(select(SourceChannel.key).where(SourceChannel.workspace_id == workspace_id))
    return set(s.BUILTIN_SOURCES) | set(custom)


async def _clean(session: AsyncSession, p: Principal, data: dict[str, Any], existing: Customer | None) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
    """Validate and normalise a create or update body; every problem is reported at once."""
    check_writable(p, "customers", data.keys())
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    for f in TEXT_FIELDS:
        if f in data:
            out[f] = clean_text(data[f])
    if "name" in out and not out["name"]:
        errors.append(FieldError("name", "required"))
    for f in ("kind", "size", "stage", "grade", "birthday"):
        if f in data:
            out[f] = data[f]
    if "kind" in data and data["kind"] is None:
        errors.append(FieldError("kind", "required"))
    if "stage" in data and data["stage"] is None:
        out["stage"] = "potential"
    if out.get("website") and not re.match(r"^(https?://)?[\w.-]+\.[a-z]{2,}(/\S*)?$", out["website"], re.IGNORECASE):
        errors.append(FieldError("website", "invalid_value"))
    identities: list[tuple[str, str]] | None = None
    if "phones" in data or "emails" in data:
        phones = data.get("phones", existing.phones if existing else [])
        emails = data.get("emails", existing.emails if existing else [])
        out["phones"], out["emails"], identities = normalize_contact_points(phones, emails, errors)
    if "tags" in data:
        tags: list[str] = []
        for i, tag in enumerate(data["tags"] or []):
            tag = (tag or "").strip()
            if len(tag) > 30:
                errors.append(FieldError(f"tags.{i}", "too_long"))
            elif tag and tag not in tags:
                tags.append(tag)
        out["tags"] = tags
    if data.get("source") is not None:
        if data["source"] not in await source_keys(session, p.workspace_id):
            errors.append(FieldError("source", "invalid_option"))
        out["source"] = data["source"]
    elif "source" in data:
        out["source"] = None
    if "owner_id" in data:
        owner = None
        if data["owner_id"] is not None:
            owner = await session.scalar(
                select(User).where(User.id == data["owner_id"], User.workspace_id == p.workspace_id, User.active)
            )
        if owner is None or not owner_in_scope(p, owner.id, owner.team_id):
            errors.append(FieldError("owner_id", "invalid_user"))
        else:
            out["owner_id"], out["team_id"] = owner.id, owner.team_id
    if "custom" in data:
        defs = await repo.custom_defs(session, p.workspace_id)
        values = data["custom"] or {}
        user_keys = [v for d in defs if d.type == "user" for k, v in values.items()
                     if k == d.key and isinstance(v, int) and 0 < v <= ID_MAX]
        user_ids = set(await session.scalars(
            select(User.id).where(User.workspace_id == p.workspace_id, User.id.in_(user_keys))
        )) if user_keys else set()
        cleaned = validate_custom(defs, values, errors, user_ids, creating=existing is None)
        merged = dict(existing.custom) if existing else {}
        merged.update(cleaned)
        out["custom"] = {k: v for k, v in merged.items() if v is not None}
    elif existing is None:
        defs = await repo.custom_defs(session, p.workspace_id)
        for d in defs:
            if d.required:
                errors.append(FieldError(f"custom.{d.key}", "required"))
    if errors:
        raise validation_error(errors)
    return out, identities


async def duplicates_for(
    session: AsyncSession, p: Principal, identities: list[tuple[str, str]], exclude_id: int | None
) -> list[s.DuplicateHit]:
    hits = await repo.find_by_identities(session, p.workspace_id, identities, exclude_id)
    owners, _ = await repo.names_for(session, [c.owner_id for c, _, _ in hits], [])
    out: list[s.DuplicateHit] = []
    seen: set[tuple[int, str]] = set()
    for c, kind, value in hits:
        if (c.id, kind) in seen:
            continue
        seen.add((c.id, kind))
        visible = owner_in_scope(p, c.owner_id, c.team_id)
        if kind == "name":  # the stored key is for matching; people read the name and the city
            value = " · ".join(x for x in (c.name if visible else None, c.city) if x)
        out.append(s.DuplicateHit(id=c.id if visible else None, name=c.name if visible else None,
                                  matched_on=kind, value=value,  # type: ignore[arg-type]
                                  owner_name=owners.get(c.owner_id) if c.owner_id else None, visible=visible))
    return out


# ------------------------------------------------------------------ reads


_OUT_FIELDS = tuple(f for f in s.Customer.model_fields if f not in ("duplicates", "days_since_contact"))


def rows_data(p: Principal, rows: list[Any]) -> list[dict[str, Any]]:
    """What the API shows of plain rows that carry `repo.EXTRAS`, with the role's field rules applied."""
    out = []
    for r in rows:
        data = {f: r[f] for f in _OUT_FIELDS}
        data["days_since_contact"] = days_since(data["last_contacted_at"], p.workspace_timezone)
        out.append(apply_field_rules(p, "customers", data))
    return out


def rows_out(p: Principal, rows: list[Any]) -> list[s.Customer]:
    """Read schemas from plain rows that carry `repo.EXTRAS`, with the role's field rules applied."""
    return [s.Customer.model_validate(d) for d in rows_data(p, rows)]


async def to_out(session: AsyncSession, p: Principal, objs: list[Customer]) -> list[s.Customer]:
    extra = await repo.extras_for(session, [c.id for c in objs])
    rows = [{f: getattr(c, f) for f in _OUT_FIELDS if hasattr(c, f)} | extra.get(c.id, {}) for c in objs]
    return rows_out(p, rows)


async def get_customer(session: AsyncSession, p: Principal, customer_id: int, *, deleted: bool | None = False) -> Customer:
    p.require("customers", "view")
    c = await repo.get(session, p, customer_id, deleted=deleted)
    if c is None:
        raise not_found()
    return c


async def list_customers(
    session: AsyncSession,
    p: Principal,
    *,
    q: str | None,
    filters: list[str],
    sort: str | None,
    limit: int | None,
    cursor: str | None,
    deleted: bool,
    count_cap: int = COUNT_CAP,
    page_size: int | None = None,
) -> tuple[list[Any], str | None, int, bool]:
    """Plain rows (see `rows_out`), the next cursor, the (capped) total and whether it is capped.

    `count_cap` and `page_size` let an export count further and walk in bigger pages than the API list.
    """
    p.require("customers", "delete" if deleted else "view")
    kind = repo.dialect(session)
    needs_defs = any("custom." in f for f in filters) or (sort or "").lstrip("-+").startswith("custom.")
    defs = {d.key: d for d in await repo.custom_defs(session, p.workspace_id)} if needs_defs else {}
    where = [repo.scoped(p), Customer.deleted_at.is_not(None) if deleted else Customer.deleted_at.is_(None)]
    for f in filters:
        if not filterable(p, "customers", f.partition(":")[0]):
            raise Problem(400, "invalid_filter", errors=[FieldError(f.partition(":")[0], "forbidden")])
    where += repo.parse_filters(kind, filters, defs, tz=p.workspace_timezone)
    n = page_size or clamp_limit(limit)
    if q and bad_text(q):
        raise Problem(400, "invalid_filter", errors=[FieldError("q", "invalid_value")])
    if q and q.strip() and not sort:
        return await _search(session, p, q, where, n, cursor)
    if q and q.strip():
        where.append(id_in(kind, Customer.id, await _ranked_ids(session, p, q, where)))
    ref, desc = repo.sort_ref(kind, sort or ("-deleted_at" if deleted else "-updated_at"), defs)
    position, known_total = None, None
    if cursor:
        # a page cursor carries the first page's capped total: later pages do not count again
        value, last_id, total, capped = decode_cursor(cursor, 4)
        if isinstance(total, bool) or not isinstance(total, int) or not 0 <= total <= count_cap or not isinstance(capped, bool):
            raise Problem(400, "invalid_cursor")
        position, known_total = (value, last_id), (total, capped)
    if ref.name == "owner_id":  # by the owner's name in pinyin order, like the name sort; the unowned last
        # only the owners the record scope can reach are walked (`where` carries the scope itself)
        owners: list[int | None] = [p.user_id] if sees_only_own(p) else \
            [*await repo.owners_in_name_order(session, p.workspace_id), None]
        rows, nxt = await repo.page_by_owner(session, where, owners[::-1] if desc else owners, n, position)
    else:
        rows, nxt = await repo.page(session, where, ref, desc, n, position)
    if known_total is not None:
        total, capped = known_total
    elif nxt is None:
        total, capped = len(rows), False
    else:
        total, capped = await repo.capped_count(session, where, count_cap)
    next_cursor = encode_cursor([nxt[0], nxt[1], total, capped]) if nxt else None
    return rows, next_cursor, total, capped


async def _search(
    session: AsyncSession, p: Principal, q: str, where: list[Any], limit: int, cursor: str | None
) -> tuple[list[Any], str | None, int, bool]:
    """Best match first: rank the (capped) candidate set, then page through it by each page's last rank.

    A later page is "what ranks after the previous page's last row" (tier, updated_at, id), with the first page's
    total carried in the cursor: PostgreSQL may rank a sample of a frequent term's matches, which differs from one
    request to the next, and a record edited between two pages moves; neither repeats a row on the next page."""
    after, known = None, None
    if cursor:
        rank, stamp, last_id, total, capped = decode_cursor(cursor, 5)
        if (isinstance(rank, bool) or not isinstance(rank, int) or not isinstance(stamp, str)
                or isinstance(last_id, bool) or not isinstance(last_id, int) or not 0 < last_id <= ID_MAX
                or isinstance(total, bool) or not isinstance(total, int)
                or not 0 <= total <= repo.SEARCH_CAP + repo.PREFIX_CAP
                or not isinstance(capped, bool)):
            raise Problem(400, "invalid_cursor")
        try:
            after = (rank, as_utc(datetime.fromisoformat(stamp)), last_id)
        except ValueError:
            raise Problem(400, "invalid_cursor") from None
        known = (total, capped)
    more, page = False, list[tuple[int, Any]]()
    if search.fold_name(q):
        kind = repo.dialect(session)
        tier = _tier(p, q, kind)
        if kind == "postgresql":  # one statement: the page's rows, the count and whether it was capped
            page, total, capped = await repo.search_page_pg(session, q, where, tier, after_rank=after, limit=limit)
            more = len(page) > limit
        else:
            # every candidate's updated_at only for a later page: on SQLite reading 300 of them cost more than the
            # ranking
            ranked, capped = await _ranked_sqlite(session, p, q, where, tier, stamps=after is not None)
            total = len(ranked)
            if after is not None:
                ranked = [r for r in ranked if r.updated_at is not None and (r.tier, as_utc(r.updated_at), r.id) < after]
            more = len(ranked) > limit
            rows = await repo.rows_by_ids(session, [r.id for r in ranked[:limit]])
            page = [(r.tier, rows[r.id]) for r in ranked[:limit] if r.id in rows]
    else:
        total, capped = 0, False
    if known is not None:
        total, capped = known
    shown = page[:limit]
    next_cursor = None
    if shown and more:  # the last row's rank; its updated_at as read with the page
        last_tier, last = shown[-1]
        next_cursor = encode_cursor([last_tier, as_utc(last["updated_at"]).isoformat(), last["id"], total, capped])
    return [row for _, row in shown], next_cursor, total, capped


def _tier(p: Principal, q: str, kind: str) -> Any:
    # a field the role may not read in full must not answer searches either, one guess at a time
    phones_ok, emails_ok, wechat_ok = (filterable(p, "customers", f) for f in ("phones", "emails", "wechat"))
    return repo.rank_expr(kind, q.strip().isdigit(), phones_ok, emails_ok, wechat_ok)


async def _ranked_ids(session: AsyncSession, p: Principal, q: str, where: list[Any]) -> list[int]:
    """The ids of the visible matches of `q`, best first (a search with another sort keeps only these)."""
    if not search.fold_name(q):
        return []
    kind = repo.dialect(session)
    tier = _tier(p, q, kind)
    if kind == "postgresql":
        return (await repo.ranked_pg(session, q, where, tier))[0]
    return [r.id for r in (await _ranked_sqlite(session, p, q, where, tier))[0]]


async def _ranked_sqlite(session: AsyncSession, p: Principal, q: str, where: list[Any], tier: Any, *,
                         stamps: bool = False) -> tuple[list[repo.Rank], bool]:
    """SQLite: the visible matches of `q`, best first, and whether the candidate set was capped; with `stamps`,
    each with its updated_at."""
    ids = await repo.search_candidates(session, p, q)
    if not ids:
        return [], False
    cols = (Customer.id, tier, Customer.updated_at) if stamps else (Customer.id, tier)
    ranked = (await session.execute(
        select(*cols).where(*where, Customer.id.in_(ids), tier > 0)
        .order_by(tier.desc(), Customer.updated_at.desc(), Customer.id.desc()), repo.rank_params(q)
    )).all()
    return [repo.Rank(r[0], r[1], r[2] if stamps else None) for r in ranked], len(ids) >= repo.SEARCH_CAP


# ------------------------------------------------------------------ writes


def _snapshot(c: Customer) -> dict[str, Any]:
    return {f: getattr(c, f) for f in s.CustomerWrite.model_fields} | {"team_id": c.team_id}


async def create_customer(session: AsyncSession, p: Principal, body: s.CustomerCreate) -> tuple[Customer, list[s.DuplicateHit]]:
    p.require("customers", "create")
    data = body.model_dump(exclude_unset=True)
    out, identities = await _clean(session, p, data, None)
    if "owner_id" not in out:
        me = await session.get(User, p.user_id)
        out["owner_id"], out["team_id"] = p.user_id, me.team_id if me else None
    now = utcnow()
    c = Customer(workspace_id=p.workspace_id, created_by=p.user_id, created_at=now, updated_at=now, version=1,
                 phones=[], emails=[], tags=[], custom={}, stage="potential")
    for k, v in out.items():
        setattr(c, k, v)
    session.add(c)
    await session.flush()
    identities = with_name(c, identities or [])
    dups = await duplicates_for(session, p, identities, c.id)
    await repo.replace_identities(session, c, identities)
    await repo.index_search(session, c, identities)
    after = {k: v for k, v in _snapshot(c).items() if v not in (None, [], {})}
    audit.change(session, p, "create", "customer", c.id, c.name, audit.diff({}, after))
    return c, dups


def parse_if_match(value: str | None) -> int:
    if value is None:
        raise Problem(428, "precondition_required")
    raw = value.strip().removeprefix("W/").strip('"')
    if not raw.isdigit():
        raise Problem(412, "precondition_failed")
    return int(raw)


async def update_customer(session: AsyncSession, p: Principal, customer_id: int, body: s.CustomerUpdate, if_match: str | None) -> Customer:
    p.require("customers", "edit")
    c = await get_customer(session, p, customer_id)
    expected = parse_if_match(if_match)
    data = body.model_dump(exclude_unset=True)
    out, identities = await _clean(session, p, data, c)
    if c.version != expected:
        raise Problem(412, "precondition_failed")
    before = _snapshot(c)
    for k, v in out.items():
        setattr(c, k, v)
    changes = audit.diff(before, _snapshot(c))
    if not changes:
        return c
    await bump_version(session, c, expected)
    if identities is not None or "name" in out or "city" in out:
        identities = with_name(c, identities) if identities is not None else identities_of(c)
        await repo.replace_identities(session, c, identities)
    if identities is not None or "wechat" in out:
        await repo.index_search(session, c, identities if identities is not None else identities_of(c))
    if "owner_id" in out and out["owner_id"] != before.get("owner_id"):
        await dedupe.refresh_customers(session, p.workspace_id, [c.id])  # its groups on the owners' duplicates pages
    audit.change(session, p, "update", "customer", c.id, c.name, changes)
    return c


async def delete_customer(session: AsyncSession, p: Principal, customer_id: int) -> None:
    p.require("customers", "delete")
    c = await get_customer(session, p, customer_id)
    c.deleted_at = utcnow()
    c.version += 1
    await dedupe.refresh_customers(session, p.workspace_id, [c.id])
    audit.change(session, p, "delete", "customer", c.id, c.name)


async def restore_customer(session: AsyncSession, p: Principal, customer_id: int) -> Customer:
    p.require("customers", "delete")
    c = await get_customer(session, p, customer_id, deleted=True)
    if c.merge_id is not None:  # merged into another customer: restoring it is undoing that merge
        from guanxi.dedupe import service as merges

        await merges.undo_merge(session, p, c.merge_id)
        return c
    c.deleted_at = None
    c.version += 1
    c.updated_at = utcnow()
    await dedupe.refresh_customers(session, p.workspace_id, [c.id])
    audit.change(session, p, "restore", "customer", c.id, c.name)
    return c


async def purge_customer(session: AsyncSession, p: Principal, customer_id: int, *,
                         attachments_root: Path | None = None) -> None:
    """Delete a binned customer for good, with everything that belongs to it: contacts, interactions and their
    attachment files, tasks, notes, timeline events and the notifications about them. The audit log keeps
    who purged what (and the earlier history) — it is the record, not the customer's data."""
    if not p.is_admin:
        raise forbidden()
    c = await get_customer(session, p, customer_id, deleted=True)
    ws = c.workspace_id
    interactions = select(Interaction.id).where(Interaction.customer_id == c.id)
    tasks = select(Task.id).where(Task.customer_id == c.id)
    notes = select(Note.id).where(Note.customer_id == c.id)
    files_of = (await session.execute(select(Attachment.storage_path).where(
        Attachment.interaction_id.in_(interactions)))).scalars().all()
    # content-addressed: bytes another customer's attachment names stay
    shared = set(await session.scalars(select(Attachment.storage_path).where(
        Attachment.workspace_id == ws, Attachment.storage_path.in_(sorted(set(files_of))),
        Attachment.interaction_id.not_in(interactions)))) if files_of else set()
    link = f"/customers/{c.id}"
    removed: dict[str, int] = {}

    async def drop(name: str, stmt: Any) -> None:
        res = await session.execute(stmt.execution_options(synchronize_session=False))
        removed[name] = int(res.rowcount or 0)  # type: ignore[attr-defined]

    # the duplicate groups this customer and its contacts were in, before their identities go
    keys = await dedupe.customer_keys(session, [c.id])
    contact_keys = await dedupe.contact_keys_of_customers(session, [c.id])
    await session.execute(delete(ContactIdentity).where(ContactIdentity.contact_id.in_(
        select(Contact.id).where(Contact.customer_id == c.id))))
    await drop("notifications", delete(Notification).where(Notification.workspace_id == ws, or_(
        (Notification.record_type == "customer") & (Notification.record_id == c.id),
        (Notification.record_type == "task") & Notification.record_id.in_(tasks),
        (Notification.record_type == "interaction") & Notification.record_id.in_(interactions),
        (Notification.record_type == "note") & Notification.record_id.in_(notes),
        Notification.link == link, Notification.link.startswith(link + "/"), Notification.link.startswith(link + "?"))))
    await drop("attachments", delete(Attachment).where(Attachment.interaction_id.in_(interactions)))
    await drop("interactions", delete(Interaction).where(Interaction.customer_id == c.id))
    await drop("tasks", delete(Task).where(Task.customer_id == c.id))
    await drop("notes", delete(Note).where(Note.customer_id == c.id))
    await drop("contacts", delete(Contact).where(Contact.customer_id == c.id))
    await drop("events", delete(DomainEvent).where(DomainEvent.workspace_id == ws, DomainEvent.customer_id == c.id))
    await repo.unindex_search(session, c.id)
    await session.execute(delete(CustomerIdentity).where(CustomerIdentity.customer_id == c.id))
    await session.delete(c)
    await session.flush()
    await dedupe.refresh(session, p.workspace_id, "customer", keys)
    await dedupe.refresh(session, p.workspace_id, "contact", contact_keys)
    audit.change(session, p, "purge", "customer", c.id, c.name,
                 [{"field": k, "old": v, "new": 0} for k, v in removed.items() if v])
    gone = sorted(set(files_of) - shared)
    if attachments_root is not None and gone:
        root = attachments_root

        def remove_files() -> None:  # only once the rows are gone for good
            for rel in gone:
                files.remove(root, rel)

        after_commit(session, remove_files)


async def history(session: AsyncSession, p: Principal, customer_id: int, limit: int | None, cursor: str | None) -> tuple[list[AuditEntry], str | None]:
    c = await get_customer(session, p, customer_id, deleted=None)
    contact_ids = select(Contact.id).where(Contact.customer_id == c.id).scalar_subquery()
    q = select(AuditEntry).where(
        AuditEntry.workspace_id == p.workspace_id,
        or_(
            (AuditEntry.record_type == "customer") & (AuditEntry.record_id == c.id),
            (AuditEntry.record_type == "contact") & AuditEntry.record_id.in_(contact_ids),
        ),
    )
    return await audit.audit_page(session, q, limit, cursor)


# ------------------------------------------------------------------ contacts


async def _contact_customer(session: AsyncSession, p: Principal, contact_id: int) -> tuple[Contact, Customer]:
    row = (await session.execute(
        select(Contact, Customer).join(Customer, Customer.id == Contact.customer_id)
        .where(Contact.id == contact_id, Contact.deleted_at.is_(None), Customer.deleted_at.is_(None), repo.scoped(p))
    )).first()
    if row is None:
        raise not_found()
    return row[0], row[1]


def contact_out(p: Principal, contact: Contact) -> s.Contact:
    """Contacts follow the customer field rules of the caller's role (phones, emails, wechat, notes...)."""
    data = {f: getattr(contact, f) for f in s.Contact.model_fields}
    return s.Contact.model_validate(apply_field_rules(p, "customers", data))


def _clean_contact(p: Principal, data: dict[str, Any], existing: Contact | None) -> dict[str, Any]:
    check_writable(p, "customers", [k for k in data if k not in ("name", "title", "is_primary")])
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    for f in ("name", "title", "wechat", "notes"):
        if f in data:
            out[f] = clean_text(data[f])
    if "name" in data and not out.get("name"):
        errors.append(FieldError("name", "required"))
    for f in ("birthday", "is_primary"):
        if f in data:
            out[f] = data[f] if not (f == "is_primary" and data[f] is None) else False
    if "phones" in data or "emails" in data:
        phones = data.get("phones") if "phones" in data else (existing.phones if existing else [])
        emails = data.get("emails") if "emails" in data else (existing.emails if existing else [])
        out["phones"], out["emails"], _ = normalize_contact_points(phones, emails, errors)
    if errors:
        raise validation_error(errors)
    return out


async def _one_primary(session: AsyncSession, contact: Contact) -> None:
    if contact.is_primary:
        await session.execute(
            update(Contact).where(Contact.customer_id == contact.customer_id, Contact.id != contact.id,
                                  Contact.is_primary).values(is_primary=False)
        )


async def list_contacts(session: AsyncSession, p: Principal, customer_id: int) -> list[Contact]:
    c = await get_customer(session, p, customer_id, deleted=None)  # readable in the recycle bin too
    return list(await session.scalars(
        select(Contact).where(Contact.customer_id == c.id, Contact.deleted_at.is_(None))
        .order_by(Contact.is_primary.desc(), Contact.id)
    ))


async def create_contact(session: AsyncSession, p: Principal, customer_id: int, body: s.ContactCreate) -> Contact:
    p.require("customers", "edit")
    c = await get_customer(session, p, customer_id)
    out = _clean_contact(p, body.model_dump(exclude_unset=True), None)
    contact = Contact(workspace_id=p.workspace_id, customer_id=c.id, created_by=p.user_id, phones=[], emails=[],
                      is_primary=False, version=1)
    for k, v in out.items():
        setattr(contact, k, v)
    first = not await session.scalar(select(func.count()).select_from(Contact).where(
        Contact.customer_id == c.id, Contact.deleted_at.is_(None)))
    contact.is_primary = contact.is_primary or first
    session.add(contact)
    await session.flush()
    await _one_primary(session, contact)
    await dedupe.replace_contact_identities(session, contact)
    audit.change(session, p, "create", "contact", contact.id, f"{c.name} · {contact.name}",
                 audit.diff({}, {k: v for k, v in out.items() if v not in (None, [])}), {"customer_id": c.id},
                 customer_id=c.id)
    return contact


async def update_contact(session: AsyncSession, p: Principal, contact_id: int, body: s.ContactWrite, if_match: str | None) -> Contact:
    p.require("customers", "edit")
    contact, c = await _contact_customer(session, p, contact_id)
    expected = parse_if_match(if_match)
    out = _clean_contact(p, body.model_dump(exclude_unset=True), contact)
    if contact.version != expected:
        raise Problem(412, "precondition_failed")
    before = {k: getattr(contact, k) for k in out}
    for k, v in out.items():
        setattr(contact, k, v)
    changes = audit.diff(before, {k: getattr(contact, k) for k in out})
    if changes:
        contact.version += 1
        contact.updated_at = utcnow()
        await _one_primary(session, contact)
        if {"name", "phones", "emails"} & set(out):
            await session.flush()
            await dedupe.replace_contact_identities(session, contact)
        audit.change(session, p, "update", "contact", contact.id, f"{c.name} · {contact.name}", changes,
                     {"customer_id": c.id}, customer_id=c.id)
    return contact


async def delete_contact(session: AsyncSession, p: Principal, contact_id: int) -> None:
    p.require("customers", "edit")
    contact, c = await _contact_customer(session, p, contact_id)
    contact.deleted_at = utcnow()
    contact.version += 1
    await session.flush()
    await dedupe.replace_contact_identities(session, contact)
    audit.change(session, p, "delete", "contact", contact.id, f"{c.name} · {contact.name}", None, {"customer_id": c.id},
                 customer_id=c.id)


# ------------------------------------------------------------------ custom fields and channels


async def save_custom_field(session: AsyncSession, p: Principal, field_id: int | None, body: s.CustomFieldWrite) -> CustomFieldDef:
    p.require("custom_fields", "create" if field_id is None else "edit")
    data = body.model_dump(exclude_unset=True)
    if field_id is None:
        d = CustomFieldDef(workspace_id=p.workspace_id, entity="customer", options=[], required=False, position=0)
        if await session.scalar(select(CustomFieldDef.id).where(
            CustomFieldDef.workspace_id == p.workspace_id, CustomFieldDef.entity == "customer",
            CustomFieldDef.key == data["key"])):
            raise validation_error([FieldError("key", "duplicate")])
        if data["key"] in repo.STANDARD_FIELDS:
            raise validation_error([FieldError("key", "duplicate")])
    else:
        found = await session.scalar(select(CustomFieldDef).where(
            CustomFieldDef.id == field_id, CustomFieldDef.workspace_id == p.workspace_id))
        if found is None:
            raise not_found()
        d = found
        if "key" in data and data["key"] != d.key:
            raise validation_error([FieldError("key", "read_only_field")])
        if "type" in data and data["type"] != d.type:
            raise validation_error([FieldError("type", "read_only_field")])
    before = {"label": d.label, "label_en": d.label_en, "options": d.options, "required": d.required,
              "position": d.position}
    for k in ("key", "label", "type", "required", "position"):
        if k in data and data[k] is not None:
            setattr(d, k, data[k])
    if "label_en" in data:
        d.label_en = (data["label_en"] or "").strip() or None
    if "options" in data:
        opts = [{k: v for k, v in o.items() if k != "label_en" or v} for o in data["options"] or []]
        values = [o["value"] for o in opts]
        if len(values) != len(set(values)):
            raise validation_error([FieldError("options", "duplicate")])
        d.options = opts
    if d.type in ("select", "multiselect") and not d.options:
        raise validation_error([FieldError("options", "required")])
    if field_id is None:
        session.add(d)
        await session.flush()
        audit.change(session, p, "create", "custom_field", d.id, d.label)
    else:
        d.version += 1
        d.updated_at = utcnow()
        after = {"label": d.label, "label_en": d.label_en, "options": d.options, "required": d.required,
                 "position": d.position}
        audit.change(session, p, "update", "custom_field", d.id, d.label, audit.diff(before, after))
    return d


async def delete_custom_field(session: AsyncSession, p: Principal, field_id: int) -> None:
    p.require("custom_fields", "delete")
    d = await session.scalar(select(CustomFieldDef).where(
        CustomFieldDef.id == field_id, CustomFieldDef.workspace_id == p.workspace_id))
    if d is None:
        raise not_found()
    audit.change(session, p, "delete", "custom_field", d.id, d.label)
    await session.delete(d)


async def list_channels(session: AsyncSession, p: Principal) -> list[s.SourceChannel]:
    en = current_language.get() == "en"
    out = [s.SourceChannel(key=k, label=SOURCE_LABELS[k][1 if en else 0], builtin=True) for k in s.BUILTIN_SOURCES]
    rows = await session.scalars(select(SourceChannel).where(SourceChannel.workspace_id == p.workspace_id)
                                 .order_by(SourceChannel.id))
    out += [s.SourceChannel(key=r.key, label=r.label, builtin=False) for r in rows]
    return out


async def add_channel(session: AsyncSession, p: Principal, body: s.SourceChannelCreate) -> s.SourceChannel:
    p.require_admin()
    existing = await source_keys(session, p.workspace_id)
    key = body.key or f"c{len(existing) + 1}"
    while key in existing:
        key = key + "x"
    labels = await session.scalars(select(SourceChannel.label).where(SourceChannel.workspace_id == p.workspace_id))
    if body.label in set(labels) or body.label in {v[0] for v in SOURCE_LABELS.values()}:
        raise validation_error([FieldError("label", "duplicate")])
    ch = SourceChannel(workspace_id=p.workspace_id, key=key, label=body.label)
    session.add(ch)
    await session.flush()
    audit.change(session, p, "create", "source_channel", ch.id, ch.label)
    return s.SourceChannel(key=ch.key, label=ch.label, builtin=False)


async def delete_channel(session: AsyncSession, p: Principal, key: str) -> None:
    p.require_admin()
    ch = await session.scalar(select(SourceChannel).where(SourceChannel.workspace_id == p.workspace_id,
                                                          SourceChannel.key == key))
    if ch is None:
        raise not_found()
    audit.change(session, p, "delete", "source_channel", ch.id, ch.label)
    await session.delete(ch)


FIELD_LABELS = {
    "name": ("客户名称", "Name"), "kind": ("客户类型", "Type"), "industry": ("行业", "Industry"),
    "size": ("规模", "Size"), "province": ("省份", "Province"), "city": ("城市", "City"),
    "district": ("区县", "District"), "address": ("地址", "Address"), "phones": ("电话", "Phones"),
    "emails": ("邮箱", "Emails"), "wechat": ("微信", "WeChat"), "website": ("网站", "Website"),
    "source": ("获客渠道", "Source"), "stage": ("生命周期阶段", "Lifecycle stage"), "grade": ("客户分级", "Grade"),
    "tags": ("标签", "Tags"), "owner_id": ("负责人", "Owner"), "team_id": ("所属团队", "Team"),
    "birthday": ("生日/成立日期", "Birthday / founded"), "notes": ("备注", "Notes"),
    "created_at": ("创建时间", "Created"), "updated_at": ("更新时间", "Updated"), "deleted_at": ("删除时间", "Deleted"),
    "last_contacted_at": ("最近联系", "Last contacted"), "idle_days": ("未联系天数", "Days without contact"),
}
ENUM_LABELS = {
    "kind": {"company": ("企业客户", "Company"), "person": ("个人客户", "Person")},
    "stage": {"potential": ("潜在客户", "Potential"), "first_purchase": ("首次购买", "First purchase"),
              "repeat": ("重复购买", "Repeat"), "loyal": ("忠诚客户", "Loyal"), "at_risk": ("流失风险", "At risk"),
              "lost": ("流失", "Lost")},
    "grade": {g: (f"{g} 类", f"Grade {g}") for g in s.GRADES},
    "size": {v: (f"{v} 人", f"{v} people") for v in s.SIZES},
}


async def meta(session: AsyncSession, p: Principal) -> s.CustomerMeta:
    p.require("customers", "view")
    en = current_language.get() == "en"
    fields = []
    channels = await list_channels(session, p)
    for name, (typ, sortable) in repo.STANDARD_FIELDS.items():
        options = None
        if name in ENUM_LABELS:
            options = [s.Option(value=v, label=lab[1 if en else 0]) for v, lab in ENUM_LABELS[name].items()]
        elif name == "source":
            options = [s.Option(value=c.key, label=c.label) for c in channels]
        fields.append(s.FieldMeta(name=name, label=FIELD_LABELS[name][1 if en else 0], type=typ, sortable=sortable,
                                  filterable=True, options=options))
    defs = [s.CustomFieldDef.model_validate(d, from_attributes=True) for d in await repo.custom_defs(session, p.workspace_id)]
    if en:  # the UI shows `label`: English users get the English one where the admin gave it
        for d in defs:
            d.label = d.label_en or d.label
            for o in d.options:
                o.label = o.label_en or o.label
    return s.CustomerMeta(fields=fields, custom_fields=defs)
