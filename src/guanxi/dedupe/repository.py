"""All SQL of the dedupe domain: contact identities, keeping duplicate groups current, walking them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from guanxi.activities.models import Interaction, Note, Task
from guanxi.customers.models import Contact, Customer, CustomerIdentity
from guanxi.dedupe.models import ContactIdentity, DuplicateDismissal, DuplicateGroup, DuplicateGroupOwner
from guanxi.kit.models import dialect, utcnow
from guanxi.kit.normalize import PhoneError, fold, normalize_email, normalize_phone

Key = tuple[str, str]


def member_key(ids: Iterable[int]) -> str:
    return hashlib.sha256(",".join(str(i) for i in sorted(set(ids))).encode()).hexdigest()


# ------------------------------------------------------------------ contact identities


def contact_identities(customer_id: int, name: str | None, phones: list[str], emails: list[str]) -> list[Key]:
    """E.164 phones, emails, and the folded name within its customer ("<customer id>|<name>")."""
    out: list[Key] = []
    for ph in phones or []:
        try:
            key = ("phone", normalize_phone(ph)[1])
        except PhoneError:
            continue
        if key not in out:
            out.append(key)
    for em in emails or []:
        try:
            key = ("email", normalize_email(em))
        except ValueError:
            continue
        if key not in out:
            out.append(key)
    folded = fold(name or "")
    if folded:
        out.append(("name", f"{customer_id}|{folded}"[:254]))
    return out


async def replace_contact_identities(session: AsyncSession, contact: Contact) -> None:
    old = (await session.execute(select(ContactIdentity.kind, ContactIdentity.value)
                                 .where(ContactIdentity.contact_id == contact.id))).all()
    await session.execute(delete(ContactIdentity).where(ContactIdentity.contact_id == contact.id))
    new = contact_identities(contact.customer_id, contact.name, contact.phones, contact.emails)
    if new:
        await session.execute(insert(ContactIdentity), [
            {"workspace_id": contact.workspace_id, "contact_id": contact.id, "kind": k, "value": v} for k, v in new])
    await refresh(session, contact.workspace_id, "contact", {*((k, v) for k, v in old), *new})


# ------------------------------------------------------------------ keeping groups current


async def refresh(session: AsyncSession, workspace_id: int, entity: str, keys: Iterable[Key]) -> None:
    """Recount the live members of these identity values; keep a group row exactly for those with two or more."""
    wanted = sorted(set(keys))
    for start in range(0, len(wanted), 100):
        await _refresh(session, workspace_id, entity, wanted[start:start + 100])


async def _refresh(session: AsyncSession, workspace_id: int, entity: str, keys: list[Key]) -> None:
    if not keys:
        return
    if entity == "customer":
        ident: Any = CustomerIdentity
        q = (select(ident.kind, ident.value, func.count(), func.max(ident.customer_id))
             .join(Customer, Customer.id == ident.customer_id)
             .where(Customer.deleted_at.is_(None)))
    else:
        ident = ContactIdentity
        q = (select(ident.kind, ident.value, func.count(), func.max(ident.contact_id))
             .join(Contact, Contact.id == ident.contact_id).join(Customer, Customer.id == Contact.customer_id)
             .where(Contact.deleted_at.is_(None), Customer.deleted_at.is_(None)))
    # two IN lists are a range walk of the (workspace_id, kind, value) index on both databases, where an OR of
    # pairs may become a scan of the whole workspace; the cross product's extra pairs are dropped here
    wanted = set(keys)
    q = q.where(ident.workspace_id == workspace_id, ident.kind.in_(sorted({k for k, _ in keys})),
                ident.value.in_(sorted({v for _, v in keys}))).group_by(ident.kind, ident.value)
    counted = {(k, v): (n, anchor) for k, v, n, anchor in (await session.execute(q)).all() if (k, v) in wanted}
    gone: dict[str, list[str]] = {}
    for k, v in keys:
        if counted.get((k, v), (0, 0))[0] < 2:
            gone.setdefault(k, []).append(v)
    for k, values in gone.items():  # one Core DELETE per kind (an ORM delete per key was most of an import's time)
        await session.execute(
            delete(DuplicateGroup).where(DuplicateGroup.workspace_id == workspace_id, DuplicateGroup.entity == entity,
                                         DuplicateGroup.kind == k, DuplicateGroup.value.in_(values))
            .execution_options(synchronize_session=False))
    now = utcnow()
    rows = [{"workspace_id": workspace_id, "entity": entity, "kind": k, "value": v, "size": n, "anchor_id": anchor,
             "updated_at": now} for (k, v), (n, anchor) in counted.items() if n >= 2]
    if not rows:
        await _refresh_owners(session, workspace_id, entity, keys)
        return
    ins: Any = pg_insert(DuplicateGroup) if dialect(session) == "postgresql" else sqlite_insert(DuplicateGroup)
    # two writers adding the same duplicate at once must both succeed: an upsert, not select-then-insert
    stmt = ins.on_conflict_do_update(
        index_elements=["workspace_id", "entity", "kind", "value"],
        set_={"size": ins.excluded.size, "anchor_id": ins.excluded.anchor_id, "updated_at": ins.excluded.updated_at})
    await session.execute(stmt, rows)
    await _refresh_owners(session, workspace_id, entity, keys)


async def _refresh_owners(session: AsyncSession, workspace_id: int, entity: str, keys: list[Key]) -> None:
    """The per-owner rows of these identity values, from scratch (see DuplicateGroupOwner)."""
    o = DuplicateGroupOwner
    by_kind: dict[str, list[str]] = {}
    for k, v in keys:
        by_kind.setdefault(k, []).append(v)
    for k, values in by_kind.items():  # one kind at a time: exactly these pairs, no cross product
        await session.execute(delete(o).where(o.workspace_id == workspace_id, o.entity == entity, o.kind == k,
                                               o.value.in_(values)))
    if entity == "customer":
        ident: Any = CustomerIdentity
        q = (select(ident.kind, ident.value, Customer.owner_id, func.count())
             .join(Customer, Customer.id == ident.customer_id).where(Customer.deleted_at.is_(None)))
    else:
        ident = ContactIdentity
        q = (select(ident.kind, ident.value, Customer.owner_id, func.count())
             .join(Contact, Contact.id == ident.contact_id).join(Customer, Customer.id == Contact.customer_id)
             .where(Contact.deleted_at.is_(None), Customer.deleted_at.is_(None)))
    wanted = set(keys)
    q = (q.where(ident.workspace_id == workspace_id, ident.kind.in_(sorted(by_kind)),
                 ident.value.in_(sorted({v for _, v in keys})), Customer.owner_id.is_not(None))
         .group_by(ident.kind, ident.value, Customer.owner_id).having(func.count() > 1))
    counted = [(k, v, owner, n) for k, v, owner, n in (await session.execute(q)).all() if (k, v) in wanted]
    if not counted:
        return
    groups = {(g.kind, g.value): (g.id, g.anchor_id) for g in (await session.execute(
        select(DuplicateGroup.id, DuplicateGroup.kind, DuplicateGroup.value, DuplicateGroup.anchor_id).where(
            DuplicateGroup.workspace_id == workspace_id, DuplicateGroup.entity == entity,
            DuplicateGroup.kind.in_(sorted(by_kind)), DuplicateGroup.value.in_(sorted({v for _, v in keys})))))}
    rows = [{"workspace_id": workspace_id, "entity": entity, "kind": k, "value": v, "owner_id": owner, "size": n,
             "anchor_id": groups[(k, v)][1], "group_id": groups[(k, v)][0]}
            for k, v, owner, n in counted if (k, v) in groups]
    if rows:
        await session.execute(insert(o), rows)


async def customer_keys(session: AsyncSession, customer_ids: list[int]) -> list[Key]:
    rows = await session.execute(select(CustomerIdentity.kind, CustomerIdentity.value)
                                 .where(CustomerIdentity.customer_id.in_(customer_ids)))
    return [(k, v) for k, v in rows.all()]


async def contact_keys_of_customers(session: AsyncSession, customer_ids: list[int]) -> list[Key]:
    rows = await session.execute(select(ContactIdentity.kind, ContactIdentity.value)
                                 .join(Contact, Contact.id == ContactIdentity.contact_id)
                                 .where(Contact.customer_id.in_(customer_ids)))
    return [(k, v) for k, v in rows.all()]


async def refresh_customers(session: AsyncSession, workspace_id: int, customer_ids: list[int],
                            extra: Iterable[Key] = ()) -> None:
    """After customers moved in or out of the recycle bin: their groups, and their contacts' groups."""
    await session.flush()
    await refresh(session, workspace_id, "customer", [*await customer_keys(session, customer_ids), *extra])
    await refresh(session, workspace_id, "contact", await contact_keys_of_customers(session, customer_ids))


async def rebuild(session: AsyncSession, workspace_id: int | None = None) -> None:
    """Every group from scratch, with one GROUP BY per entity (migration, bulk loads)."""
    now = {"now": utcnow()}
    if dialect(session) == "sqlite":
        now = {"now": utcnow().replace(tzinfo=None)}
    ws = "" if workspace_id is None else " AND i.workspace_id = :ws"
    params = {**now, **({} if workspace_id is None else {"ws": workspace_id})}
    for table in ("duplicate_group_owners", "duplicate_groups"):
        await session.execute(text(f"DELETE FROM {table}" + ("" if workspace_id is None else
                                                            " WHERE workspace_id = :ws")), params)
    await session.execute(text(
        "INSERT INTO duplicate_groups (workspace_id, entity, kind, value, size, anchor_id, updated_at) "
        "SELECT i.workspace_id, 'customer', i.kind, i.value, COUNT(*), MAX(i.customer_id), :now "
        "FROM customer_identities i JOIN customers c ON c.id = i.customer_id "
        "WHERE c.deleted_at IS NULL" + ws + " GROUP BY i.workspace_id, i.kind, i.value HAVING COUNT(*) > 1"), params)
    await session.execute(text(
        "INSERT INTO duplicate_groups (workspace_id, entity, kind, value, size, anchor_id, updated_at) "
        "SELECT i.workspace_id, 'contact', i.kind, i.value, COUNT(*), MAX(i.contact_id), :now "
        "FROM contact_identities i JOIN contacts t ON t.id = i.contact_id JOIN customers c ON c.id = t.customer_id "
        "WHERE t.deleted_at IS NULL AND c.deleted_at IS NULL" + ws +
        " GROUP BY i.workspace_id, i.kind, i.value HAVING COUNT(*) > 1"), params)
    for sql in _OWNERS_SQL:
        await session.execute(text(sql.format(ws="" if workspace_id is None else " AND g.workspace_id = :ws")), params)


# ------------------------------------------------------------------ bulk (migration, bench loads): plain connections

_GROUPS_SQL = (
    (
        "INSERT INTO duplicate_groups (workspace_id, entity, kind, value, size, anchor_id, updated_at) "
        "SELECT i.workspace_id, 'customer', i.kind, i.value, COUNT(*), MAX(i.customer_id), CURRENT_TIMESTAMP "
        "FROM customer_identities i JOIN customers c ON c.id = i.customer_id WHERE c.deleted_at IS NULL "
        "GROUP BY i.workspace_id, i.kind, i.value HAVING COUNT(*) > 1"
    ),
    (
        "INSERT INTO duplicate_groups (workspace_id, entity, kind, value, size, anchor_id, updated_at) "
        "SELECT i.workspace_id, 'contact', i.kind, i.value, COUNT(*), MAX(i.contact_id), CURRENT_TIMESTAMP "
        "FROM contact_identities i JOIN contacts t ON t.id = i.contact_id JOIN customers c ON c.id = t.customer_id "
        "WHERE t.deleted_at IS NULL AND c.deleted_at IS NULL GROUP BY i.workspace_id, i.kind, i.value "
        "HAVING COUNT(*) > 1"
    ),
)


# per-owner rows of the groups that exist (after the groups): see DuplicateGroupOwner
_OWNERS_SQL = (
    (
        "INSERT INTO duplicate_group_owners (workspace_id, entity, kind, value, owner_id, size, anchor_id, group_id) "
        "SELECT g.workspace_id, 'customer', g.kind, g.value, c.owner_id, COUNT(*), g.anchor_id, g.id "
        "FROM duplicate_groups g JOIN customer_identities i ON i.workspace_id = g.workspace_id AND i.kind = g.kind "
        "AND i.value = g.value JOIN customers c ON c.id = i.customer_id "
        "WHERE c.deleted_at IS NULL AND c.owner_id IS NOT NULL AND g.entity = 'customer'{ws} "
        "GROUP BY g.workspace_id, g.kind, g.value, c.owner_id, g.anchor_id, g.id HAVING COUNT(*) > 1"
    ),
    (
        "INSERT INTO duplicate_group_owners (workspace_id, entity, kind, value, owner_id, size, anchor_id, group_id) "
        "SELECT g.workspace_id, 'contact', g.kind, g.value, c.owner_id, COUNT(*), g.anchor_id, g.id "
        "FROM duplicate_groups g JOIN contact_identities i ON i.workspace_id = g.workspace_id AND i.kind = g.kind "
        "AND i.value = g.value JOIN contacts t ON t.id = i.contact_id JOIN customers c ON c.id = t.customer_id "
        "WHERE c.deleted_at IS NULL AND t.deleted_at IS NULL AND c.owner_id IS NOT NULL AND g.entity = 'contact'{ws} "
        "GROUP BY g.workspace_id, g.kind, g.value, c.owner_id, g.anchor_id, g.id HAVING COUNT(*) > 1"
    ),
)


def fill_contact_identities_sync(conn: Connection, batch: int = 20_000) -> int:
    """Identities of every contact (after a bulk load that wrote none), walking contacts by id."""
    rows = text("SELECT id, workspace_id, customer_id, name, phones, emails FROM contacts WHERE id > :after "
                "ORDER BY id LIMIT :n")
    add = text("INSERT INTO contact_identities (workspace_id, contact_id, kind, value) VALUES (:w, :c, :k, :v)")
    conn.execute(text("DELETE FROM contact_identities"))
    after, n = 0, 0
    while True:
        chunk = conn.execute(rows, {"after": after, "n": batch}).all()
        if not chunk:
            return n
        values = []
        for cid, ws, customer_id, name, phones, emails in chunk:
            phones = json.loads(phones) if isinstance(phones, str) else phones
            emails = json.loads(emails) if isinstance(emails, str) else emails
            for k, v in contact_identities(customer_id, name, phones or [], emails or []):
                values.append({"w": ws, "c": cid, "k": k, "v": v})
        if values:
            conn.execute(add, values)
            n += len(values)
        after = chunk[-1][0]


def rebuild_groups_sync(conn: Connection) -> None:
    """The groups only (migration 0007 runs it before the per-owner table exists; rebuild_owners_sync follows)."""
    conn.execute(text("DELETE FROM duplicate_groups"))
    for sql in _GROUPS_SQL:
        conn.execute(text(sql))


def rebuild_owners_sync(conn: Connection) -> None:
    conn.execute(text("DELETE FROM duplicate_group_owners"))
    for sql in _OWNERS_SQL:
        conn.execute(text(sql.format(ws="")))


# ------------------------------------------------------------------ reading groups


async def group_keys(session: AsyncSession, workspace_id: int, entity: str, after: tuple[int, int] | None,
                     limit: int) -> list[DuplicateGroup]:
    q = select(DuplicateGroup).where(DuplicateGroup.workspace_id == workspace_id, DuplicateGroup.entity == entity)
    if after is not None:
        anchor, last_id = after
        q = q.where(or_(DuplicateGroup.anchor_id < anchor,
                        and_(DuplicateGroup.anchor_id == anchor, DuplicateGroup.id < last_id)))
    q = q.order_by(DuplicateGroup.anchor_id.desc(), DuplicateGroup.id.desc()).limit(limit)
    return list(await session.scalars(q))


async def group_keys_of_owner(session: AsyncSession, workspace_id: int, entity: str, owner_id: int,
                              after: tuple[int, int] | None, limit: int) -> list[DuplicateGroup]:
    """The groups with two or more members of this owner, in the full walk's order: an index walk of their rows."""
    o = DuplicateGroupOwner
    q = (select(DuplicateGroup).join(o, o.group_id == DuplicateGroup.id)
         .where(o.workspace_id == workspace_id, o.entity == entity, o.owner_id == owner_id))
    if after is not None:
        anchor, last_id = after
        q = q.where(or_(o.anchor_id < anchor, and_(o.anchor_id == anchor, o.group_id < last_id)))
    q = q.order_by(o.anchor_id.desc(), o.group_id.desc()).limit(limit)
    return list(await session.scalars(q))


async def groups_of(session: AsyncSession, workspace_id: int, entity: str, record_id: int) -> list[DuplicateGroup]:
    ident: Any = CustomerIdentity if entity == "customer" else ContactIdentity
    owner = ident.customer_id if entity == "customer" else ident.contact_id
    own = select(ident.kind, ident.value).where(owner == record_id).subquery()
    q = (select(DuplicateGroup).join(own, and_(own.c.kind == DuplicateGroup.kind, own.c.value == DuplicateGroup.value))
         .where(DuplicateGroup.workspace_id == workspace_id, DuplicateGroup.entity == entity)
         .order_by(DuplicateGroup.anchor_id.desc(), DuplicateGroup.id.desc()))
    return list(await session.scalars(q))


def _key_filter(ident: Any, groups: list[DuplicateGroup]) -> Any:
    # two IN lists walk the (workspace_id, kind, value) index; the exact pairs are picked in Python
    return and_(ident.kind.in_(sorted({g.kind for g in groups})), ident.value.in_(sorted({g.value for g in groups})))


async def customer_members(session: AsyncSession, workspace_id: int, scope: Any,
                           groups: list[DuplicateGroup]) -> list[Any]:
    if not groups:
        return []
    q = (select(CustomerIdentity.kind.label("_kind"), CustomerIdentity.value.label("_value"), Customer.id,
                Customer.kind, Customer.name, Customer.city, Customer.phones, Customer.emails, Customer.stage,
                Customer.grade, Customer.owner_id, Customer.team_id, Customer.updated_at, Customer.created_at,
                Customer.version)
         .join(Customer, Customer.id == CustomerIdentity.customer_id)
         .where(CustomerIdentity.workspace_id == workspace_id, _key_filter(CustomerIdentity, groups),
                Customer.deleted_at.is_(None), scope)
         .order_by(Customer.id.desc()))
    return list((await session.execute(q)).all())


async def contact_members(session: AsyncSession, workspace_id: int, scope: Any,
                          groups: list[DuplicateGroup]) -> list[Any]:
    if not groups:
        return []
    q = (select(ContactIdentity.kind.label("_kind"), ContactIdentity.value.label("_value"), Contact.id,
                Contact.customer_id, Customer.name.label("customer_name"), Contact.name, Contact.title, Contact.phones,
                Contact.emails, Contact.wechat, Contact.birthday, Contact.notes, Contact.is_primary,
                Contact.updated_at, Contact.version)
         .join(Contact, Contact.id == ContactIdentity.contact_id).join(Customer, Customer.id == Contact.customer_id)
         .where(ContactIdentity.workspace_id == workspace_id, _key_filter(ContactIdentity, groups),
                Contact.deleted_at.is_(None), Customer.deleted_at.is_(None), scope)
         .order_by(Contact.id.desc()))
    return list((await session.execute(q)).all())


async def counts(session: AsyncSession, customer_ids: list[int]) -> dict[str, dict[int, int]]:
    """Live contacts, interactions, tasks and notes per customer: one grouped query each, by their customer index."""
    out: dict[str, dict[int, int]] = {}
    if not customer_ids:
        return {"contacts": {}, "interactions": {}, "tasks": {}, "notes": {}}
    for name, model in (("contacts", Contact), ("interactions", Interaction), ("tasks", Task), ("notes", Note)):
        rows = await session.execute(select(model.customer_id, func.count()).where(
            model.customer_id.in_(customer_ids), model.deleted_at.is_(None)).group_by(model.customer_id))
        out[name] = {k: v for k, v in rows.all() if k is not None}
    return out


async def dismissed(session: AsyncSession, workspace_id: int, entity: str, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    rows = await session.scalars(select(DuplicateDismissal.member_key).where(
        DuplicateDismissal.workspace_id == workspace_id, DuplicateDismissal.entity == entity,
        DuplicateDismissal.member_key.in_(keys)))
    return set(rows)


async def move(session: AsyncSession, model: Any, ids: list[int], customer_id: int) -> None:
    for start in range(0, len(ids), 500):
        await session.execute(update(model).where(model.id.in_(ids[start:start + 500]))
                              .values(customer_id=customer_id).execution_options(synchronize_session=False))
