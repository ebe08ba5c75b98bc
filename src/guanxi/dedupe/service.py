"""Business rules of finding and merging duplicates. Never commits.

Undo rule: a merge can be undone while the survivor is unchanged since the merge (no field edit, no later merge:
its version is the one the merge left) and every merged customer is still in the recycle bin from this merge.
Records added to the survivor after the merge stay with it; the records the merge moved go back to where they were,
as long as they are still on the survivor.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from guanxi.accounts.models import User
from guanxi.activities import repository as activities_repo
from guanxi.activities.models import Attachment, Interaction, Note, Task
from guanxi.audit import service as audit
from guanxi.audit.models import DomainEvent
from guanxi.authz.core import Principal, apply_field_rules, mask_value
from guanxi.customers import repository as customers_repo
from guanxi.customers import service as customers
from guanxi.customers.models import Contact, Customer
from guanxi.dedupe import repository as repo
from guanxi.dedupe import schemas as s
from guanxi.dedupe.models import ContactMerge, CustomerMerge, DuplicateDismissal, DuplicateGroup
from guanxi.kit.errors import FieldError, Problem, not_found, validation_error
from guanxi.kit.i18n import current_language
from guanxi.kit.models import utcnow
from guanxi.kit.normalize import PhoneError, normalize_phone
from guanxi.kit.pagination import clamp_limit, decode_cursor, encode_cursor
from guanxi.kit.schemas import ID_MAX
from guanxi.kit.versioning import bump_version

BATCH = 500  # group rows read per round, at most
MAX_SCAN = 2000  # group rows one request may read: a narrow record scope gets a short page and a cursor, not a slow one
MEMBER_CAP = 20  # members shown per group
REASON_LABELS = {"phone": ("相同电话", "Same phone"), "email": ("相同邮箱", "Same email"),
                 "name": ("同城相似名称", "Similar name, same city")}
CONTACT_REASON_LABELS = {"phone": ("相同电话", "Same phone"), "email": ("相同邮箱", "Same email"),
                         "name": ("同一客户下同名", "Same name, same customer")}
MERGE_FIELDS = ("kind", "name", "industry", "size", "province", "city", "district", "address", "phones", "emails",
                "wechat", "website", "source", "stage", "grade", "tags", "owner_id", "birthday", "notes")
CONTACT_FIELDS = ("name", "title", "phones", "emails", "wechat", "birthday", "notes")
UNION_FIELDS = ("phones", "emails", "tags")
LIST_CAPS = {"phones": 10, "emails": 10, "tags": 20}
MOVED_TABLES: tuple[tuple[str, Any], ...] = (("interactions", Interaction), ("tasks", Task), ("notes", Note),
                                              ("contacts", Contact))


def _en() -> bool:
    return current_language.get() == "en"


def _pick(pair: tuple[str, str]) -> str:
    return pair[1] if _en() else pair[0]


# ------------------------------------------------------------------ groups


def _position(cursor: str | None) -> tuple[int, int] | None:
    if not cursor:
        return None
    anchor, last = decode_cursor(cursor, 2)
    for v in (anchor, last):
        if isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= ID_MAX:
            raise Problem(400, "invalid_cursor")
    return anchor, last


async def _walk(session: AsyncSession, p: Principal, entity: str, cursor: str | None, limit: int | None,
                members_of: Any, only: int | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """Groups of at least two visible members, newest duplicates first; identical member sets become one group
    with several reasons. Reads at most MAX_SCAN group rows: a short page with a cursor beats a slow one."""
    n = clamp_limit(limit, 20)
    pos = _position(cursor)
    # a sales rep sees only their own customers: their groups are walked from the per-owner rows, not the workspace's
    own_only = p.scope != "all" and not (p.scope == "team" and p.team_ids)
    out: list[dict[str, Any]] = []
    by_set: dict[frozenset[int], dict[str, Any]] = {}
    scanned, stop_anchor, exhausted = 0, None, False
    # start small (most groups are visible to most people); grow fast when the scope filters many out
    batch = min(BATCH, 2 * n)
    while scanned < MAX_SCAN:
        if only is not None:  # the groups of one record: its own identity values, one round
            keys = await repo.groups_of(session, p.workspace_id, entity, only) if pos is None else []
        elif own_only:
            keys = await repo.group_keys_of_owner(session, p.workspace_id, entity, p.user_id, pos, batch)
        else:
            keys = await repo.group_keys(session, p.workspace_id, entity, pos, batch)
        if only is not None or len(keys) < batch:
            exhausted = True
        batch = min(BATCH, batch * 4)
        if not keys:
            break
        rows = await members_of(session, p.workspace_id, keys)
        members: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for r in rows:
            members[(r._kind, r._value)].append(r)
        stopped = False
        for g in keys:
            if stop_anchor is not None and g.anchor_id != stop_anchor:
                stopped = True
                break
            scanned += 1
            pos = (g.anchor_id, g.id)
            visible = members.get((g.kind, g.value), [])
            if len(visible) < 2:
                continue
            ids = frozenset(r.id for r in visible)
            group = by_set.get(ids)
            if group is None:
                group = {"rows": visible, "reasons": [], "ids": ids}
                by_set[ids] = group
                out.append(group)
                if len(out) >= n and stop_anchor is None:
                    stop_anchor = g.anchor_id  # finish this anchor: its other reasons belong to the same group
            group["reasons"].append(g)
        if stopped:
            exhausted = False
            break
        if exhausted:
            break
    nxt = None if exhausted or pos is None else encode_cursor(list(pos))
    hidden = await repo.dismissed(session, p.workspace_id, entity, [repo.member_key(g["ids"]) for g in out])
    return [g for g in out if repo.member_key(g["ids"]) not in hidden], nxt


def _reason(p: Principal, g: DuplicateGroup, first: Any, labels: dict[str, tuple[str, str]]) -> s.DuplicateReason:
    value = g.value
    if g.kind == "phone":
        try:
            value = normalize_phone(g.value)[0]
        except PhoneError:
            pass
    if g.kind == "name":
        city = getattr(first, "city", None)
        value = " · ".join(x for x in (first.name, city) if x)
    elif (rule := p.field_rule("customers", "phones" if g.kind == "phone" else "emails")) == "masked":
        value = str(mask_value(value))
    elif rule == "hidden":
        value = "***"
    return s.DuplicateReason(kind=g.kind, value=value, label=_pick(labels[g.kind]))  # type: ignore[arg-type]


async def customer_groups(session: AsyncSession, p: Principal, cursor: str | None,
                          limit: int | None, customer_id: int | None = None) -> s.CustomerGroupPage:
    p.require("customers", "edit")

    async def members_of(session: AsyncSession, ws: int, keys: list[DuplicateGroup]) -> list[Any]:
        return await repo.customer_members(session, ws, customers_repo.scoped(p), keys)

    groups, nxt = await _walk(session, p, "customer", cursor, limit, members_of, customer_id)
    if customer_id is not None:
        groups = [g for g in groups if customer_id in g["ids"]]
    shown = [g["rows"][:MEMBER_CAP] for g in groups]
    ids = sorted({r.id for rows in shown for r in rows})
    counts = await repo.counts(session, ids)
    owners, _ = await customers_repo.names_for(session, [r.owner_id for rows in shown for r in rows], [])
    items = []
    for g, rows in zip(groups, shown, strict=True):
        members = []
        for r in rows:
            data = apply_field_rules(p, "customers", {"phones": list(r.phones or []), "emails": list(r.emails or []),
                                                      "grade": r.grade, "stage": r.stage})
            members.append(s.DuplicateCustomer(
                id=r.id, kind=r.kind, name=r.name, city=r.city, phones=data["phones"] or [],
                emails=data["emails"] or [], stage=data["stage"] or r.stage, grade=data["grade"],
                owner_id=r.owner_id, owner_name=owners.get(r.owner_id) if r.owner_id else None,
                updated_at=r.updated_at, created_at=r.created_at, version=r.version,
                contact_count=counts["contacts"].get(r.id, 0), interaction_count=counts["interactions"].get(r.id, 0),
                task_count=counts["tasks"].get(r.id, 0), note_count=counts["notes"].get(r.id, 0)))
        items.append(s.CustomerGroup(key=repo.member_key(g["ids"]), size=len(g["ids"]), members=members,
                                     reasons=[_reason(p, k, rows[0], REASON_LABELS) for k in g["reasons"]]))
    return s.CustomerGroupPage(items=items, next_cursor=nxt)


async def contact_groups(session: AsyncSession, p: Principal, cursor: str | None,
                         limit: int | None) -> s.ContactGroupPage:
    p.require("customers", "edit")

    async def members_of(session: AsyncSession, ws: int, keys: list[DuplicateGroup]) -> list[Any]:
        return await repo.contact_members(session, ws, customers_repo.scoped(p), keys)

    groups, nxt = await _walk(session, p, "contact", cursor, limit, members_of)
    items = []
    for g in groups:
        rows = g["rows"][:MEMBER_CAP]
        members = []
        for r in rows:
            data = apply_field_rules(p, "customers", {"phones": list(r.phones or []), "emails": list(r.emails or []),
                                                      "wechat": r.wechat, "birthday": r.birthday, "notes": r.notes})
            members.append(s.DuplicateContact(
                id=r.id, customer_id=r.customer_id, customer_name=r.customer_name, name=r.name, title=r.title,
                phones=data["phones"] or [], emails=data["emails"] or [], wechat=data["wechat"],
                birthday=data["birthday"], notes=data["notes"], is_primary=r.is_primary, updated_at=r.updated_at,
                version=r.version))
        items.append(s.ContactGroup(
            key=repo.member_key(g["ids"]), size=len(g["ids"]), members=members,
            same_customer=len({r.customer_id for r in g["rows"]}) == 1,
            reasons=[_reason(p, k, rows[0], CONTACT_REASON_LABELS) for k in g["reasons"]]))
    return s.ContactGroupPage(items=items, next_cursor=nxt)


# ------------------------------------------------------------------ 不是重复


async def _visible_names(session: AsyncSession, p: Principal, entity: str, ids: list[int]) -> dict[int, str]:
    if entity == "customer":
        rows = await session.execute(select(Customer.id, Customer.name).where(
            Customer.id.in_(ids), Customer.deleted_at.is_(None), customers_repo.scoped(p)))
    else:
        rows = await session.execute(select(Contact.id, Contact.name).join(Customer, Customer.id == Contact.customer_id)
                                     .where(Contact.id.in_(ids), Contact.deleted_at.is_(None),
                                            Customer.deleted_at.is_(None), customers_repo.scoped(p)))
    return {k: v for k, v in rows.all()}


def dismissal_out(d: DuplicateDismissal) -> s.Dismissal:
    return s.Dismissal(id=d.id, entity=d.entity, member_ids=list(d.member_ids), created_at=d.created_at,
                       created_by=d.created_by)


async def dismiss(session: AsyncSession, p: Principal, body: s.Dismiss) -> DuplicateDismissal:
    p.require("customers", "edit")
    ids = sorted(set(body.member_ids))
    if len(ids) < 2:
        raise validation_error([FieldError("member_ids", "too_short")])
    names = await _visible_names(session, p, body.entity, ids)
    if len(names) != len(ids):  # outside the workspace or the caller's scope: like any record, not found
        raise not_found()
    key = repo.member_key(ids)
    found = await session.scalar(select(DuplicateDismissal).where(
        DuplicateDismissal.workspace_id == p.workspace_id, DuplicateDismissal.entity == body.entity,
        DuplicateDismissal.member_key == key))
    if found is not None:
        return found
    d = DuplicateDismissal(workspace_id=p.workspace_id, entity=body.entity, member_key=key, member_ids=ids,
                           created_by=p.user_id, created_at=utcnow())
    session.add(d)
    await session.flush()
    audit.change(session, p, "create", "duplicate_dismissal", d.id, "、".join(names[i] for i in ids),
                 [{"field": "member_ids", "old": None, "new": ids}], {"entity": body.entity})
    return d


async def list_dismissals(session: AsyncSession, p: Principal, entity: str, cursor: str | None,
                          limit: int | None) -> s.DismissalPage:
    p.require("customers", "edit")
    n = clamp_limit(limit, 20)
    q = select(DuplicateDismissal).where(DuplicateDismissal.workspace_id == p.workspace_id,
                                         DuplicateDismissal.entity == entity)
    if cursor:
        (last,) = decode_cursor(cursor, 1)
        if isinstance(last, bool) or not isinstance(last, int) or not 0 < last <= ID_MAX:
            raise Problem(400, "invalid_cursor")
        q = q.where(DuplicateDismissal.id < last)
    rows = list(await session.scalars(q.order_by(DuplicateDismissal.id.desc()).limit(n + 1)))
    nxt = encode_cursor([rows[n - 1].id]) if len(rows) > n else None
    rows = rows[:n]
    names = await _visible_names(session, p, entity, sorted({i for d in rows for i in d.member_ids}))
    # a dismissal names records: only those the caller may see, and none where they see fewer than two
    items = [s.Dismissal(id=d.id, entity=d.entity, member_ids=[i for i in d.member_ids if i in names],
                         created_at=d.created_at, created_by=d.created_by)
             for d in rows if sum(1 for i in d.member_ids if i in names) >= 2]
    return s.DismissalPage(items=items, next_cursor=nxt)


async def undo_dismissal(session: AsyncSession, p: Principal, dismissal_id: int) -> None:
    p.require("customers", "edit")
    d = await session.scalar(select(DuplicateDismissal).where(DuplicateDismissal.id == dismissal_id,
                                                              DuplicateDismissal.workspace_id == p.workspace_id))
    if d is None:
        raise not_found()
    names = await _visible_names(session, p, d.entity, list(d.member_ids))
    if len(names) < 2:
        raise not_found()
    audit.change(session, p, "delete", "duplicate_dismissal", d.id, "、".join(names.values()),
                 [{"field": "member_ids", "old": list(d.member_ids), "new": None}], {"entity": d.entity})
    await session.delete(d)


# ------------------------------------------------------------------ merging customers


def _empty(v: Any) -> bool:
    return v is None or v == "" or v == [] or v == {}


def _check_versions(versions: dict[str, int], rows: list[Any], field: str = "versions") -> None:
    missing = [FieldError(f"{field}.{r.id}", "required") for r in rows if str(r.id) not in versions]
    if missing:
        raise Problem(428, "precondition_required", errors=missing)
    stale = [FieldError(f"{field}.{r.id}", "precondition_failed") for r in rows if versions[str(r.id)] != r.version]
    if stale:
        raise Problem(412, "precondition_failed", errors=stale)


def _ids_problem(survivor_id: int, merged_ids: list[int]) -> None:
    errors = []
    if survivor_id in merged_ids:
        errors.append(FieldError("merged_ids", "merge_self"))
    if len(set(merged_ids)) != len(merged_ids):
        errors.append(FieldError("merged_ids", "duplicate"))
    if errors:
        raise validation_error(errors)


def _chosen(values: dict[str, Any], allowed: tuple[str, ...], custom_keys: set[str], ids: list[int],
            survivor: Any, others: list[Any]) -> dict[str, Any]:
    """The surviving value of every field: the choice made, else the survivor's, else the first non-empty one."""
    errors: list[FieldError] = []
    by_id = {r.id: r for r in [survivor, *others]}
    for name, choice in values.items():
        if name.startswith("custom.") and name[7:] in custom_keys:
            pass
        elif name not in allowed:
            errors.append(FieldError(f"values.{name}", "unknown_field"))
            continue
        if choice == "union":
            if name not in UNION_FIELDS:
                errors.append(FieldError(f"values.{name}", "invalid_value"))
        elif isinstance(choice, bool) or choice not in ids:
            errors.append(FieldError(f"values.{name}", "invalid_value"))
    if errors:
        raise validation_error(errors)

    def get(r: Any, name: str) -> Any:
        if name.startswith("custom."):
            return (getattr(r, "custom", None) or {}).get(name[7:])
        return getattr(r, name)

    out: dict[str, Any] = {}
    names = list(allowed) + [f"custom.{k}" for k in sorted(custom_keys)]
    for name in names:
        choice = values.get(name, "union" if name in UNION_FIELDS else None)
        if choice == "union":
            seen: list[Any] = []
            for r in [survivor, *others]:
                for v in get(r, name) or []:
                    if v not in seen:
                        seen.append(v)
            if len(seen) > LIST_CAPS[name]:
                raise validation_error([FieldError(f"values.{name}", "too_long")])
            out[name] = seen
        elif choice is not None:
            out[name] = get(by_id[choice], name)
        else:
            value = get(survivor, name)
            if _empty(value):
                value = next((get(r, name) for r in others if not _empty(get(r, name))), value)
            out[name] = value
    return out


async def _load_customers(session: AsyncSession, p: Principal, survivor_id: int,
                          merged_ids: list[int]) -> tuple[Customer, list[Customer]]:
    found = {c.id: c for c in await session.scalars(select(Customer).where(
        Customer.id.in_([survivor_id, *merged_ids]), customers_repo.scoped(p)))}
    survivor = found.get(survivor_id)
    errors = []
    if survivor is None:
        raise not_found()
    if survivor.deleted_at is not None:
        errors.append(FieldError("survivor_id", "record_deleted"))
    for i, m in enumerate(merged_ids):
        c = found.get(m)
        if c is None:
            errors.append(FieldError(f"merged_ids.{i}", "not_found"))
        elif c.deleted_at is not None:
            errors.append(FieldError(f"merged_ids.{i}", "record_deleted"))
    if errors:
        raise validation_error(errors)
    return survivor, [found[m] for m in merged_ids]


def _writable(p: Principal, name: str) -> bool:
    if name == "owner_id":
        return p.can_reassign
    return p.field_rule("customers", name) not in ("read", "hidden", "masked")


def _plain_snapshot(c: Customer) -> dict[str, Any]:
    return audit._plain(customers._snapshot(c))


async def merge_customers(session: AsyncSession, p: Principal, body: s.MergeRequest) -> s.MergeResult:
    """One transaction: every record of the merged customers moves to the survivor, which takes the chosen values;
    the merged ones go to the recycle bin, marked as merged into it."""
    p.require("customers", "edit")
    p.require("customers", "delete")
    _ids_problem(body.survivor_id, body.merged_ids)
    survivor, merged = await _load_customers(session, p, body.survivor_id, body.merged_ids)
    defs = await customers_repo.custom_defs(session, p.workspace_id)
    custom_keys = {d.key for d in defs} & {k for c in [survivor, *merged] for k in (c.custom or {})} | {
        n[7:] for n in body.values if n.startswith("custom.") and n[7:] in {d.key for d in defs}}
    ids = [survivor.id, *body.merged_ids]
    chosen = _chosen(body.values, MERGE_FIELDS, custom_keys, ids, survivor, merged)
    data: dict[str, Any] = {}
    for name, value in chosen.items():
        if name.startswith("custom."):
            if (survivor.custom or {}).get(name[7:]) != value:
                data.setdefault("custom", {})[name[7:]] = value
        elif audit._plain(getattr(survivor, name)) != audit._plain(value):
            data[name] = value
    if "owner_id" in data and data["owner_id"] is None:
        del data["owner_id"]  # "no owner" is not a choice the API offers either
    for name in list(data):
        # a default (blank filled from another record) never trips over a field the role may not write;
        # an explicit choice does, with the same read_only_field error as an edit
        if name not in body.values and not (name == "custom" or _writable(p, name)):
            del data[name]
    out, identities = await customers._clean(session, p, data, survivor)  # the same checks as an edit
    _check_versions(body.versions, [survivor, *merged])
    before = _plain_snapshot(survivor)
    last_contacted_before = survivor.last_contacted_at
    await bump_version(session, survivor, survivor.version)
    for c in merged:
        await bump_version(session, c, c.version)

    now = utcnow()
    record = CustomerMerge(workspace_id=p.workspace_id, survivor_id=survivor.id, merged_ids=list(body.merged_ids),
                           state={}, created_at=now, created_by=p.user_id)
    session.add(record)
    await session.flush()

    survivor_has_primary = await session.scalar(select(Contact.id).where(
        Contact.customer_id == survivor.id, Contact.deleted_at.is_(None), Contact.is_primary).limit(1)) is not None
    moved: dict[str, dict[str, list[int]]] = {}
    totals = s.MergeMoved()
    for c in merged:
        m: dict[str, list[int]] = {}
        for name, model in MOVED_TABLES:
            m[name] = list(await session.scalars(select(model.id).where(model.customer_id == c.id)))
        m["events"] = list(await session.scalars(select(DomainEvent.id).where(
            DomainEvent.workspace_id == p.workspace_id, DomainEvent.customer_id == c.id)))
        m["unprimaried"] = []
        if survivor_has_primary:
            m["unprimaried"] = list(await session.scalars(select(Contact.id).where(
                Contact.customer_id == c.id, Contact.is_primary)))
        elif m["contacts"]:
            survivor_has_primary = await session.scalar(select(Contact.id).where(
                Contact.customer_id == c.id, Contact.deleted_at.is_(None), Contact.is_primary).limit(1)) is not None
        for name, model in MOVED_TABLES:
            await repo.move(session, model, m[name], survivor.id)
        for start in range(0, len(m["events"]), 500):
            await session.execute(update(DomainEvent).where(DomainEvent.id.in_(m["events"][start:start + 500]))
                                  .values(customer_id=survivor.id).execution_options(synchronize_session=False))
        if m["unprimaried"]:
            await session.execute(update(Contact).where(Contact.id.in_(m["unprimaried"])).values(is_primary=False)
                                  .execution_options(synchronize_session=False))
        totals.attachments += await session.scalar(select(func.count()).select_from(Attachment).where(
            Attachment.interaction_id.in_(m["interactions"]))) or 0 if m["interactions"] else 0
        totals.interactions += len(m["interactions"])
        totals.tasks += len(m["tasks"])
        totals.notes += len(m["notes"])
        totals.contacts += len(m["contacts"])
        totals.timeline += len(m["events"])
        moved[str(c.id)] = m
        c.deleted_at, c.merged_into_id, c.merge_id = now, survivor.id, record.id

    for k, v in out.items():
        setattr(survivor, k, v)
    idents = customers.with_name(survivor, identities) if identities is not None else customers.identities_of(survivor)
    await customers_repo.replace_identities(session, survivor, idents)
    await customers_repo.index_search(session, survivor, idents)
    await activities_repo.refresh_last_contacted(session, survivor.id)
    for ct in await session.scalars(select(Contact).where(Contact.id.in_(
            [i for m in moved.values() for i in m["contacts"]]))):
        await repo.replace_contact_identities(session, ct)  # a contact's name key names its customer
    # the survivor's own groups and its contacts' (per-owner rows follow an owner taken from another record)
    await repo.refresh_customers(session, p.workspace_id, [survivor.id, *(c.id for c in merged)])

    after = _plain_snapshot(survivor)
    changes = audit.diff(before, after)
    merged_refs = [{"id": c.id, "name": c.name} for c in merged]
    record.state = {"survivor_before": before, "survivor_after": after, "survivor_version": survivor.version,
                    "last_contacted_before": audit._plain(last_contacted_before),
                    "merged_versions": {str(c.id): c.version for c in merged}, "moved": moved,
                    "merged": merged_refs, "totals": totals.model_dump()}
    audit.change(session, p, "merge", "customer", survivor.id, survivor.name, changes,
                 {"merged": merged_refs, "merge_id": record.id, "moved": totals.model_dump()})
    for c in merged:
        audit.change(session, p, "merge", "customer", c.id, c.name,
                     [{"field": "merged_into", "old": None, "new": survivor.id}],
                     {"survivor": {"id": survivor.id, "name": survivor.name}, "merge_id": record.id})
    return s.MergeResult(merge_id=record.id, survivor_id=survivor.id, merged_ids=list(body.merged_ids), moved=totals)


async def _merge_record(session: AsyncSession, p: Principal, merge_id: int) -> CustomerMerge:
    record = await session.scalar(select(CustomerMerge).where(CustomerMerge.id == merge_id,
                                                              CustomerMerge.workspace_id == p.workspace_id))
    if record is None:
        raise not_found()
    visible = set(await session.scalars(select(Customer.id).where(
        Customer.id.in_([record.survivor_id, *record.merged_ids]), customers_repo.scoped(p))))
    if record.survivor_id not in visible:
        raise not_found()
    return record


def merge_out(record: CustomerMerge, survivor_name: str | None) -> s.MergeRecord:
    state = record.state or {}
    return s.MergeRecord(id=record.id, survivor_id=record.survivor_id, survivor_name=survivor_name,
                         merged=list(state.get("merged", [])), created_at=record.created_at,
                         created_by=record.created_by, undone_at=record.undone_at,
                         moved=s.MergeMoved(**state.get("totals", {})))


async def get_merge(session: AsyncSession, p: Principal, merge_id: int) -> s.MergeRecord:
    p.require("customers", "view")
    record = await _merge_record(session, p, merge_id)
    name = await session.scalar(select(Customer.name).where(Customer.id == record.survivor_id))
    return merge_out(record, name)


def _restore_value(name: str, value: Any) -> Any:
    if name == "birthday" and isinstance(value, str):
        return date.fromisoformat(value)
    return value


async def undo_merge(session: AsyncSession, p: Principal, merge_id: int) -> s.UndoResult:
    p.require("customers", "edit")
    p.require("customers", "delete")
    record = await _merge_record(session, p, merge_id)
    if record.undone_at is not None:
        raise Problem(409, "merge_already_undone")
    state = record.state
    rows = {c.id: c for c in await session.scalars(select(Customer).where(
        Customer.id.in_([record.survivor_id, *record.merged_ids]), customers_repo.scoped(p)))}
    survivor = rows[record.survivor_id]
    if survivor.deleted_at is not None:
        raise Problem(409, "merge_undo_unsafe", detail=_undo_message("survivor_deleted", survivor.name))
    if survivor.version != state["survivor_version"]:
        raise Problem(409, "merge_undo_unsafe", detail=_undo_message("survivor_changed", survivor.name))
    merged = []
    for mid in record.merged_ids:
        c = rows.get(mid)
        if c is None:  # purged since, or moved out of the caller's scope
            raise Problem(409, "merge_undo_unsafe", detail=_undo_message("merged_changed", f"#{mid}"))
        if c.deleted_at is None or c.merge_id != record.id or c.version != state["merged_versions"][str(mid)]:
            raise Problem(409, "merge_undo_unsafe", detail=_undo_message("merged_changed", c.name))
        merged.append(c)

    before = _plain_snapshot(survivor)
    await bump_version(session, survivor, survivor.version)
    for c in merged:
        m = state["moved"][str(c.id)]
        for name, model in MOVED_TABLES:
            ids = m.get(name, [])
            for start in range(0, len(ids), 500):
                await session.execute(update(model).where(model.id.in_(ids[start:start + 500]),
                                                          model.customer_id == survivor.id)
                                      .values(customer_id=c.id).execution_options(synchronize_session=False))
        events = m.get("events", [])
        for start in range(0, len(events), 500):
            await session.execute(update(DomainEvent).where(DomainEvent.id.in_(events[start:start + 500]),
                                                            DomainEvent.customer_id == survivor.id)
                                  .values(customer_id=c.id).execution_options(synchronize_session=False))
        if m.get("unprimaried"):
            await session.execute(update(Contact).where(Contact.id.in_(m["unprimaried"]), Contact.customer_id == c.id)
                                  .values(is_primary=True).execution_options(synchronize_session=False))
        c.deleted_at, c.merged_into_id, c.merge_id = None, None, None
        c.version += 1
        c.updated_at = utcnow()
    for name, value in state["survivor_before"].items():
        setattr(survivor, name, _restore_value(name, value))
    idents = customers.identities_of(survivor)
    await customers_repo.replace_identities(session, survivor, idents)
    await customers_repo.index_search(session, survivor, idents)
    for cid in [survivor.id, *record.merged_ids]:
        await activities_repo.refresh_last_contacted(session, cid)
    moved_contacts = [i for mid in record.merged_ids for i in state["moved"][str(mid)].get("contacts", [])]
    for ct in await session.scalars(select(Contact).where(Contact.id.in_(moved_contacts))):
        await repo.replace_contact_identities(session, ct)
    await repo.refresh_customers(session, p.workspace_id, [survivor.id, *(c.id for c in merged)])
    record.undone_at, record.undone_by = utcnow(), p.user_id
    refs = [{"id": c.id, "name": c.name} for c in merged]
    audit.change(session, p, "unmerge", "customer", survivor.id, survivor.name,
                 audit.diff(before, _plain_snapshot(survivor)), {"merged": refs, "merge_id": record.id})
    for c in merged:
        audit.change(session, p, "unmerge", "customer", c.id, c.name,
                     [{"field": "merged_into", "old": survivor.id, "new": None}],
                     {"survivor": {"id": survivor.id, "name": survivor.name}, "merge_id": record.id})
    return s.UndoResult(merge_id=record.id, survivor_id=survivor.id, restored_ids=[c.id for c in merged])


def _undo_message(reason: str, name: str) -> str:
    zh, en = {
        "survivor_changed": (f"合并后「{name}」又被修改或再次合并，不能自动撤销这次合并",
                             f"“{name}” was changed or merged again after this merge; it cannot be undone automatically"),
        "survivor_deleted": (f"「{name}」已在回收站中，请先恢复它再撤销合并",
                             f"“{name}” is in the recycle bin; restore it before undoing the merge"),
        "contact_deleted": (f"联系人「{name}」已被删除，不能撤销这次合并",
                            f"The contact “{name}” was deleted; the merge cannot be undone"),
        "merged_changed": (f"「{name}」已不在回收站中或已被修改，不能撤销这次合并",
                           f"“{name}” is no longer in the recycle bin or was changed; the merge cannot be undone"),
    }[reason]
    return en if _en() else zh


# ------------------------------------------------------------------ merging contacts


async def merge_contacts(session: AsyncSession, p: Principal, body: s.MergeRequest) -> s.MergeResult:
    """Contacts of one customer: the survivor takes the chosen values and every interaction's reference; the merge is
    recorded so that 撤销合并 can put everything back."""
    p.require("customers", "edit")
    _ids_problem(body.survivor_id, body.merged_ids)
    rows = {ct.id: (ct, c) for ct, c in (await session.execute(
        select(Contact, Customer).join(Customer, Customer.id == Contact.customer_id)
        .where(Contact.id.in_([body.survivor_id, *body.merged_ids]), Contact.workspace_id == p.workspace_id,
               Customer.deleted_at.is_(None), customers_repo.scoped(p)))).all()}
    if body.survivor_id not in rows:
        raise not_found()
    survivor, customer = rows[body.survivor_id]
    errors = []
    if survivor.deleted_at is not None:
        errors.append(FieldError("survivor_id", "record_deleted"))
    for i, mid in enumerate(body.merged_ids):
        if mid not in rows:
            errors.append(FieldError(f"merged_ids.{i}", "not_found"))
        elif rows[mid][0].deleted_at is not None:
            errors.append(FieldError(f"merged_ids.{i}", "record_deleted"))
        elif rows[mid][0].customer_id != survivor.customer_id:
            errors.append(FieldError(f"merged_ids.{i}", "other_customer"))
    if errors:
        raise validation_error(errors)
    merged = [rows[mid][0] for mid in body.merged_ids]
    chosen = _chosen(body.values, CONTACT_FIELDS, set(), [survivor.id, *body.merged_ids], survivor, merged)
    data = {k: v for k, v in chosen.items() if audit._plain(getattr(survivor, k)) != audit._plain(v)}
    out = customers._clean_contact(p, data, survivor)
    _check_versions(body.versions, [survivor, *merged])
    before = {k: getattr(survivor, k) for k in (*CONTACT_FIELDS, "is_primary")}
    merged_primary = {str(ct.id): ct.is_primary for ct in merged}
    await bump_version(session, survivor, survivor.version)
    for ct in merged:
        await bump_version(session, ct, ct.version)
    for k, v in out.items():
        setattr(survivor, k, v)
    if any(ct.is_primary for ct in merged):
        survivor.is_primary = True
    gone = {ct.id for ct in merged}
    links: dict[str, list[list[int]]] = {}  # interaction id -> [contact_ids before, after]
    for inter in await session.scalars(select(Interaction).where(Interaction.customer_id == customer.id)):
        if gone & set(inter.contact_ids or []):
            ids: list[int] = []
            for cid in inter.contact_ids:
                cid = survivor.id if cid in gone else cid
                if cid not in ids:
                    ids.append(cid)
            links[str(inter.id)] = [list(inter.contact_ids), ids]
            inter.contact_ids = ids
    now = utcnow()
    for ct in merged:
        ct.deleted_at, ct.is_primary = now, False
    await session.flush()
    for ct in [survivor, *merged]:
        await repo.replace_contact_identities(session, ct)
    after = {k: getattr(survivor, k) for k in before}
    refs = [{"id": ct.id, "name": ct.name} for ct in merged]
    record = ContactMerge(
        workspace_id=p.workspace_id, customer_id=customer.id, survivor_id=survivor.id, merged_ids=list(body.merged_ids),
        created_at=now, created_by=p.user_id,
        state={"survivor_before": audit._plain(before), "survivor_after": audit._plain(after),
               "survivor_version": survivor.version, "merged_versions": {str(ct.id): ct.version for ct in merged},
               "merged_primary": merged_primary, "deleted_at": audit._plain(now), "interactions": links,
               "merged": refs})
    session.add(record)
    await session.flush()
    audit.change(session, p, "merge", "contact", survivor.id, f"{customer.name} · {survivor.name}",
                 audit.diff(before, after), {"customer_id": customer.id, "merged": refs, "merge_id": record.id},
                 customer_id=customer.id)
    for ct in merged:
        audit.change(session, p, "merge", "contact", ct.id, f"{customer.name} · {ct.name}",
                     [{"field": "merged_into", "old": None, "new": survivor.id}],
                     {"customer_id": customer.id, "survivor": {"id": survivor.id, "name": survivor.name},
                      "merge_id": record.id}, customer_id=customer.id)
    return s.MergeResult(merge_id=record.id, survivor_id=survivor.id, merged_ids=list(body.merged_ids),
                         moved=s.MergeMoved(interactions=len(links)))


async def list_contact_merges(session: AsyncSession, p: Principal, cursor: str | None,
                              limit: int | None) -> s.ContactMergePage:
    """Contact merges not undone yet, newest first, of customers the caller may see: the recycle bin's 撤销合并."""
    p.require("customers", "view")
    n = clamp_limit(limit, 20)
    q = (select(ContactMerge, Customer.name, Contact.name, User.name)
         .join(Customer, Customer.id == ContactMerge.customer_id)
         .join(Contact, Contact.id == ContactMerge.survivor_id)
         .outerjoin(User, User.id == ContactMerge.created_by)
         .where(ContactMerge.workspace_id == p.workspace_id, ContactMerge.undone_at.is_(None),
                Customer.deleted_at.is_(None), customers_repo.scoped(p)))
    if cursor:
        (last,) = decode_cursor(cursor, 1)
        if isinstance(last, bool) or not isinstance(last, int) or not 0 < last <= ID_MAX:
            raise Problem(400, "invalid_cursor")
        q = q.where(ContactMerge.id < last)
    rows = (await session.execute(q.order_by(ContactMerge.id.desc()).limit(n + 1))).all()
    nxt = encode_cursor([rows[n - 1][0].id]) if len(rows) > n else None
    items = [s.ContactMergeRecord(
        id=m.id, customer_id=m.customer_id, customer_name=customer_name, survivor_id=m.survivor_id,
        survivor_name=survivor_name, merged=list((m.state or {}).get("merged", [])),
        interactions=len((m.state or {}).get("interactions", {})), created_at=m.created_at, created_by=m.created_by,
        created_by_name=by, undone_at=m.undone_at) for m, customer_name, survivor_name, by in rows[:n]]
    return s.ContactMergePage(items=items, next_cursor=nxt)


async def undo_contact_merge(session: AsyncSession, p: Principal, merge_id: int) -> s.UndoResult:
    """Put the merged contacts back as they were, the survivor's previous values, and every interaction link the merge
    rewrote (links edited since stay as they are); refused once the survivor changed."""
    p.require("customers", "edit")
    found = (await session.execute(
        select(ContactMerge, Customer).join(Customer, Customer.id == ContactMerge.customer_id)
        .where(ContactMerge.id == merge_id, ContactMerge.workspace_id == p.workspace_id,
               customers_repo.scoped(p)))).first()
    if found is None:
        raise not_found()
    record, customer = found
    if record.undone_at is not None:
        raise Problem(409, "merge_already_undone")
    if customer.deleted_at is not None:
        raise Problem(409, "merge_undo_unsafe", detail=_undo_message("survivor_deleted", customer.name))
    state = record.state
    rows = {ct.id: ct for ct in await session.scalars(select(Contact).where(
        Contact.id.in_([record.survivor_id, *record.merged_ids]), Contact.customer_id == customer.id))}
    survivor = rows.get(record.survivor_id)
    if survivor is None or survivor.deleted_at is not None:  # deleted, or moved to another customer since
        raise Problem(409, "merge_undo_unsafe", detail=_undo_message(
            "contact_deleted", survivor.name if survivor is not None else f"#{record.survivor_id}"))
    if survivor.version != state["survivor_version"]:
        raise Problem(409, "merge_undo_unsafe", detail=_undo_message("survivor_changed", survivor.name))
    merged = []
    for mid in record.merged_ids:
        ct = rows.get(mid)
        if ct is None or ct.deleted_at is None or ct.version != state["merged_versions"][str(mid)]:
            raise Problem(409, "merge_undo_unsafe",
                          detail=_undo_message("merged_changed", ct.name if ct is not None else f"#{mid}"))
        merged.append(ct)

    before = {k: getattr(survivor, k) for k in (*CONTACT_FIELDS, "is_primary")}
    still_primary = survivor.is_primary  # someone made another contact primary since: the merged ones stay secondary
    await bump_version(session, survivor, survivor.version)
    for name, value in state["survivor_before"].items():
        setattr(survivor, name, _restore_value(name, value))
    now = utcnow()
    for ct in merged:
        ct.deleted_at = None
        ct.is_primary = bool(state["merged_primary"].get(str(ct.id))) and still_primary
        ct.version += 1
        ct.updated_at = now
    links = state.get("interactions", {})
    for inter in await session.scalars(select(Interaction).where(
            Interaction.id.in_([int(i) for i in links]), Interaction.customer_id == customer.id)):
        was, became = links[str(inter.id)]
        if list(inter.contact_ids or []) == became:
            inter.contact_ids = list(was)
    await session.flush()
    for ct in [survivor, *merged]:
        await repo.replace_contact_identities(session, ct)
    record.undone_at, record.undone_by = now, p.user_id
    refs = [{"id": ct.id, "name": ct.name} for ct in merged]
    audit.change(session, p, "unmerge", "contact", survivor.id, f"{customer.name} · {survivor.name}",
                 audit.diff(before, {k: getattr(survivor, k) for k in before}),
                 {"customer_id": customer.id, "merged": refs, "merge_id": record.id}, customer_id=customer.id)
    for ct in merged:
        audit.change(session, p, "unmerge", "contact", ct.id, f"{customer.name} · {ct.name}",
                     [{"field": "merged_into", "old": survivor.id, "new": None}],
                     {"customer_id": customer.id, "survivor": {"id": survivor.id, "name": survivor.name},
                      "merge_id": record.id}, customer_id=customer.id)
    return s.UndoResult(merge_id=record.id, survivor_id=survivor.id, restored_ids=[ct.id for ct in merged])


async def user_name(session: AsyncSession, user_id: int | None) -> str | None:
    return await session.scalar(select(User.name).where(User.id == user_id)) if user_id else None
