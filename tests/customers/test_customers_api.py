import pytest

from tests.fixtures.factories import call, make_custom_field, make_customer, make_world

pytestmark = pytest.mark.anyio


async def test_create_get_update_with_etag_and_history(client, db):
    w = await make_world(db)
    await make_custom_field(db, w, "budget", "money")
    await make_custom_field(db, w, "intent", "select", ["high", "low"])
    r = await call(client, w, "sales", "POST", "/api/v1/customers", json={
        "kind": "company", "name": "杭州云栖数据科技有限公司", "phones": ["138-0013-8000"], "emails": ["Boss@YunQi.com"],
        "city": "杭州", "tags": ["重点客户", "重点客户"], "custom": {"budget": "120000", "intent": "high"}})
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["phones"] == ["138 0013 8000"]
    assert c["emails"] == ["boss@yunqi.com"]
    assert c["tags"] == ["重点客户"]
    assert c["custom"] == {"budget": "120000.00", "intent": "high"}
    assert c["owner_id"] == w.users["sales"].id and c["team_id"] == w.teams["a"]
    assert r.headers["etag"] == '"1"'

    got = await call(client, w, "sales", "GET", f"/api/v1/customers/{c['id']}")
    assert got.status_code == 200 and got.json()["name"] == c["name"]

    upd = await call(client, w, "sales", "PATCH", f"/api/v1/customers/{c['id']}", json={"stage": "loyal"},
                     headers={"If-Match": '"1"'})
    assert upd.status_code == 200, upd.text
    assert upd.json()["version"] == 2 and upd.headers["etag"] == '"2"'
    stale = await call(client, w, "sales", "PATCH", f"/api/v1/customers/{c['id']}", json={"stage": "lost"},
                       headers={"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    missing = await call(client, w, "sales", "PATCH", f"/api/v1/customers/{c['id']}", json={"stage": "lost"})
    assert missing.status_code == 428

    hist = (await call(client, w, "sales", "GET", f"/api/v1/customers/{c['id']}/history")).json()["items"]
    assert hist[0]["action"] == "update"
    assert hist[0]["changes"] == [{"field": "stage", "old": "potential", "new": "loyal"}]
    assert hist[-1]["action"] == "create"
    assert hist[0]["user_name"] == w.users["sales"].name


async def test_field_errors_are_reported_together_and_nothing_is_written(client, db):
    w = await make_world(db)
    await make_custom_field(db, w, "intent", "select", ["high", "low"])
    r = await call(client, w, "sales", "POST", "/api/v1/customers", json={
        "kind": "company", "name": "坏数据公司", "phones": ["12345"], "emails": ["not-an-email"],
        "custom": {"intent": "maybe", "nope": 1}})
    assert r.status_code == 422
    body = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"]: e["code"] for e in body["errors"]}
    assert fields == {"phones.0": "invalid_phone", "emails.0": "invalid_email", "custom.intent": "invalid_option",
                      "custom.nope": "unknown_field"}
    assert body["errors"][0]["message"]  # in the user's language
    lst = (await call(client, w, "sales", "GET", "/api/v1/customers")).json()
    assert lst["items"] == []


async def test_read_only_and_unknown_fields_are_refused(client, db):
    w = await make_world(db)
    r = await call(client, w, "sales", "POST", "/api/v1/customers", json={"kind": "person", "name": "张伟", "id": 5,
                                                                         "version": 3})
    assert r.status_code == 422 and r.json()["code"] == "read_only_field"
    assert {e["field"] for e in r.json()["errors"]} == {"id", "version"}
    r = await call(client, w, "sales", "POST", "/api/v1/customers", json={"kind": "person", "name": "张伟", "colour": 1})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "colour"
    r = await call(client, w, "sales", "POST", "/api/v1/customers", json={"kind": "person", "name": "张伟",
                                                                         "owner_id": w.users["teammate"].id})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "owner_not_allowed"
    r = await call(client, w, "sales", "POST", "/api/v1/customers", json={"kind": "person", "name": "张伟", "team_id": 1})
    assert r.status_code == 422 and r.json()["code"] == "read_only_field"


async def test_malformed_json_wrong_types_and_big_bodies(client, db):
    w = await make_world(db)
    h = {"Content-Type": "application/json"}
    r = await call(client, w, "sales", "POST", "/api/v1/customers", content=b"{not json", headers=h)
    assert r.status_code == 400 and r.json()["code"] == "invalid_json"
    r = await call(client, w, "sales", "POST", "/api/v1/customers", json={"kind": "company", "name": ["x"]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "name"
    r = await call(client, w, "sales", "POST", "/api/v1/customers", json=[1, 2])
    assert r.status_code in (400, 422)
    big = b'{"kind": "company", "name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    r = await call(client, w, "sales", "POST", "/api/v1/customers", content=big, headers=h)
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"
    assert (await call(client, w, "sales", "GET", "/api/v1/customers")).json()["items"] == []


async def test_idempotency_key(client, db):
    w = await make_world(db)
    body = {"kind": "person", "name": "李娜", "phones": ["13912345678"]}
    h = {"Idempotency-Key": "k-1"}
    a = await call(client, w, "sales", "POST", "/api/v1/customers", json=body, headers=h)
    b = await call(client, w, "sales", "POST", "/api/v1/customers", json=body, headers=h)
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] == b.json()["id"]
    c = await call(client, w, "sales", "POST", "/api/v1/customers", json={**body, "name": "王芳"}, headers=h)
    assert c.status_code == 422 and c.json()["code"] == "idempotency_key_reused"
    assert (await call(client, w, "sales", "GET", "/api/v1/customers")).json()["total"] == 1


async def test_duplicate_phone_warns_and_links(client, db):
    w = await make_world(db)
    first = await make_customer(db, w, "sales", name="深圳前海华瑞供应链管理有限公司", phones=["0755-8888 1234"])
    hidden = await make_customer(db, w, "other_team", name="外部客户", emails=["x@huarui.cn"])
    r = await call(client, w, "sales", "POST", "/api/v1/customers", json={
        "kind": "company", "name": "华瑞供应链", "phones": ["+86 755 88881234"], "emails": ["X@huarui.cn"]})
    assert r.status_code == 201
    d = {x["matched_on"]: x for x in r.json()["duplicates"]}
    assert d["phone"]["id"] == first.id and d["phone"]["name"] == first.name
    assert d["email"]["visible"] is False and d["email"]["id"] is None  # another team's customer is not revealed
    assert d["email"]["owner_name"] == w.users["other_team"].name
    chk = await call(client, w, "admin", "POST", "/api/v1/customers/check-duplicates", json={"emails": ["x@huarui.cn"]})
    assert chk.json()[0]["id"] == hidden.id


async def test_delete_restore_purge(client, db):
    w = await make_world(db)
    c = await make_customer(db, w, "sales")
    assert (await call(client, w, "sales", "DELETE", f"/api/v1/customers/{c.id}")).status_code == 204
    assert (await call(client, w, "sales", "GET", "/api/v1/customers")).json()["items"] == []
    bin_ = (await call(client, w, "sales", "GET", "/api/v1/customers?deleted=true")).json()
    assert [x["id"] for x in bin_["items"]] == [c.id]
    assert (await call(client, w, "sales", "DELETE", f"/api/v1/customers/{c.id}/purge")).status_code == 403
    assert (await call(client, w, "sales", "POST", f"/api/v1/customers/{c.id}/restore")).status_code == 200
    assert (await call(client, w, "admin", "DELETE", f"/api/v1/customers/{c.id}/purge")).status_code == 404  # live
    await call(client, w, "sales", "DELETE", f"/api/v1/customers/{c.id}")
    assert (await call(client, w, "admin", "DELETE", f"/api/v1/customers/{c.id}/purge")).status_code == 204
    assert (await call(client, w, "admin", "GET", f"/api/v1/customers/{c.id}")).status_code == 404
    actions = [e["action"] for e in (await call(client, w, "admin", "GET", "/api/v1/audit?record_type=customer")).json()["items"]]
    assert actions[:4] == ["purge", "delete", "restore", "delete"]


async def test_contacts(client, db):
    w = await make_world(db)
    c = await make_customer(db, w, "sales")
    a = await call(client, w, "sales", "POST", f"/api/v1/customers/{c.id}/contacts", json={"name": "陈静", "title": "采购经理", "phones": ["13800000001"]})
    assert a.status_code == 201 and a.json()["is_primary"] is True
    b = await call(client, w, "sales", "POST", f"/api/v1/customers/{c.id}/contacts", json={"name": "刘洋", "is_primary": True})
    items = (await call(client, w, "sales", "GET", f"/api/v1/customers/{c.id}/contacts")).json()["items"]
    assert [x["name"] for x in items if x["is_primary"]] == ["刘洋"]
    bad = await call(client, w, "sales", "POST", f"/api/v1/customers/{c.id}/contacts", json={"name": "x", "emails": ["bad"]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "emails.0"
    upd = await call(client, w, "sales", "PATCH", f"/api/v1/contacts/{b.json()['id']}", json={"title": "总经理"}, headers={"If-Match": "1"})
    assert upd.status_code == 200 and upd.json()["title"] == "总经理"
    assert (await call(client, w, "other_team", "GET", f"/api/v1/customers/{c.id}/contacts")).status_code == 404
    hist = (await call(client, w, "sales", "GET", f"/api/v1/customers/{c.id}/history")).json()["items"]
    assert {h["record_type"] for h in hist} == {"contact"}


async def test_contact_create_honours_idempotency_key(client, db):
    w = await make_world(db)
    c = await make_customer(db, w, "sales")
    url = f"/api/v1/customers/{c.id}/contacts"
    h = {"Idempotency-Key": "contact-1"}
    a = await call(client, w, "sales", "POST", url, json={"name": "陈静"}, headers=h)
    b = await call(client, w, "sales", "POST", url, json={"name": "陈静"}, headers=h)
    assert a.status_code == b.status_code == 201 and a.json()["id"] == b.json()["id"]
    assert b.headers["idempotent-replayed"] == "true"
    other = await call(client, w, "sales", "POST", url, json={"name": "刘洋"}, headers=h)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    items = (await call(client, w, "sales", "GET", url)).json()["items"]
    assert [x["name"] for x in items] == ["陈静"]


async def test_similar_name_in_same_city_warns(client, db):
    w = await make_world(db)
    first = (await call(client, w, "sales", "POST", "/api/v1/customers", json={
        "kind": "company", "name": "杭州星河科技有限公司", "city": "杭州"})).json()
    r = await call(client, w, "sales", "POST", "/api/v1/customers", json={
        "kind": "company", "name": "杭州星河科技 有限责任公司", "city": "杭州"})
    assert [(d["id"], d["matched_on"], d["value"]) for d in r.json()["duplicates"]] == [
        (first["id"], "name", "杭州星河科技有限公司 · 杭州")]
    other_city = await call(client, w, "sales", "POST", "/api/v1/customers", json={
        "kind": "company", "name": "杭州星河科技有限公司", "city": "宁波"})
    assert other_city.json()["duplicates"] == []
    chk = await call(client, w, "sales", "POST", "/api/v1/customers/check-duplicates",
                     json={"name": "ＨＺ星河", "city": "杭州"})
    assert chk.json() == []
    chk = await call(client, w, "sales", "POST", "/api/v1/customers/check-duplicates",
                     json={"name": "杭州星河科技（有限公司）", "city": "杭州", "exclude_id": first["id"]})
    assert [d["id"] for d in chk.json()] == [r.json()["id"]]
    # renaming or moving the customer moves its identity with it
    moved = await call(client, w, "sales", "PATCH", f"/api/v1/customers/{r.json()['id']}", json={"city": "宁波"},
                       headers={"If-Match": r.headers["ETag"]})
    assert moved.status_code == 200
    chk = await call(client, w, "sales", "POST", "/api/v1/customers/check-duplicates",
                     json={"name": "杭州星河科技", "city": "宁波"})
    assert sorted(d["id"] for d in chk.json()) == sorted([r.json()["id"], other_city.json()["id"]])
