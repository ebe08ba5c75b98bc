"""Purging a customer from the recycle bin removes everything that belongs to it: rows and attachment files."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from guanxi.activities.models import Attachment, Interaction, Note, Task
from guanxi.audit.models import AuditEntry, DomainEvent
from guanxi.customers.models import Contact, Customer, CustomerIdentity
from guanxi.kit.models import utcnow
from guanxi.notifications.models import Notification
from tests.fixtures.factories import call, make_world

pytestmark = pytest.mark.anyio

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


async def count(db, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with db.session() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def busy_customer(client, w, name: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """A customer with a contact, an interaction with two files, a task, a note mentioning a colleague."""
    r = await call(client, w, "sales", "POST", "/api/v1/customers",
                   json={"name": name, "kind": "company", "phones": ["13812345678"]})
    cid = r.json()["id"]
    await call(client, w, "sales", "POST", f"/api/v1/customers/{cid}/contacts", json={"name": "王经理"})
    r = await call(client, w, "sales", "POST", "/api/v1/interactions", json={
        "customer_id": cid, "channel": "phone", "occurred_at": (utcnow() - timedelta(hours=1)).isoformat(),
        "subject": "报价", "follow_up": {"title": "回访", "due_at": (utcnow() + timedelta(days=1)).isoformat(),
                                        "assignee_id": w.users["manager"].id}})
    assert r.status_code == 201, r.text
    iid = r.json()["id"]
    for name_, data in (("报价.pdf", PDF), ("合同.pdf", PDF + name.encode())):
        r = await call(client, w, "sales", "POST", f"/api/v1/interactions/{iid}/attachments",
                       files={"file": (name_, data, "application/pdf")})
        assert r.status_code == 201, r.text
    r = await call(client, w, "sales", "POST", f"/api/v1/customers/{cid}/notes",
                   json={"body": "请跟进", "mentions": [w.users["manager"].id]})
    assert r.status_code == 201, r.text
    return cid, iid


async def test_purge_removes_rows_and_files_and_keeps_shared_bytes(client, db, settings):
    w = await make_world(db)
    cid, iid = await busy_customer(client, w, "将被清除的客户")
    keep_id, keep_iid = await busy_customer(client, w, "保留的客户")  # its 报价.pdf has the same bytes
    root = settings.attachments_dir
    files = {a: root / a for a in (await _paths(db, iid))}
    kept = set(await _paths(db, keep_iid))
    assert all(p.is_file() for p in files.values()) and len(kept & set(files)) == 1
    assert await count(db, Notification, Notification.link.startswith(f"/customers/{cid}")) >= 1
    assert await count(db, DomainEvent, DomainEvent.customer_id == cid) > 0

    assert (await call(client, w, "admin", "DELETE", f"/api/v1/customers/{cid}")).status_code == 204
    assert (await call(client, w, "admin", "DELETE", f"/api/v1/customers/{cid}/purge")).status_code == 204

    assert await count(db, Customer, Customer.id == cid) == 0
    assert await count(db, CustomerIdentity, CustomerIdentity.customer_id == cid) == 0
    assert await count(db, Contact, Contact.customer_id == cid) == 0
    assert await count(db, Interaction, Interaction.customer_id == cid) == 0
    assert await count(db, Attachment, Attachment.interaction_id == iid) == 0
    assert await count(db, Task, Task.customer_id == cid) == 0
    assert await count(db, Note, Note.customer_id == cid) == 0
    assert await count(db, Notification, Notification.link.startswith(f"/customers/{cid}")) == 0
    assert await count(db, Notification, Notification.record_type == "task",
                       Notification.user_id == w.users["manager"].id) == 1  # the other customer's task
    # the timeline is gone; only the purge itself stays, as the record of who removed the customer
    async with db.session() as s:
        kinds = list(await s.scalars(select(DomainEvent.kind).where(DomainEvent.customer_id == cid)))
    assert kinds == ["customer.purged"]
    gone = [p for rel, p in files.items() if rel not in kept]
    assert gone and not any(p.exists() for p in gone)
    assert all((root / rel).is_file() for rel in kept)  # the other customer's identical file stays

    # the other customer is untouched
    assert await count(db, Interaction, Interaction.customer_id == keep_id) == 1
    assert (await call(client, w, "sales", "GET", f"/api/v1/customers/{keep_id}/notes")).json()["items"]
    async with db.session() as s:
        entry = await s.scalar(select(AuditEntry).where(AuditEntry.workspace_id == w.workspace_id,
                                                        AuditEntry.action == "purge"))
    assert entry is not None and entry.record_id == cid and entry.user_id == w.users["admin"].id
    removed = {c["field"]: c["old"] for c in entry.changes["items"]}
    assert removed["interactions"] == 1 and removed["attachments"] == 2 and removed["tasks"] == 1
    assert removed["notes"] == 1 and removed["contacts"] == 1 and removed["events"] > 0
    assert removed["notifications"] >= 2  # the mention and the task assignment


async def test_purge_of_a_live_customer_or_by_a_non_admin_removes_nothing(client, db, settings):
    w = await make_world(db)
    cid, iid = await busy_customer(client, w, "活跃客户")
    assert (await call(client, w, "admin", "DELETE", f"/api/v1/customers/{cid}/purge")).status_code == 404
    await call(client, w, "admin", "DELETE", f"/api/v1/customers/{cid}")
    assert (await call(client, w, "manager", "DELETE", f"/api/v1/customers/{cid}/purge")).status_code == 403
    assert await count(db, Attachment, Attachment.interaction_id == iid) == 2
    assert all((settings.attachments_dir / p).is_file() for p in await _paths(db, iid))


async def _paths(db, iid: int) -> list[str]:  # type: ignore[no-untyped-def]
    async with db.session() as s:
        return list(await s.scalars(select(Attachment.storage_path).where(Attachment.interaction_id == iid)))


