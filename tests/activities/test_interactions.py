"""Communication records: create with contacts and a follow-up task, read, list, edit, bin, restore; channels."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from guanxi.activities.models import Interaction, Task
from guanxi.audit.models import AuditEntry, DomainEvent
from guanxi.customers.models import Customer
from guanxi.kit.models import utcnow
from tests.fixtures.factories import call, make_contact, make_customer, make_interaction, make_world

pytestmark = pytest.mark.anyio


def iso(dt):
    return dt.isoformat().replace("+00:00", "Z")


async def counts(db, w):
    async with db.session() as s:
        out = {}
        for model in (Interaction, Task, AuditEntry, DomainEvent):
            out[model.__tablename__] = await s.scalar(
                select(func.count()).select_from(model).where(model.workspace_id == w.workspace_id))
        return out


async def test_log_a_call_with_contacts_and_a_follow_up(client, db):
    w = await make_world(db)
    c = await make_customer(db, w, "sales", name="杭州云栖数据科技有限公司")
    boss = await make_contact(db, w, c, "王总")
    it = await make_contact(db, w, c, "李工", is_primary=False)
    when = utcnow() - timedelta(days=2)
    r = await call(client, w, "sales", "POST", "/api/v1/interactions", json={
        "customer_id": c.id, "contact_ids": [boss.id, it.id, boss.id], "channel": "visit", "direction": "outbound",
        "occurred_at": iso(when), "duration_minutes": 90, "subject": "AI 客服方案演示",
        "summary": "演示了知识库问答，王总关心私有化部署。", "outcome": "同意试用两周", "next_step": "发送试用账号",
        "follow_up": {"title": "发送试用账号并确认对接人", "due_at": iso(utcnow() + timedelta(days=1)),
                      "remind_before_minutes": 30}})
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["etag"] == '"1"' and r.headers["location"] == f"/api/v1/interactions/{body['id']}"
    assert body["contact_ids"] == [boss.id, it.id]
    assert [x["name"] for x in body["contacts"]] == ["王总", "李工"]
    assert body["channel_label"] == "拜访" and body["user_id"] == w.users["sales"].id
    assert body["customer_name"] == "杭州云栖数据科技有限公司" and body["attachments"] == []
    task = body["follow_up_task"]
    assert task["title"] == "发送试用账号并确认对接人" and task["customer_id"] == c.id
    assert task["assignee_id"] == w.users["sales"].id and task["related_type"] == "interaction"
    assert task["related_id"] == body["id"] and task["status"] == "open"
    assert task["remind_at"] is not None

    got = await call(client, w, "sales", "GET", f"/api/v1/customers/{c.id}")
    assert got.json()["last_contacted_at"][:19] == when.isoformat()[:19]
    assert got.json()["days_since_contact"] in (1, 2, 3)

    async with db.session() as s:
        events = (await s.execute(select(DomainEvent.kind, DomainEvent.customer_id).where(
            DomainEvent.workspace_id == w.workspace_id).order_by(DomainEvent.id))).all()
    assert events == [("interaction.created", c.id), ("task.created", c.id)]


async def test_read_list_edit_bin_and_restore_keep_last_contacted_current(client, db):
    w = await make_world(db)
    c = await make_customer(db, w, "sales")
    old, new = utcnow() - timedelta(days=40), utcnow() - timedelta(days=3)
    ids = []
    for when in (old, new):
        r = await call(client, w, "sales", "POST", "/api/v1/interactions",
                       json={"customer_id": c.id, "channel": "phone", "occurred_at": iso(when), "subject": "回访"})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])

    async def last():
        return (await call(client, w, "sales", "GET", f"/api/v1/customers/{c.id}")).json()

    assert (await last())["last_contacted_at"][:19] == new.isoformat()[:19]
    page = (await call(client, w, "sales", "GET", f"/api/v1/interactions?customer_id={c.id}&limit=1")).json()
    assert [x["id"] for x in page["items"]] == [ids[1]] and page["total"] == 2
    page2 = (await call(client, w, "sales", "GET",
                        f"/api/v1/interactions?customer_id={c.id}&limit=1&cursor={page['next_cursor']}")).json()
    assert [x["id"] for x in page2["items"]] == [ids[0]] and page2["next_cursor"] is None

    # edit: If-Match required and checked
    r = await call(client, w, "sales", "PATCH", f"/api/v1/interactions/{ids[1]}", json={"outcome": "已报价"})
    assert r.status_code == 428 and r.json()["code"] == "precondition_required"
    r = await call(client, w, "sales", "PATCH", f"/api/v1/interactions/{ids[1]}", json={"outcome": "已报价"},
                   headers={"If-Match": '"7"'})
    assert r.status_code == 412 and r.json()["code"] == "precondition_failed"
    earlier = utcnow() - timedelta(days=50)
    r = await call(client, w, "sales", "PATCH", f"/api/v1/interactions/{ids[1]}",
                   json={"outcome": "已报价", "occurred_at": iso(earlier)}, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2 and r.headers["etag"] == '"2"'
    assert (await last())["last_contacted_at"][:19] == old.isoformat()[:19]

    # the recycle bin: the customer's last contact falls back, then comes back with the restore
    r = await call(client, w, "sales", "DELETE", f"/api/v1/interactions/{ids[0]}")
    assert r.status_code == 204
    assert (await last())["last_contacted_at"][:19] == earlier.isoformat()[:19]
    assert (await call(client, w, "sales", "GET", f"/api/v1/interactions/{ids[0]}")).status_code == 404
    binned = (await call(client, w, "sales", "GET", "/api/v1/interactions?deleted=true")).json()
    assert [x["id"] for x in binned["items"]] == [ids[0]]
    r = await call(client, w, "sales", "POST", f"/api/v1/interactions/{ids[0]}/restore")
    assert r.status_code == 200 and r.json()["deleted_at"] is None
    assert (await last())["last_contacted_at"][:19] == old.isoformat()[:19]
    for i in ids:
        await call(client, w, "sales", "DELETE", f"/api/v1/interactions/{i}")
    assert (await last())["last_contacted_at"] is None and (await last())["days_since_contact"] is None

    hist = (await call(client, w, "admin", "GET", "/api/v1/audit?record_type=interaction")).json()["items"]
    assert {h["action"] for h in hist} == {"create", "update", "delete", "restore"}


async def test_logging_a_call_does_not_make_an_open_customer_edit_stale(client, db):
    w = await make_world(db)
    c = await make_customer(db, w, "sales")
    r = await call(client, w, "sales", "POST", "/api/v1/interactions", json={"customer_id": c.id, "channel": "wechat"})
    assert r.status_code == 201
    r = await call(client, w, "sales", "PATCH", f"/api/v1/customers/{c.id}", json={"city": "杭州"},
                   headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text


async def test_filters(client, db):
    w = await make_world(db)
    c1, c2 = await make_customer(db, w, "sales"), await make_customer(db, w, "sales")
    now = utcnow()
    a = await make_interaction(db, w, c1, "sales", occurred_at=now - timedelta(days=1), channel="phone")
    b = await make_interaction(db, w, c2, "teammate", occurred_at=now - timedelta(days=5), channel="wechat")
    await make_interaction(db, w, c2, "sales", occurred_at=now - timedelta(days=9), channel="visit")

    async def ids(q):
        r = await call(client, w, "admin", "GET", f"/api/v1/interactions?{q}")
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()["items"]]

    assert await ids(f"customer_id={c1.id}") == [a.id]
    assert await ids(f"user_id={w.users['teammate'].id}") == [b.id]
    assert await ids("channel=wechat") == [b.id]
    frm = (now - timedelta(days=6)).isoformat().replace("+00:00", "Z")
    to = (now - timedelta(days=2)).isoformat().replace("+00:00", "Z")
    assert await ids(f"occurred_from={frm}&occurred_to={to}") == [b.id]
    r = await call(client, w, "admin", "GET", "/api/v1/interactions?cursor=garbage")
    assert r.status_code == 400 and r.json()["code"] == "invalid_cursor"


async def test_bad_input_is_refused_and_writes_nothing(client, db):
    w = await make_world(db)
    c = await make_customer(db, w, "sales")
    other = await make_customer(db, w, "sales")
    foreign = await make_contact(db, w, other, "别家联系人")
    hidden = await make_customer(db, w, "other_team")
    before = await counts(db, w)

    async def post(body, who="sales"):
        r = await call(client, w, who, "POST", "/api/v1/interactions", json=body)
        return r.status_code, r.json()

    status, body = await post({"customer_id": c.id, "channel": "phone", "contact_ids": [foreign.id]})
    assert status == 422 and body["errors"] == [
        {"field": "contact_ids.0", "code": "invalid_contact", "message": "不是该客户的联系人"}]
    status, body = await post({"customer_id": c.id, "channel": "pigeon"})
    assert status == 422 and body["errors"][0]["field"] == "channel"
    w2 = await make_world(db)
    status, body = await post({"customer_id": c.id, "channel": "phone", "user_id": w2.users["sales"].id})
    assert status == 422 and {e["field"]: e["code"] for e in body["errors"]} == {"user_id": "invalid_user"}
    status, body = await post({"customer_id": hidden.id, "channel": "phone"})
    assert status == 404 and body["code"] == "not_found"  # not 403: its existence is not revealed
    status, body = await post({"customer_id": c.id, "channel": "phone",
                               "occurred_at": iso(utcnow() + timedelta(days=3))})
    assert status == 422 and body["errors"][0]["code"] == "in_future"
    status, body = await post({"customer_id": c.id, "channel": "phone", "duration_minutes": 1441, "colour": 1})
    assert status == 422
    status, body = await post({"customer_id": c.id, "channel": "phone", "duration_minutes": "long"})
    assert status == 422 and body["errors"][0]["code"] == "invalid_type"
    status, body = await post({"customer_id": c.id, "channel": "phone", "occurred_at": "0001-01-01T00:00:00"})
    assert status == 422 and body["errors"][0]["field"] == "occurred_at"
    status, body = await post({"customer_id": c.id, "channel": "phone", "id": 3})
    assert status == 422 and body["code"] == "read_only_field"
    # a follow-up for someone of another workspace: neither the interaction nor the task is written
    status, body = await post({"customer_id": c.id, "channel": "phone", "follow_up": {
        "title": "回访", "due_at": iso(utcnow() + timedelta(days=1)), "assignee_id": w2.users["sales"].id}})
    assert status == 422 and body["errors"][0]["field"] == "follow_up.assignee_id"
    status, body = await post({"customer_id": c.id, "channel": "phone"}, who="marketing")
    assert status == 403
    assert await counts(db, w) == before
    r = await call(client, w, "sales", "PATCH", f"/api/v1/interactions/{999999}", json={"subject": "x"},
                   headers={"If-Match": "1"})
    assert r.status_code == 404


async def test_idempotent_create(client, db):
    w = await make_world(db)
    c = await make_customer(db, w, "sales")
    body = {"customer_id": c.id, "channel": "phone", "subject": "确认报价"}
    h = {"Idempotency-Key": "call-42"}
    a = await call(client, w, "sales", "POST", "/api/v1/interactions", json=body, headers=h)
    b = await call(client, w, "sales", "POST", "/api/v1/interactions", json=body, headers=h)
    assert a.status_code == b.status_code == 201 and a.json()["id"] == b.json()["id"]
    assert b.headers["idempotent-replayed"] == "true"
    c2 = await call(client, w, "sales", "POST", "/api/v1/interactions", json={**body, "subject": "别的"}, headers=h)
    assert c2.status_code == 422 and c2.json()["code"] == "idempotency_key_reused"
    assert (await counts(db, w))["interactions"] == 1


async def test_visibility_follows_the_customer(client, db):
    w = await make_world(db)
    mine = await make_customer(db, w, "sales")
    teammates = await make_customer(db, w, "teammate")
    other_team = await make_customer(db, w, "other_team")
    binned = await make_customer(db, w, "sales", deleted=True)
    rows = {name: await make_interaction(db, w, cust, "sales")
            for name, cust in (("mine", mine), ("teammate", teammates), ("other_team", other_team), ("bin", binned))}
    w2 = await make_world(db)
    foreign = await make_interaction(db, w2, await make_customer(db, w2, "sales"), "sales")

    async def seen(who):
        r = await call(client, w, who, "GET", "/api/v1/interactions?limit=200")
        return {x["id"] for x in r.json()["items"]}

    ids = {k: v.id for k, v in rows.items()}
    assert await seen("sales") == {ids["mine"]}
    assert await seen("manager") == {ids["mine"], ids["teammate"]}
    assert await seen("admin") == {ids["mine"], ids["teammate"], ids["other_team"]}
    assert foreign.id not in await seen("admin")
    # logged by sales, but on a customer sales cannot see: invisible to sales
    r = await call(client, w, "sales", "GET", f"/api/v1/interactions/{ids['other_team']}")
    assert r.status_code == 404
    r = await call(client, w, "sales", "PATCH", f"/api/v1/interactions/{ids['other_team']}", json={"subject": "x"},
                   headers={"If-Match": "1"})
    assert r.status_code == 404


async def test_channels_admin_defines_and_sellers_use(client, db):
    w = await make_world(db)
    c = await make_customer(db, w, "sales")
    r = await call(client, w, "admin", "POST", "/api/v1/interaction-channels",
                   json={"label": "钉钉", "label_en": "DingTalk", "key": "dingtalk"})
    assert r.status_code == 201, r.text
    assert r.json() == {"key": "dingtalk", "label": "钉钉", "label_en": "DingTalk", "position": 100, "builtin": False}
    r = await call(client, w, "admin", "POST", "/api/v1/interaction-channels", json={"label": "电话"})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "duplicate"
    r = await call(client, w, "sales", "POST", "/api/v1/interaction-channels", json={"label": "飞书"})
    assert r.status_code == 403
    listed = (await call(client, w, "sales", "GET", "/api/v1/interaction-channels")).json()
    assert [x["key"] for x in listed][:8] == ["phone", "email", "meeting", "visit", "social", "chat", "wechat", "sms"]
    assert listed[-1]["key"] == "dingtalk"
    r = await call(client, w, "sales", "POST", "/api/v1/interactions", json={"customer_id": c.id, "channel": "dingtalk"})
    assert r.status_code == 201 and r.json()["channel_label"] == "钉钉"
    r = await call(client, w, "admin", "PATCH", "/api/v1/interaction-channels/dingtalk", json={"label": "钉钉群"})
    assert r.status_code == 200 and r.json()["label"] == "钉钉群"
    r = await call(client, w, "admin", "DELETE", "/api/v1/interaction-channels/dingtalk")
    assert r.status_code == 409 and r.json()["code"] == "in_use"
    r = await call(client, w, "admin", "DELETE", "/api/v1/interaction-channels/phone")
    assert r.status_code == 409 and r.json()["code"] == "builtin_readonly"
    r = await call(client, w, "admin", "POST", "/api/v1/interaction-channels", json={"label": "展会"})
    key = r.json()["key"]
    assert (await call(client, w, "admin", "DELETE", f"/api/v1/interaction-channels/{key}")).status_code == 204
    async with db.session() as s:
        assert await s.scalar(select(Customer.last_contacted_at).where(Customer.id == c.id)) is not None
