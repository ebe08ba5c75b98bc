"""The customer 360 timeline: every kind of entry, filters, field rules, no leaks, and 10,000 entries paged."""

from datetime import timedelta

import pytest
from sqlalchemy import insert

from guanxi.audit.models import DomainEvent
from guanxi.kit.models import utcnow
from tests.fixtures.factories import call, make_customer, make_world

pytestmark = pytest.mark.anyio


def iso(dt):
    return dt.isoformat().replace("+00:00", "Z")


async def all_entries(client, w, who, url, limit=200):
    out, cursor = [], ""
    while True:
        r = await call(client, w, who, "GET", f"{url}{'&' if '?' in url else '?'}limit={limit}{cursor}")
        assert r.status_code == 200, r.text
        page = r.json()
        out += page["items"]
        if not page["next_cursor"]:
            return out
        cursor = f"&cursor={page['next_cursor']}"


async def build_history(client, w):
    """A customer with one of everything, made through the API as a sales rep would."""
    r = await call(client, w, "sales", "POST", "/api/v1/customers", json={
        "kind": "company", "name": "宁波海曙精工机械有限公司", "phones": ["13800138000"], "notes": "老板很看重售后"})
    cid = r.json()["id"]
    v = 1

    async def patch(body):
        nonlocal v
        r = await call(client, w, "sales", "PATCH", f"/api/v1/customers/{cid}", json=body, headers={"If-Match": str(v)})
        assert r.status_code == 200, r.text
        v += 1

    await patch({"city": "宁波", "phones": ["13900139000"]})
    await patch({"stage": "first_purchase"})
    await patch({"grade": "A"})
    r = await call(client, w, "sales", "POST", f"/api/v1/customers/{cid}/contacts", json={"name": "陈总", "title": "总经理"})
    assert r.status_code == 201
    r = await call(client, w, "sales", "POST", "/api/v1/interactions", json={
        "customer_id": cid, "channel": "phone", "subject": "确认安装时间", "summary": "客户希望下周二上门安装。",
        "follow_up": {"title": "安排工程师上门", "due_at": iso(utcnow() + timedelta(days=2))}})
    assert r.status_code == 201
    interaction_id, task_id = r.json()["id"], r.json()["follow_up_task"]["id"]
    r = await call(client, w, "sales", "POST", f"/api/v1/tasks/{task_id}/complete")
    assert r.status_code == 200
    r = await call(client, w, "sales", "POST", f"/api/v1/customers/{cid}/notes", json={
        "body": f"@[{w.users['manager'].name}](user:{w.users['manager'].id}) 这个客户可以做案例"})
    assert r.status_code == 201
    return cid, interaction_id, task_id


async def test_every_kind_newest_first(client, db):
    w = await make_world(db)
    cid, interaction_id, task_id = await build_history(client, w)
    items = await all_entries(client, w, "sales", f"/api/v1/customers/{cid}/timeline")
    assert [x["kind"] for x in items] == ["note", "task_done", "task_created", "interaction", "contact", "grade_change",
                                          "stage_change", "field_change", "created"]
    assert [x["id"] for x in items] == sorted((x["id"] for x in items), reverse=True)
    by = {x["kind"]: x for x in items}
    assert all(x["actor_name"] == w.users["sales"].name and x["title"] and not x["restricted"] for x in items)
    assert by["stage_change"]["title"] == "生命周期阶段：潜在客户 → 首次购买"
    assert by["grade_change"]["title"] == "客户分级：— → A 类"
    assert by["field_change"]["title"] == "修改了城市、电话"
    assert by["field_change"]["payload"]["changes"] == [
        {"field": "city", "old": None, "new": "宁波"},
        {"field": "phones", "old": ["138 0013 8000"], "new": ["139 0013 9000"]}]
    assert by["interaction"]["title"] == "电话 · 确认安装时间"
    assert by["interaction"]["summary"] == "客户希望下周二上门安装。"
    assert by["interaction"]["payload"]["interaction"]["id"] == interaction_id
    assert by["interaction"]["link"] == f"/customers/{cid}/interactions/{interaction_id}"
    assert by["task_done"]["title"] == f"完成了待办：安排工程师上门（{w.users['sales'].name}）"
    assert by["task_done"]["payload"]["task"]["status"] == "done" and by["task_done"]["link"] == f"/tasks/{task_id}"
    assert by["note"]["summary"] == f"@{w.users['manager'].name} 这个客户可以做案例"
    assert by["contact"]["title"] == "添加了联系人 陈总"
    assert by["created"]["record_type"] == "customer" and by["created"]["event"] == "customer.created"

    en = await call(client, w, "sales", "GET", f"/api/v1/customers/{cid}/timeline?kinds=stage")
    assert [x["kind"] for x in en.json()["items"]] == ["stage_change"]


async def test_kinds_filter_and_time_window(client, db):
    w = await make_world(db)
    cid, _, _ = await build_history(client, w)

    async def kinds(q):
        r = await call(client, w, "sales", "GET", f"/api/v1/customers/{cid}/timeline?{q}")
        assert r.status_code == 200, r.text
        return [x["kind"] for x in r.json()["items"]]

    assert await kinds("kinds=task") == ["task_done", "task_created"]
    assert await kinds("kinds=interaction,note") == ["note", "interaction"]
    assert await kinds("kinds=change") == ["field_change"]
    assert await kinds("kinds=stage,grade") == ["grade_change", "stage_change"]
    assert await kinds("kinds=task_done,created") == ["task_done", "created"]
    assert await kinds("kinds=nothing_like_this") == []
    assert await kinds(f"since={iso(utcnow() + timedelta(minutes=5))}") == []
    assert len(await kinds(f"until={iso(utcnow() + timedelta(minutes=5))}")) == 9
    r = await call(client, w, "sales", "GET", f"/api/v1/customers/{cid}/timeline?kinds=" + ",".join(["a"] * 31))
    assert r.status_code == 400 and r.json()["code"] == "invalid_filter"
    r = await call(client, w, "sales", "GET", f"/api/v1/customers/{cid}/timeline?cursor=xyz")
    assert r.status_code == 400 and r.json()["code"] == "invalid_cursor"
    catalog = (await call(client, w, "sales", "GET", "/api/v1/timeline/kinds")).json()
    assert {"interaction", "task_created", "task_done", "note", "stage_change"} <= {k["name"] for k in catalog}


async def test_field_rules_apply_to_old_and_new_values(client, db):
    w = await make_world(db)
    cid, _, _ = await build_history(client, w)
    items = await all_entries(client, w, "marketing", f"/api/v1/customers/{cid}/timeline")  # phones masked, notes hidden
    by = {x["kind"]: x for x in items}
    phones = next(c for c in by["field_change"]["payload"]["changes"] if c["field"] == "phones")
    assert phones == {"field": "phones", "old": ["138****8000"], "new": ["139****9000"]}
    notes = next(c for c in by["created"]["payload"]["changes"] if c["field"] == "notes")
    assert notes == {"field": "notes", "old": None, "new": None}
    readonly = await all_entries(client, w, "readonly", f"/api/v1/customers/{cid}/timeline")
    assert "138 0013 8000" not in str(readonly)


async def test_records_out_of_reach_are_redacted_not_leaked(client, db):
    w = await make_world(db)
    cid, interaction_id, _ = await build_history(client, w)
    # a task on this customer for the manager: sales (own scope) may not see it
    r = await call(client, w, "manager", "POST", "/api/v1/tasks", json={
        "title": "内部：评估折扣空间", "description": "底价 8 折", "due_at": iso(utcnow() + timedelta(days=1)),
        "customer_id": cid})
    assert r.status_code == 201, r.text
    assert (await call(client, w, "sales", "DELETE", f"/api/v1/interactions/{interaction_id}")).status_code == 204

    items = await all_entries(client, w, "sales", f"/api/v1/customers/{cid}/timeline")
    assert items[0]["kind"] == "interaction_deleted" and items[0]["title"] == "删除了一条沟通记录"
    hidden_task = items[1]
    assert hidden_task["kind"] == "task_created" and hidden_task["restricted"] is True
    assert hidden_task["payload"] == {} and hidden_task["summary"] is None and hidden_task["link"] is None
    assert "底价" not in str(items) and "评估折扣" not in str(items)
    gone = next(x for x in items if x["kind"] == "interaction")
    assert gone["restricted"] is True and "确认安装时间" not in str(gone)
    # the manager sees the task in full
    mgr = await all_entries(client, w, "manager", f"/api/v1/customers/{cid}/timeline?kinds=task")
    assert mgr[0]["restricted"] is False and mgr[0]["summary"] == "底价 8 折"

    # restoring brings the interaction back
    await call(client, w, "sales", "POST", f"/api/v1/interactions/{interaction_id}/restore")
    items = await all_entries(client, w, "sales", f"/api/v1/customers/{cid}/timeline?kinds=interaction")
    assert [x["restricted"] for x in items] == [False, False, False]


async def test_invisible_customers_and_unregistered_modules(client, db):
    w, w2 = await make_world(db), await make_world(db)
    c = await make_customer(db, w, "other_team")
    assert (await call(client, w, "sales", "GET", f"/api/v1/customers/{c.id}/timeline")).status_code == 404
    assert (await call(client, w2, "admin", "GET", f"/api/v1/customers/{c.id}/timeline")).status_code == 404
    # a module nobody registered, emitting an event about this customer: shown plainly, nothing of its payload
    async with db.session() as s:
        s.add(DomainEvent(workspace_id=w.workspace_id, kind="order.created", record_type="order", record_id=77,
                          actor_id=w.users["admin"].id, customer_id=c.id,
                          payload={"label": "订单 SO-2026-001 ¥128,000", "changes": []}))
    items = (await call(client, w, "admin", "GET", f"/api/v1/customers/{c.id}/timeline")).json()["items"]
    assert items[0]["kind"] == "order" and items[0]["title"] == "order created" and items[0]["payload"] == {}
    assert "128,000" not in str(items)
    only = (await call(client, w, "admin", "GET", f"/api/v1/customers/{c.id}/timeline?kinds=order")).json()["items"]
    assert [x["record_id"] for x in only] == [77]


async def test_ten_thousand_entries_page_without_gaps_or_repeats(client, db):
    w = await make_world(db)
    c = await make_customer(db, w, "sales")
    other = await make_customer(db, w, "sales")
    actor = w.users["sales"].id
    start = utcnow() - timedelta(days=400)
    rows = []
    for n in range(10_000):
        if n % 4 == 0:
            kind, rtype, changes = "customer.updated", "customer", [{"field": "stage", "old": "potential", "new": "loyal"}]
        elif n % 4 == 1:
            kind, rtype, changes = "customer.updated", "customer", [{"field": "city", "old": "A", "new": "B"}]
        elif n % 4 == 2:
            kind, rtype, changes = "interaction.created", "interaction", []
        else:
            kind, rtype, changes = "contact.updated", "contact", [{"field": "title", "old": "x", "new": "y"}]
        rows.append({"workspace_id": w.workspace_id, "at": start + timedelta(minutes=n), "kind": kind,
                     "record_type": rtype, "record_id": c.id if rtype == "customer" else 10_000_000 + n,
                     "actor_id": actor, "customer_id": c.id, "payload": {"label": f"#{n}", "changes": changes}})
        if n % 50 == 0:  # another customer's events in between must never show
            rows.append({**rows[-1], "customer_id": other.id})
    async with db.session() as s:
        await s.execute(insert(DomainEvent), rows)

    url = f"/api/v1/customers/{c.id}/timeline"
    items = await all_entries(client, w, "sales", url, limit=200)
    ids = [x["id"] for x in items]
    assert len(ids) == 10_000 and len(set(ids)) == 10_000
    assert ids == sorted(ids, reverse=True)
    assert [x["payload"].get("changes", [{}])[0].get("new") for x in items[:2]] == ["y", None]  # newest: n=9999, 9998
    stages = await all_entries(client, w, "sales", f"{url}?kinds=stage", limit=200)
    assert len(stages) == 2_500 and {x["kind"] for x in stages} == {"stage_change"}
    changes = await all_entries(client, w, "sales", f"{url}?kinds=change,contact", limit=200)
    assert len(changes) == 5_000 and len({x["id"] for x in changes}) == 5_000
