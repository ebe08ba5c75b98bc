"""Duplicate groups of customers and contacts, 不是重复, merging customers and contacts, and undoing a merge."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from guanxi.audit.models import AuditEntry
from guanxi.dedupe.models import DuplicateGroup
from tests.fixtures.factories import call, make_custom_field, make_world

pytestmark = pytest.mark.anyio


async def new_customer(client, w, who: str = "sales", **body: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = await call(client, w, who, "POST", "/api/v1/customers", json={"kind": "company", **body})
    assert r.status_code == 201, r.text
    return r.json()


async def groups(client, w, who: str = "admin", kind: str = "customers") -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    r = await call(client, w, who, "GET", f"/api/v1/duplicates/{kind}")
    assert r.status_code == 200, r.text
    return r.json()["items"]


def group_of(items: list[dict[str, Any]], *ids: int) -> dict[str, Any] | None:
    return next((g for g in items if {m["id"] for m in g["members"]} == set(ids)), None)


async def fill(client, w, c: dict[str, Any], who: str = "sales", tag: str = "") -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """An interaction (with a file), a task, a note and a contact on customer c."""
    i = await call(client, w, who, "POST", "/api/v1/interactions",
                   json={"customer_id": c["id"], "channel": "phone", "subject": f"电话{tag}"})
    assert i.status_code == 201, i.text
    a = await call(client, w, who, "POST", f"/api/v1/interactions/{i.json()['id']}/attachments",
                   files={"file": ("纪要.txt", "会议纪要".encode(), "text/plain")})
    assert a.status_code == 201, a.text
    t = await call(client, w, who, "POST", "/api/v1/tasks", json={
        "title": f"回访{tag}", "due_at": "2030-01-01T02:00:00Z", "customer_id": c["id"]})
    assert t.status_code == 201, t.text
    n = await call(client, w, who, "POST", f"/api/v1/customers/{c['id']}/notes", json={"body": f"备注{tag}"})
    assert n.status_code == 201, n.text
    ct = await call(client, w, who, "POST", f"/api/v1/customers/{c['id']}/contacts", json={"name": f"联系人{tag}"})
    assert ct.status_code == 201, ct.text
    return {"interaction": i.json()["id"], "task": t.json()["id"], "note": n.json()["id"], "contact": ct.json()["id"]}


async def test_groups_with_reasons_and_dismiss(client, db):
    w = await make_world(db)
    a = await new_customer(client, w, name="星河科技有限公司", city="上海", phones=["13800138000"])
    b = await new_customer(client, w, name="星河 科技有限责任公司", city="上海", phones=["+86 138 0013 8000"])
    c = await new_customer(client, w, name="别的公司", emails=["li@example.cn"])
    d = await new_customer(client, w, "teammate", name="另一家", emails=["LI@example.cn"])
    await new_customer(client, w, name="星河科技", city="北京")  # another city: not the same company
    items = await groups(client, w)
    ab = group_of(items, a["id"], b["id"])
    assert ab is not None
    assert sorted(r["kind"] for r in ab["reasons"]) == ["name", "phone"]  # one group, two reasons
    phone = next(r for r in ab["reasons"] if r["kind"] == "phone")
    assert phone["value"] == "138 0013 8000" and phone["label"] == "相同电话"
    assert "上海" in next(r["value"] for r in ab["reasons"] if r["kind"] == "name")
    assert ab["members"][0]["id"] == b["id"]  # newest first
    assert ab["members"][0]["owner_name"] == w.users["sales"].name
    cd = group_of(items, c["id"], d["id"])
    assert cd is not None and cd["reasons"][0]["kind"] == "email"
    assert len(items) == 2

    only = (await call(client, w, "admin", "GET", f"/api/v1/duplicates/customers?customer_id={c['id']}")).json()
    assert [{m["id"] for m in g["members"]} for g in only["items"]] == [{c["id"], d["id"]}]
    assert only["next_cursor"] is None

    # a sales rep sees only their own customers: never the teammate's, so no c/d group
    mine = await groups(client, w, "sales")
    assert group_of(mine, a["id"], b["id"]) and not group_of(mine, c["id"], d["id"])
    assert not any(m["id"] == d["id"] for g in mine for m in g["members"])
    assert await groups(client, w, "other_team") == []
    r = await call(client, w, "readonly", "GET", "/api/v1/duplicates/customers")
    assert r.status_code == 403

    # 不是重复: gone for everyone, until undone
    r = await call(client, w, "admin", "POST", "/api/v1/duplicates/dismissals",
                   json={"member_ids": [a["id"], b["id"]]})
    assert r.status_code == 201, r.text
    dismissal = r.json()["id"]
    assert group_of(await groups(client, w), a["id"], b["id"]) is None
    listed = (await call(client, w, "admin", "GET", "/api/v1/duplicates/dismissals")).json()["items"]
    assert [x["id"] for x in listed] == [dismissal]
    assert (await call(client, w, "other_team", "GET", "/api/v1/duplicates/dismissals")).json()["items"] == []
    r = await call(client, w, "admin", "DELETE", f"/api/v1/duplicates/dismissals/{dismissal}")
    assert r.status_code == 204
    assert group_of(await groups(client, w), a["id"], b["id"]) is not None
    # bad input
    for body, status in (({"member_ids": [a["id"]]}, 422), ({"member_ids": [a["id"], 999999]}, 404),
                         ({"member_ids": [a["id"], d["id"]]}, 404), ({"member_ids": [a["id"], b["id"]], "x": 1}, 422)):
        r = await call(client, w, "sales", "POST", "/api/v1/duplicates/dismissals", json=body)
        assert r.status_code == status, (body, r.text)
    r = await call(client, w, "admin", "GET", "/api/v1/duplicates/customers?cursor=nonsense")
    assert r.status_code == 400 and r.json()["code"] == "invalid_cursor"

    # groups follow edits and the recycle bin
    r = await call(client, w, "admin", "DELETE", f"/api/v1/customers/{d['id']}")
    assert r.status_code == 204
    assert group_of(await groups(client, w), c["id"], d["id"]) is None
    await call(client, w, "admin", "POST", f"/api/v1/customers/{d['id']}/restore")
    assert group_of(await groups(client, w), c["id"], d["id"]) is not None
    got = await call(client, w, "teammate", "GET", f"/api/v1/customers/{d['id']}")
    r = await call(client, w, "teammate", "PATCH", f"/api/v1/customers/{d['id']}", json={"emails": ["new@example.cn"]},
                   headers={"If-Match": got.headers["etag"]})
    assert r.status_code == 200, r.text
    assert group_of(await groups(client, w), c["id"], d["id"]) is None


async def test_pages_walk_every_group_once(client, db):
    w = await make_world(db)
    pairs = []
    for n in range(5):
        x = await new_customer(client, w, name=f"甲{n}", phones=[f"1390000000{n}"])
        y = await new_customer(client, w, name=f"乙{n}", phones=[f"1390000000{n}"])
        pairs.append({x["id"], y["id"]})
    seen, cursor = [], None
    while True:
        url = "/api/v1/duplicates/customers?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await call(client, w, "admin", "GET", url)).json()
        seen += [{m["id"] for m in g["members"]} for g in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(map(sorted, seen)) == sorted(map(sorted, pairs))


async def timeline_titles(client, w, cid: int) -> list[str]:  # type: ignore[no-untyped-def]
    r = await call(client, w, "admin", "GET", f"/api/v1/customers/{cid}/timeline?limit=200")
    assert r.status_code == 200, r.text
    return [e["title"] for e in r.json()["items"] if not e["restricted"]]


async def test_merge_moves_everything_applies_choices_audits_and_undo_restores(client, db):
    w = await make_world(db)
    await make_custom_field(db, w, "level", "select", ["gold", "silver"])
    a = await new_customer(client, w, name="星河科技有限公司", city="上海", phones=["13800138000"], tags=["VIP"],
                           grade="B", custom={"level": "silver"})
    b = await new_customer(client, w, name="星河科技有限责任公司", city="上海", phones=["13800138000", "021-62345678"],
                           emails=["info@xinghe.cn"], tags=["老客户", "VIP"], address="徐汇区漕溪北路 1 号",
                           stage="repeat", custom={"level": "gold"})
    fa = await fill(client, w, a, tag="A")
    fb = await fill(client, w, b, tag="B")
    before_a = (await call(client, w, "sales", "GET", f"/api/v1/customers/{a['id']}")).json()
    r = await call(client, w, "sales", "POST", "/api/v1/customers/merge", json={
        "survivor_id": a["id"], "merged_ids": [b["id"]],
        "versions": {str(a["id"]): a["version"], str(b["id"]): b["version"]},
        "values": {"name": b["id"], "stage": b["id"], "custom.level": b["id"]}})
    assert r.status_code == 200, r.text
    res = r.json()
    assert res["moved"] == {"interactions": 1, "tasks": 1, "notes": 1, "attachments": 1, "contacts": 1,
                            "timeline": res["moved"]["timeline"]} and res["moved"]["timeline"] >= 6
    s = (await call(client, w, "sales", "GET", f"/api/v1/customers/{a['id']}")).json()
    assert s["name"] == "星河科技有限责任公司" and s["stage"] == "repeat" and s["custom"] == {"level": "gold"}
    assert s["grade"] == "B"  # the survivor's own value
    assert s["address"] == "徐汇区漕溪北路 1 号"  # a blank filled from the merged one
    assert s["tags"] == ["VIP", "老客户"] and len(s["phones"]) == 2 and s["emails"] == ["info@xinghe.cn"]
    assert s["contact_count"] == 2 and s["last_contacted_at"] is not None
    # every record now hangs off the survivor
    inter = (await call(client, w, "sales", "GET", f"/api/v1/interactions?customer_id={a['id']}")).json()["items"]
    assert {i["id"] for i in inter} == {fa["interaction"], fb["interaction"]}
    assert all(len(i["attachments"]) == 1 for i in inter)
    tasks = (await call(client, w, "sales", "GET", f"/api/v1/tasks?customer_id={a['id']}")).json()["items"]
    assert {t["id"] for t in tasks} == {fa["task"], fb["task"]}
    notes = (await call(client, w, "sales", "GET", f"/api/v1/customers/{a['id']}/notes")).json()["items"]
    assert {n["id"] for n in notes} == {fa["note"], fb["note"]}
    contacts = (await call(client, w, "sales", "GET", f"/api/v1/customers/{a['id']}/contacts")).json()["items"]
    assert {c["id"] for c in contacts} == {fa["contact"], fb["contact"]}
    assert sum(c["is_primary"] for c in contacts) == 1
    titles = await timeline_titles(client, w, a["id"])
    assert titles[0] == "合并了 星河科技有限责任公司"
    assert "电话 · 电话B" in titles and "电话 · 电话A" in titles and "备注B" not in titles
    # the merged one: in the recycle bin, marked
    binned = (await call(client, w, "admin", "GET", "/api/v1/customers?deleted=true")).json()["items"]
    mb = next(x for x in binned if x["id"] == b["id"])
    assert mb["merged_into_id"] == a["id"] and mb["merged_into_name"] == "星河科技有限责任公司"
    assert mb["merge_id"] == res["merge_id"]
    assert (await call(client, w, "sales", "GET", f"/api/v1/customers/{b['id']}")).json()["deleted_at"] is not None
    assert group_of(await groups(client, w), a["id"], b["id"]) is None
    async with db.session() as session:
        rows = (await session.execute(select(AuditEntry.record_id, AuditEntry.changes).where(
            AuditEntry.workspace_id == w.workspace_id, AuditEntry.action == "merge"))).all()
    assert {rid for rid, _ in rows} == {a["id"], b["id"]}
    survivor_changes = next(ch for rid, ch in rows if rid == a["id"])["items"]
    assert {c["field"] for c in survivor_changes} >= {"name", "stage", "custom.level", "tags", "phones"}
    merge = (await call(client, w, "sales", "GET", f"/api/v1/customers/merges/{res['merge_id']}")).json()
    assert merge["merged"] == [{"id": b["id"], "name": b["name"]}] and merge["undone_at"] is None

    # undo from the recycle bin: restoring the merged customer
    r = await call(client, w, "sales", "POST", f"/api/v1/customers/{b['id']}/restore")
    assert r.status_code == 200, r.text
    a2 = (await call(client, w, "sales", "GET", f"/api/v1/customers/{a['id']}")).json()
    b2 = (await call(client, w, "sales", "GET", f"/api/v1/customers/{b['id']}")).json()
    for f in ("name", "stage", "grade", "tags", "phones", "emails", "address", "custom", "contact_count",
              "last_contacted_at", "owner_id", "city"):
        assert a2[f] == before_a[f], f
    assert b2["deleted_at"] is None and b2["merged_into_id"] is None and b2["tags"] == ["老客户", "VIP"]
    assert b2["contact_count"] == 1
    for cid, f in ((a["id"], fa), (b["id"], fb)):
        inter = (await call(client, w, "sales", "GET", f"/api/v1/interactions?customer_id={cid}")).json()["items"]
        assert [i["id"] for i in inter] == [f["interaction"]]
        tasks = (await call(client, w, "sales", "GET", f"/api/v1/tasks?customer_id={cid}")).json()["items"]
        assert [t["id"] for t in tasks] == [f["task"]]
        contacts = (await call(client, w, "sales", "GET", f"/api/v1/customers/{cid}/contacts")).json()["items"]
        assert [c["id"] for c in contacts] == [f["contact"]] and contacts[0]["is_primary"]
    titles_b = await timeline_titles(client, w, b["id"])
    assert "电话 · 电话B" in titles_b and "电话 · 电话A" not in titles_b
    assert (await timeline_titles(client, w, a["id"]))[0] == "撤销了与 星河科技有限责任公司 的合并"
    assert group_of(await groups(client, w), a["id"], b["id"]) is not None
    r = await call(client, w, "sales", "POST", f"/api/v1/customers/merges/{res['merge_id']}/undo")
    assert r.status_code == 409 and r.json()["code"] == "merge_already_undone"
    async with db.session() as session:
        n = await session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.workspace_id == w.workspace_id, AuditEntry.action == "unmerge"))
    assert n == 2


async def test_undo_is_refused_once_the_survivor_changed(client, db):
    w = await make_world(db)
    a = await new_customer(client, w, name="甲", phones=["13911112222"])
    b = await new_customer(client, w, name="乙", phones=["13911112222"])
    r = await call(client, w, "admin", "POST", "/api/v1/customers/merge", json={
        "survivor_id": a["id"], "merged_ids": [b["id"]], "versions": {str(a["id"]): 1, str(b["id"]): 1}})
    assert r.status_code == 200, r.text
    merge_id = r.json()["merge_id"]
    got = await call(client, w, "admin", "GET", f"/api/v1/customers/{a['id']}")
    r = await call(client, w, "admin", "PATCH", f"/api/v1/customers/{a['id']}", json={"grade": "A"},
                   headers={"If-Match": got.headers["etag"]})
    assert r.status_code == 200
    r = await call(client, w, "admin", "POST", f"/api/v1/customers/merges/{merge_id}/undo")
    assert r.status_code == 409 and r.json()["code"] == "merge_undo_unsafe" and "甲" in r.json()["detail"]
    r = await call(client, w, "admin", "POST", f"/api/v1/customers/{b['id']}/restore")
    assert r.status_code == 409
    assert (await call(client, w, "admin", "GET", f"/api/v1/customers/{b['id']}")).json()["deleted_at"] is not None


async def test_bad_merges_write_nothing(client, db):
    w = await make_world(db)
    a = await new_customer(client, w, name="甲", phones=["13911113333"])
    b = await new_customer(client, w, name="乙", phones=["13911113333"])
    theirs = await new_customer(client, w, "other_team", name="丙", phones=["13911113333"])
    binned = await new_customer(client, w, name="丁")
    await call(client, w, "sales", "DELETE", f"/api/v1/customers/{binned['id']}")
    other = await make_world(db)
    foreign = await new_customer(client, other, name="外")
    v = {str(x["id"]): 1 for x in (a, b, theirs, binned, foreign)}

    async def merge(who: str, body: dict[str, Any]) -> Any:
        return await call(client, w, who, "POST", "/api/v1/customers/merge", json={"versions": v, **body})

    cases = [
        ("sales", {"survivor_id": a["id"], "merged_ids": [a["id"]]}, 422, "merged_ids"),
        ("sales", {"survivor_id": a["id"], "merged_ids": [b["id"], b["id"]]}, 422, "merged_ids"),
        ("sales", {"survivor_id": a["id"], "merged_ids": []}, 422, "merged_ids"),
        ("sales", {"survivor_id": a["id"], "merged_ids": [999999]}, 422, "merged_ids.0"),
        ("sales", {"survivor_id": a["id"], "merged_ids": [theirs["id"]]}, 422, "merged_ids.0"),  # out of scope
        ("sales", {"survivor_id": a["id"], "merged_ids": [foreign["id"]]}, 422, "merged_ids.0"),  # other workspace
        ("sales", {"survivor_id": a["id"], "merged_ids": [binned["id"]]}, 422, "merged_ids.0"),
        ("sales", {"survivor_id": theirs["id"], "merged_ids": [a["id"]]}, 404, None),
        ("sales", {"survivor_id": a["id"], "merged_ids": [b["id"]], "values": {"name": theirs["id"]}}, 422, "values.name"),
        ("sales", {"survivor_id": a["id"], "merged_ids": [b["id"]], "values": {"stage": "union"}}, 422, "values.stage"),
        ("sales", {"survivor_id": a["id"], "merged_ids": [b["id"]], "values": {"version": b["id"]}}, 422,
         "values.version"),
        ("sales", {"survivor_id": a["id"], "merged_ids": [b["id"]], "versions": {str(a["id"]): 1}}, 428,
         f"versions.{b['id']}"),
        ("sales", {"survivor_id": a["id"], "merged_ids": [b["id"]], "versions": {str(a["id"]): 1, str(b["id"]): 7}},
         412, f"versions.{b['id']}"),
        ("service", {"survivor_id": a["id"], "merged_ids": [b["id"]]}, 403, None),  # may not delete customers
        ("readonly", {"survivor_id": a["id"], "merged_ids": [b["id"]]}, 403, None),
    ]
    for who, body, status, field in cases:
        r = await merge(who, body)
        assert r.status_code == status, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        if field:
            assert field in [e["field"] for e in r.json()["errors"]], (body, r.json())
    assert (await call(client, w, "admin", "GET", f"/api/v1/customers/{b['id']}")).json()["version"] == 1
    async with db.session() as session:
        assert not await session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.workspace_id == w.workspace_id, AuditEntry.action == "merge"))
    # the other team's rep cannot merge the sales rep's customer either way
    r = await call(client, w, "other_team", "POST", "/api/v1/customers/merge", json={
        "survivor_id": theirs["id"], "merged_ids": [a["id"]], "versions": v})
    assert r.status_code == 422
    # an admin may merge across teams: the owner follows the chosen record
    r = await call(client, w, "admin", "POST", "/api/v1/customers/merge", json={
        "survivor_id": a["id"], "merged_ids": [theirs["id"]], "versions": v, "values": {"owner_id": theirs["id"]}})
    assert r.status_code == 200, r.text
    got = (await call(client, w, "admin", "GET", f"/api/v1/customers/{a['id']}")).json()
    assert got["owner_id"] == w.users["other_team"].id and got["team_name"] == "华南销售部"


async def test_contact_duplicates_and_merge(client, db):
    w = await make_world(db)
    c = await new_customer(client, w, name="甲公司")
    other = await new_customer(client, w, name="乙公司")

    async def contact(cid: int, **body: Any) -> dict[str, Any]:
        r = await call(client, w, "sales", "POST", f"/api/v1/customers/{cid}/contacts", json=body)
        assert r.status_code == 201, r.text
        return r.json()

    x = await contact(c["id"], name="王 经理", phones=["13700001111"], title="总经理")
    y = await contact(c["id"], name="王经理", emails=["wang@jia.cn"])
    z = await contact(other["id"], name="王总", phones=["137 0000 1111"])
    i = await call(client, w, "sales", "POST", "/api/v1/interactions",
                   json={"customer_id": c["id"], "channel": "visit", "contact_ids": [y["id"]]})
    assert i.status_code == 201, i.text
    items = await groups(client, w, "admin", "contacts")
    same = group_of(items, x["id"], y["id"])
    assert same and same["same_customer"] and same["reasons"][0]["label"] == "同一客户下同名"
    cross = group_of(items, x["id"], z["id"])
    assert cross and not cross["same_customer"] and cross["reasons"][0]["kind"] == "phone"
    assert await groups(client, w, "other_team", "contacts") == []

    r = await call(client, w, "sales", "POST", "/api/v1/contacts/merge", json={
        "survivor_id": x["id"], "merged_ids": [z["id"]], "versions": {str(x["id"]): 1, str(z["id"]): 1}})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "other_customer"
    r = await call(client, w, "sales", "POST", "/api/v1/contacts/merge", json={
        "survivor_id": x["id"], "merged_ids": [y["id"]], "versions": {str(x["id"]): 1, str(y["id"]): 2},
        "values": {"name": y["id"]}})
    assert r.status_code == 412
    r = await call(client, w, "sales", "POST", "/api/v1/contacts/merge", json={
        "survivor_id": x["id"], "merged_ids": [y["id"]], "versions": {str(x["id"]): 1, str(y["id"]): 1},
        "values": {"name": y["id"]}})
    assert r.status_code == 200, r.text
    assert r.json()["moved"]["interactions"] == 1
    contacts = (await call(client, w, "sales", "GET", f"/api/v1/customers/{c['id']}/contacts")).json()["items"]
    assert len(contacts) == 1
    kept = contacts[0]
    assert kept["id"] == x["id"] and kept["name"] == "王经理" and kept["title"] == "总经理"
    assert kept["emails"] == ["wang@jia.cn"] and len(kept["phones"]) == 1
    inter = (await call(client, w, "sales", "GET", f"/api/v1/interactions/{i.json()['id']}")).json()
    assert inter["contact_ids"] == [x["id"]]
    assert group_of(await groups(client, w, "admin", "contacts"), x["id"], y["id"]) is None
    titles = await timeline_titles(client, w, c["id"])
    assert titles[0].startswith("合并了联系人")


async def contact_pair(client, w, tag: str = "") -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], int]:  # type: ignore[no-untyped-def]
    """Customer c with contacts x (primary) and y, an interaction naming y and x, and the merge of y into x."""
    c = await new_customer(client, w, name=f"合并公司{tag}")
    x = (await call(client, w, "sales", "POST", f"/api/v1/customers/{c['id']}/contacts",
                    json={"name": "李 经理", "phones": ["13700002222"], "title": "总经理"})).json()
    y = (await call(client, w, "sales", "POST", f"/api/v1/customers/{c['id']}/contacts",
                    json={"name": "李经理", "emails": ["li@he.cn"], "birthday": "1980-02-03", "is_primary": True,
                          "notes": "喜欢喝茶"})).json()
    i = await call(client, w, "sales", "POST", "/api/v1/interactions",
                   json={"customer_id": c["id"], "channel": "visit", "contact_ids": [y["id"], x["id"]]})
    assert i.status_code == 201, i.text
    return c, x, y, i.json()["id"]


async def test_contact_merge_is_recorded_and_undo_restores_exactly(client, db):
    w = await make_world(db)
    c, x, y, iid = await contact_pair(client, w)
    before = {ct["id"]: ct for ct in (await call(client, w, "sales", "GET",
                                                 f"/api/v1/customers/{c['id']}/contacts")).json()["items"]}
    inter_before = (await call(client, w, "sales", "GET", f"/api/v1/interactions/{iid}")).json()
    dup_before = group_of(await groups(client, w, "admin", "contacts"), x["id"], y["id"])
    assert dup_before is not None
    r = await call(client, w, "sales", "POST", "/api/v1/contacts/merge", json={
        "survivor_id": x["id"], "merged_ids": [y["id"]], "versions": {str(x["id"]): x["version"],
                                                                       str(y["id"]): y["version"]},
        "values": {"name": y["id"], "birthday": y["id"]}})
    assert r.status_code == 200, r.text
    merge_id = r.json()["merge_id"]
    assert merge_id > 0 and r.json()["moved"]["interactions"] == 1
    assert (await call(client, w, "sales", "GET", f"/api/v1/interactions/{iid}")).json()["contact_ids"] == [x["id"]]
    kept = (await call(client, w, "sales", "GET", f"/api/v1/customers/{c['id']}/contacts")).json()["items"]
    assert [k["id"] for k in kept] == [x["id"]] and kept[0]["is_primary"] and kept[0]["name"] == "李经理"

    # the recycle bin lists it for those who see the customer
    page = (await call(client, w, "sales", "GET", "/api/v1/contacts/merges")).json()
    row = next(m for m in page["items"] if m["id"] == merge_id)
    assert row["customer_id"] == c["id"] and row["survivor_id"] == x["id"] and row["survivor_name"] == "李经理"
    assert row["merged"] == [{"id": y["id"], "name": "李经理"}] and row["interactions"] == 1
    assert row["created_by_name"] == w.users["sales"].name
    assert all(m["id"] != merge_id for m in (await call(client, w, "other_team", "GET",
                                                        "/api/v1/contacts/merges")).json()["items"])

    r = await call(client, w, "sales", "POST", f"/api/v1/contacts/merges/{merge_id}/undo")
    assert r.status_code == 200, r.text
    assert r.json() == {"merge_id": merge_id, "survivor_id": x["id"], "restored_ids": [y["id"]]}
    after = {ct["id"]: ct for ct in (await call(client, w, "sales", "GET",
                                                f"/api/v1/customers/{c['id']}/contacts")).json()["items"]}
    assert set(after) == {x["id"], y["id"]}
    skip = {"version", "updated_at"}
    for cid in (x["id"], y["id"]):
        assert {k: v for k, v in after[cid].items() if k not in skip} == \
            {k: v for k, v in before[cid].items() if k not in skip}, cid
        assert after[cid]["version"] > before[cid]["version"]  # an edit for everyone holding an old copy
    inter = (await call(client, w, "sales", "GET", f"/api/v1/interactions/{iid}")).json()
    assert inter["contact_ids"] == inter_before["contact_ids"] == [y["id"], x["id"]]
    assert group_of(await groups(client, w, "admin", "contacts"), x["id"], y["id"]) is not None
    assert all(m["id"] != merge_id for m in (await call(client, w, "sales", "GET",
                                                        "/api/v1/contacts/merges")).json()["items"])
    async with db.session() as session:
        rows = (await session.execute(select(AuditEntry.action, AuditEntry.record_type, AuditEntry.record_id)
                                      .where(AuditEntry.workspace_id == w.workspace_id,
                                             AuditEntry.action.in_(["merge", "unmerge"])))).all()
    assert sorted(tuple(r) for r in rows) == sorted([("merge", "contact", x["id"]), ("merge", "contact", y["id"]),
                                                     ("unmerge", "contact", x["id"]), ("unmerge", "contact", y["id"])])
    titles = await timeline_titles(client, w, c["id"])
    assert titles[0].startswith("撤销合并了联系人")
    r = await call(client, w, "sales", "POST", f"/api/v1/contacts/merges/{merge_id}/undo")
    assert r.status_code == 409 and r.json()["code"] == "merge_already_undone"


async def test_contact_merge_undo_refused_and_authz(client, db):
    w = await make_world(db)
    c, x, y, iid = await contact_pair(client, w)
    r = await call(client, w, "sales", "POST", "/api/v1/contacts/merge", json={
        "survivor_id": x["id"], "merged_ids": [y["id"]], "versions": {str(x["id"]): x["version"],
                                                                       str(y["id"]): y["version"]}})
    assert r.status_code == 200, r.text
    merge_id = r.json()["merge_id"]
    # who may undo: those who may edit the customer's contacts
    for who, status in (("readonly", 403), ("marketing", 403), ("other_team", 404)):
        r = await call(client, w, who, "POST", f"/api/v1/contacts/merges/{merge_id}/undo")
        assert r.status_code == status, (who, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    other = await make_world(db)
    r = await call(client, other, "admin", "POST", f"/api/v1/contacts/merges/{merge_id}/undo")
    assert r.status_code == 404
    r = await call(client, w, "sales", "POST", "/api/v1/contacts/merges/999999/undo")
    assert r.status_code == 404
    # the survivor was edited since: refused, nothing written
    r = await call(client, w, "sales", "PATCH", f"/api/v1/contacts/{x['id']}", json={"title": "董事长"},
                   headers={"If-Match": '"2"'})
    assert r.status_code == 200, r.text
    r = await call(client, w, "sales", "POST", f"/api/v1/contacts/merges/{merge_id}/undo")
    assert r.status_code == 409 and r.json()["code"] == "merge_undo_unsafe", r.text
    assert "李 经理" in r.json()["detail"] and "修改" in r.json()["detail"]
    kept = (await call(client, w, "sales", "GET", f"/api/v1/customers/{c['id']}/contacts")).json()["items"]
    assert [k["id"] for k in kept] == [x["id"]] and kept[0]["title"] == "董事长"
    assert (await call(client, w, "sales", "GET", f"/api/v1/interactions/{iid}")).json()["contact_ids"] == [x["id"]]
    async with db.session() as session:
        assert not await session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.workspace_id == w.workspace_id, AuditEntry.action == "unmerge"))
    # the customer went to the recycle bin: the merge is not listed and cannot be undone
    c2, x2, y2, _ = await contact_pair(client, w, "2")
    r = await call(client, w, "sales", "POST", "/api/v1/contacts/merge", json={
        "survivor_id": x2["id"], "merged_ids": [y2["id"]], "versions": {str(x2["id"]): 1, str(y2["id"]): 1}})
    assert r.status_code == 200, r.text
    assert (await call(client, w, "sales", "DELETE", f"/api/v1/customers/{c2['id']}")).status_code == 204
    r = await call(client, w, "sales", "POST", f"/api/v1/contacts/merges/{r.json()['merge_id']}/undo")
    assert r.status_code == 409 and r.json()["code"] == "merge_undo_unsafe"
    r = await call(client, w, "sales", "GET", "/api/v1/contacts/merges?cursor=bad")
    assert r.status_code == 400
    # the survivor was deleted since: refused with the reason
    c3, x3, y3, _ = await contact_pair(client, w, "3")
    r = await call(client, w, "sales", "POST", "/api/v1/contacts/merge", json={
        "survivor_id": x3["id"], "merged_ids": [y3["id"]], "versions": {str(x3["id"]): 1, str(y3["id"]): 1}})
    assert r.status_code == 200, r.text
    assert (await call(client, w, "sales", "DELETE", f"/api/v1/contacts/{x3['id']}")).status_code == 204
    r = await call(client, w, "sales", "POST", f"/api/v1/contacts/merges/{r.json()['merge_id']}/undo")
    assert r.status_code == 409 and r.json()["code"] == "merge_undo_unsafe" and "已被删除" in r.json()["detail"], r.text
    assert [ct["id"] for ct in (await call(client, w, "sales", "GET",
                                           f"/api/v1/customers/{c3['id']}/contacts")).json()["items"]] == []


async def test_groups_are_kept_exactly_on_every_write(client, db):
    """The stored groups equal a fresh GROUP BY after creates, edits, bin, restore, purge and merge."""
    from guanxi.dedupe import repository as dedupe_repo

    w = await make_world(db)
    a = await new_customer(client, w, name="甲", phones=["13922223333"])
    b = await new_customer(client, w, "other_team", name="乙", phones=["13922223333"], emails=["x@y.cn"])
    c = await new_customer(client, w, name="丙", emails=["x@y.cn"])
    for who, cust in (("sales", a), ("sales", a), ("other_team", b)):  # contacts with one name: contact groups
        await call(client, w, who, "POST", f"/api/v1/customers/{cust['id']}/contacts", json={"name": "同名"})
    await call(client, w, "admin", "DELETE", f"/api/v1/customers/{c['id']}")
    await call(client, w, "admin", "DELETE", f"/api/v1/customers/{c['id']}/purge")
    r = await call(client, w, "admin", "POST", "/api/v1/customers/merge", json={  # the owner comes from b
        "survivor_id": a["id"], "merged_ids": [b["id"]], "versions": {str(a["id"]): 1, str(b["id"]): 1},
        "values": {"owner_id": b["id"]}})
    assert r.status_code == 200, r.text

    async def snapshot() -> set[tuple[Any, ...]]:
        async with db.session() as session:
            rows = (await session.execute(select(DuplicateGroup.entity, DuplicateGroup.kind, DuplicateGroup.value,
                                                 DuplicateGroup.size, DuplicateGroup.anchor_id)
                                          .where(DuplicateGroup.workspace_id == w.workspace_id))).all()
        return {tuple(r) for r in rows}

    kept = await snapshot()
    owners = await owner_rows(db, w.workspace_id)
    async with db.session() as session:
        await dedupe_repo.rebuild(session, w.workspace_id)
    assert await snapshot() == kept
    assert await owner_rows(db, w.workspace_id) == owners


async def owner_rows(db, workspace_id: int) -> set[tuple[Any, ...]]:  # type: ignore[no-untyped-def]
    from guanxi.dedupe.models import DuplicateGroupOwner as O

    async with db.session() as session:
        rows = (await session.execute(select(O.entity, O.kind, O.value, O.owner_id, O.size, O.anchor_id, DuplicateGroup.kind,
                                             DuplicateGroup.value).join(DuplicateGroup, DuplicateGroup.id == O.group_id)
                                      .where(O.workspace_id == workspace_id))).all()
    return {tuple(r) for r in rows}


async def test_a_reps_page_walks_their_own_groups_and_follows_owner_changes(client, db):
    """Per-owner rows: a rep's page holds the groups of two or more of their customers, exactly as the full walk
    filtered by scope would; reassigning a customer moves its groups; a rebuild gives the same rows."""
    from guanxi.dedupe import repository as dedupe_repo

    w = await make_world(db)
    mine = [await new_customer(client, w, "sales", name=f"自有{i}", phones=["13933334444"]) for i in range(2)]
    theirs = [await new_customer(client, w, "other_team", name=f"他人{i}", emails=["t@he.cn"]) for i in range(2)]
    mixed = await new_customer(client, w, "other_team", name="混合", phones=["13933334444"])
    ct = [await call(client, w, "sales", "POST", f"/api/v1/customers/{mine[0]['id']}/contacts",
                     json={"name": "同名联系人", "phones": [f"1370000{i}000"]}) for i in range(2)]
    assert all(r.status_code == 201 for r in ct)

    def ids(items: list[dict[str, Any]]) -> list[set[int]]:
        return [{m["id"] for m in g["members"]} for g in items]

    assert ids(await groups(client, w, "sales")) == [{mine[0]["id"], mine[1]["id"]}]
    assert ids(await groups(client, w, "other_team")) == [{theirs[0]["id"], theirs[1]["id"]}]
    assert len(await groups(client, w, "sales", "contacts")) == 1
    assert await groups(client, w, "other_team", "contacts") == []
    assert {mine[0]["id"], mine[1]["id"], mixed["id"]} in ids(await groups(client, w, "admin"))

    # the admin hands one of the sales rep's customers (and its contacts) to the other team's rep
    got = await call(client, w, "admin", "GET", f"/api/v1/customers/{mine[0]['id']}")
    r = await call(client, w, "admin", "PATCH", f"/api/v1/customers/{mine[0]['id']}",
                   json={"owner_id": w.users["other_team"].id}, headers={"If-Match": got.headers["etag"]})
    assert r.status_code == 200, r.text
    assert await groups(client, w, "sales") == [] and await groups(client, w, "sales", "contacts") == []
    assert {mine[0]["id"], mixed["id"]} in ids(await groups(client, w, "other_team"))
    assert len(await groups(client, w, "other_team", "contacts")) == 1
    kept = await owner_rows(db, w.workspace_id)
    async with db.session() as session:
        await dedupe_repo.rebuild(session, w.workspace_id)
    assert await owner_rows(db, w.workspace_id) == kept
