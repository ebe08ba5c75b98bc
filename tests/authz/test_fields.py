"""Field rules (masked / hidden / read-only), owner reassignment, server-set fields, custom roles, and the
exact set of customers each role's list returns."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from guanxi.customers.models import Customer
from tests.fixtures.factories import World, call, make_customer, make_world

pytestmark = pytest.mark.anyio

ROLES = ("admin", "manager", "sales", "service", "marketing", "readonly")

SECRET = {
    "phones": ["13800138000"],
    "emails": ["boss@yunqi-data.com"],
    "wechat": "wx_boss_2026",
    "notes": "机密：底价八五折",
}
# what each built-in role may read of SECRET: "clear", "masked" or "hidden"
FIELD_VIEW = {
    "admin": {"phones": "clear", "emails": "clear", "wechat": "clear", "notes": "clear"},
    "manager": {"phones": "clear", "emails": "clear", "wechat": "clear", "notes": "clear"},
    "sales": {"phones": "clear", "emails": "clear", "wechat": "clear", "notes": "clear"},
    "service": {"phones": "clear", "emails": "clear", "wechat": "clear", "notes": "clear"},
    "marketing": {"phones": "masked", "emails": "clear", "wechat": "clear", "notes": "hidden"},
    "readonly": {"phones": "masked", "emails": "masked", "wechat": "masked", "notes": "hidden"},
}
CLEAR = {"phones": ["138 0013 8000"], "emails": ["boss@yunqi-data.com"], "wechat": "wx_boss_2026",
         "notes": "机密：底价八五折"}
# pieces that must never reach a reader who may not see the field in clear
GIVEAWAY = {"phones": ["0013"], "emails": ["boss@", "boss"], "wechat": ["wx_boss_2026", "boss_2026"],
            "notes": ["底价", "八五折"]}


def assert_view(record: dict[str, Any], view: dict[str, str], where: str) -> None:
    for name, how in view.items():
        value = record[name]
        if how == "clear":
            assert value == CLEAR[name], f"{where}: {name} should be readable: {value!r}"
        elif how == "hidden":
            assert value in (None, []), f"{where}: {name} should be hidden: {value!r}"
        else:
            flat = value if isinstance(value, list) else [value]
            assert flat and all(isinstance(v, str) and "*" in v for v in flat), f"{where}: {name} unmasked: {value!r}"
            assert not any(g in v for g in GIVEAWAY[name] for v in flat), f"{where}: {name} leaks: {value!r}"


def assert_no_giveaway(text: str, view: dict[str, str], where: str) -> None:
    for name, how in view.items():
        if how != "clear":
            leaked = [g for g in GIVEAWAY[name] if g in text]
            assert not leaked, f"{where}: {name} ({how}) leaks {leaked}"


@pytest.mark.parametrize("role", ROLES)
async def test_field_rules_in_list_and_get(client, db, role):
    w = await make_world(db)
    c = await make_customer(db, w, "sales", phones=SECRET["phones"], emails=SECRET["emails"],
                            wechat=SECRET["wechat"], notes=SECRET["notes"])
    got = await call(client, w, role, "GET", f"/api/v1/customers/{c.id}")
    assert got.status_code == 200, got.text
    assert_view(got.json(), FIELD_VIEW[role], f"{role} GET")
    assert_no_giveaway(got.text, FIELD_VIEW[role], f"{role} GET")
    lst = await call(client, w, role, "GET", "/api/v1/customers")
    item = next(x for x in lst.json()["items"] if x["id"] == c.id)
    assert_view(item, FIELD_VIEW[role], f"{role} list")
    assert_no_giveaway(lst.text, FIELD_VIEW[role], f"{role} list")
    found = await call(client, w, role, "GET", "/api/v1/customers", params={"q": c.name})
    assert_no_giveaway(found.text, FIELD_VIEW[role], f"{role} search")


@pytest.mark.parametrize("role", ["marketing", "readonly"])
async def test_history_applies_field_rules(client, db, role):
    w = await make_world(db)
    r = await call(client, w, "sales", "POST", "/api/v1/customers", json={
        "kind": "company", "name": "云栖数据", "phones": SECRET["phones"], "emails": SECRET["emails"],
        "wechat": SECRET["wechat"], "notes": SECRET["notes"]})
    assert r.status_code == 201
    hist = await call(client, w, role, "GET", f"/api/v1/customers/{r.json()['id']}/history")
    assert hist.status_code == 200
    assert_no_giveaway(hist.text, FIELD_VIEW[role], f"{role} history")


@pytest.mark.parametrize("role", ["marketing", "readonly"])
async def test_contacts_apply_the_customer_field_rules(client, db, role):
    w = await make_world(db)
    c = await make_customer(db, w, "sales")
    r = await call(client, w, "sales", "POST", f"/api/v1/customers/{c.id}/contacts", json={
        "name": "陈静", "phones": SECRET["phones"], "emails": SECRET["emails"], "wechat": SECRET["wechat"],
        "notes": SECRET["notes"]})
    assert r.status_code == 201
    lst = await call(client, w, role, "GET", f"/api/v1/customers/{c.id}/contacts")
    assert lst.status_code == 200
    assert_no_giveaway(lst.text, FIELD_VIEW[role], f"{role} contacts")


@pytest.mark.parametrize("role", ["marketing", "readonly"])
async def test_filters_do_not_reveal_hidden_fields(client, db, role):
    w = await make_world(db)
    c = await make_customer(db, w, "sales", notes=SECRET["notes"])

    async def ids(flt: str) -> Any:
        r = await call(client, w, role, "GET", "/api/v1/customers", params={"filter": flt})
        return r.status_code, sorted(x["id"] for x in r.json().get("items", []))

    right, wrong = await ids("notes:contains:底价"), await ids("notes:contains:不存在的词")
    assert right == wrong, f"the answer depends on the hidden notes: {right} vs {wrong} (target {c.id})"


# ------------------------------------------------------------------ writes a role may not make


async def _row(db, cid: int) -> dict[str, Any]:
    async with db.session() as s:
        c = await s.get(Customer, cid)
        assert c is not None
        return {k: getattr(c, k) for k in ("name", "grade", "stage", "source", "owner_id", "team_id", "version",
                                           "created_at", "updated_at", "created_by", "deleted_at", "workspace_id")}


async def _count(db, world: World) -> int:
    async with db.session() as s:
        return await s.scalar(select(func.count()).select_from(Customer)
                              .where(Customer.workspace_id == world.workspace_id)) or 0


async def test_service_cannot_write_grade_stage_source_but_can_write_name(client, db):
    w = await make_world(db)
    c = await make_customer(db, w, "other_team", grade="B", stage="repeat", source="web")
    before = await _row(db, c.id)
    got = (await call(client, w, "service", "GET", f"/api/v1/customers/{c.id}")).json()
    assert (got["grade"], got["stage"], got["source"]) == ("B", "repeat", "web")  # readable
    for body, fields in [({"grade": "A"}, {"grade"}), ({"stage": "loyal"}, {"stage"}), ({"source": "event"}, {"source"}),
                         ({"grade": "A", "stage": "lost", "source": "other", "name": "新名字"},
                          {"grade", "stage", "source"})]:
        r = await call(client, w, "service", "PATCH", f"/api/v1/customers/{c.id}", json=body, headers={"If-Match": "1"})
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "read_only_field"
        assert {e["field"] for e in r.json()["errors"]} == fields
        assert {e["code"] for e in r.json()["errors"]} == {"read_only_field"}
        assert await _row(db, c.id) == before  # all or nothing: the name in the last body was not written either
    ok = await call(client, w, "service", "PATCH", f"/api/v1/customers/{c.id}", json={"name": "深圳华瑞"},
                    headers={"If-Match": "1"})
    assert ok.status_code == 200, ok.text
    assert (await _row(db, c.id))["name"] == "深圳华瑞"


async def test_sales_cannot_set_owner(client, db):
    w = await make_world(db)
    c = await make_customer(db, w, "sales")
    before, n = await _row(db, c.id), await _count(db, w)
    for owner in ("teammate", "sales", "manager"):
        oid = w.users[owner].id
        r = await call(client, w, "sales", "POST", "/api/v1/customers",
                       json={"kind": "person", "name": "张伟", "owner_id": oid})
        assert r.status_code == 422 and r.json()["code"] == "read_only_field", r.text
        assert r.json()["errors"] == [{"field": "owner_id", "code": "owner_not_allowed", "message": r.json()["errors"][0]["message"]}]
        r = await call(client, w, "sales", "PATCH", f"/api/v1/customers/{c.id}", json={"owner_id": oid},
                       headers={"If-Match": "1"})
        assert r.status_code == 422 and r.json()["errors"][0]["code"] == "owner_not_allowed", r.text
    assert await _row(db, c.id) == before and await _count(db, w) == n
    me = (await call(client, w, "sales", "GET", "/api/v1/me")).json()
    assert me["can_reassign"] is False


async def test_manager_reassigns_only_inside_team_a_and_a1(client, db):
    w = await make_world(db)
    c = await make_customer(db, w, "teammate")
    assert (await call(client, w, "manager", "GET", "/api/v1/me")).json()["can_reassign"] is True
    version = 1
    for owner, team in (("subteam", "a1"), ("sales", "a"), ("manager", "a")):
        r = await call(client, w, "manager", "PATCH", f"/api/v1/customers/{c.id}", json={"owner_id": w.users[owner].id},
                       headers={"If-Match": str(version)})
        assert r.status_code == 200, r.text
        version += 1
        row = await _row(db, c.id)
        assert (row["owner_id"], row["team_id"]) == (w.users[owner].id, w.teams[team])
        assert (r.json()["owner_id"], r.json()["team_id"]) == (w.users[owner].id, w.teams[team])
    before = await _row(db, c.id)
    w2 = await make_world(db)
    for oid in (w.users["other_team"].id, w.users["service"].id, w.users["marketing"].id, w.users["admin"].id,
                w2.users["sales"].id, 987654321):
        r = await call(client, w, "manager", "PATCH", f"/api/v1/customers/{c.id}", json={"owner_id": oid},
                       headers={"If-Match": str(version)})
        assert r.status_code == 422, r.text
        assert [(e["field"], e["code"]) for e in r.json()["errors"]] == [("owner_id", "invalid_user")]
    assert await _row(db, c.id) == before
    n = await _count(db, w)
    made = await call(client, w, "manager", "POST", "/api/v1/customers",
                      json={"kind": "company", "name": "子团队客户", "owner_id": w.users["subteam"].id})
    assert made.status_code == 201 and made.json()["team_id"] == w.teams["a1"]
    bad = await call(client, w, "manager", "POST", "/api/v1/customers",
                     json={"kind": "company", "name": "外团队客户", "owner_id": w.users["other_team"].id})
    assert bad.status_code == 422 and bad.json()["errors"][0]["code"] == "invalid_user"
    assert await _count(db, w) == n + 1


async def test_admin_reassigns_to_anyone_in_the_workspace(client, db):
    w, w2 = await make_world(db), await make_world(db)
    c = await make_customer(db, w, "sales")
    version = 1
    for owner in ("other_team", "marketing", "service", "subteam", "admin"):
        r = await call(client, w, "admin", "PATCH", f"/api/v1/customers/{c.id}", json={"owner_id": w.users[owner].id},
                       headers={"If-Match": str(version)})
        assert r.status_code == 200, r.text
        version += 1
        row = await _row(db, c.id)
        assert (row["owner_id"], row["team_id"]) == (w.users[owner].id, w.users[owner].team_id)
    before = await _row(db, c.id)
    for oid in (w2.users["sales"].id, 987654321, None):
        r = await call(client, w, "admin", "PATCH", f"/api/v1/customers/{c.id}", json={"owner_id": oid},
                       headers={"If-Match": str(version)})
        assert r.status_code == 422 and r.json()["errors"][0] == {**r.json()["errors"][0], "field": "owner_id",
                                                                   "code": "invalid_user"}, r.text
    assert await _row(db, c.id) == before


SERVER_SET: dict[str, dict[str, Any]] = {
    "id": {"id": 999_999},
    "workspace_id": {"workspace_id": 1},
    "version": {"version": 99},
    "created_at": {"created_at": "2020-01-01T00:00:00Z"},
    "updated_at": {"updated_at": "2020-01-01T00:00:00Z"},
    "created_by": {"created_by": 1},
    "deleted_at": {"deleted_at": "2020-01-01T00:00:00Z"},
    "team_id": {"team_id": 1},
    # shown on a customer but derived from other data, never written
    "derived": {"owner_name": "x", "team_name": "x", "contact_count": 3},
}


async def _snapshot(db, world: World, ids: list[int]) -> Any:
    async with db.session() as s:
        rows = (await s.scalars(select(Customer).where(Customer.id.in_(ids)).order_by(Customer.id))).all()
        n = await s.scalar(select(func.count()).select_from(Customer).where(Customer.workspace_id == world.workspace_id))
        return n, [{k: getattr(c, k) for k in ("name", "city", "owner_id", "team_id", "version", "created_at",
                                               "updated_at", "created_by", "deleted_at", "workspace_id")} for c in rows]


@pytest.mark.parametrize("name", list(SERVER_SET))
async def test_nobody_writes_server_set_fields(client, db, name):
    w = await make_world(db)
    fields = SERVER_SET[name]
    mine = {role: (await make_customer(db, w, role)).id for role in ROLES}
    before = await _snapshot(db, w, list(mine.values()))
    for role in ROLES:
        post = await call(client, w, role, "POST", "/api/v1/customers", json={"kind": "company", "name": "x", **fields})
        patch = await call(client, w, role, "PATCH", f"/api/v1/customers/{mine[role]}",
                           json={"city": "杭州", **fields}, headers={"If-Match": "1"})
        for r in (post, patch):
            assert r.status_code in (403, 422), f"{role} {name}: {r.status_code} {r.text}"
            assert r.headers["content-type"].startswith("application/problem+json")
            if r.status_code == 422:
                assert r.json()["code"] == "read_only_field", r.text
                assert sorted((e["field"], e["code"]) for e in r.json()["errors"]) == sorted(
                    (f, "read_only_field") for f in fields)
        if role in ("admin", "manager", "sales"):
            assert post.status_code == 422, f"{role} may create, so the refusal must name the field"
        if role in ("admin", "manager", "sales", "service"):
            assert patch.status_code == 422, f"{role} may edit, so the refusal must name the field"
    assert await _snapshot(db, w, list(mine.values())) == before, f"{name}: something was written"


# ------------------------------------------------------------------ a custom role made through the API


async def _login(client, world: World, key: str, email: str, password: str) -> None:
    r = await client.post("/api/v1/auth/login", json={"login": email, "password": password})
    assert r.status_code == 200, r.text
    world.tokens[key] = (r.cookies["guanxi_session"], r.cookies["guanxi_csrf"])
    client.cookies.clear()  # requests below carry their own cookie header


async def test_custom_role_field_rules_mask_what_they_say(client, db):
    w = await make_world(db)
    r = await call(client, w, "admin", "POST", "/api/v1/roles", json={
        "name": "渠道专员", "scope": "team", "permissions": {"customers": ["view", "edit"]},
        "field_rules": {"customers": {"emails": "hidden", "address": "masked", "birthday": "hidden",
                                      "tags": "hidden", "phones": "masked", "grade": "read"}}})
    assert r.status_code == 201, r.text
    role = r.json()
    u = await call(client, w, "admin", "POST", "/api/v1/users", json={
        "email": f"channel.{w.slug}@example.com", "name": "渠道专员", "password": "channel-pass-1",
        "role_id": role["id"], "team_id": w.teams["b"]})
    assert u.status_code == 201, u.text
    await _login(client, w, "channel", f"channel.{w.slug}@example.com", "channel-pass-1")
    me = (await call(client, w, "channel", "GET", "/api/v1/me")).json()
    assert me["role"]["id"] == role["id"] and me["field_rules"]["customers"]["emails"] == "hidden"

    mine = await make_customer(db, w, "other_team", phones=["13800138000"], emails=["boss@yunqi-data.com"],
                               address="杭州市西湖区文三路 90 号", birthday=None, tags=["重点客户"], grade="A",
                               wechat="wx_boss_2026", notes="备注可见")
    theirs = await make_customer(db, w, "sales")  # team a: outside this team-b role's scope
    got = await call(client, w, "channel", "GET", f"/api/v1/customers/{mine.id}")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["emails"] == [] and body["tags"] == [] and body["birthday"] is None
    assert "*" in body["address"] and "文三路 90 号" not in got.text
    assert body["phones"][0].count("*") and "0013" not in got.text
    assert body["grade"] == "A" and body["wechat"] == "wx_boss_2026" and body["notes"] == "备注可见"  # no rule
    assert "boss@" not in got.text and "重点客户" not in got.text
    lst = await call(client, w, "channel", "GET", "/api/v1/customers")
    assert {x["id"] for x in lst.json()["items"]} == {mine.id}
    assert "boss@" not in lst.text and "0013" not in lst.text and "重点客户" not in lst.text
    assert (await call(client, w, "channel", "GET", f"/api/v1/customers/{theirs.id}")).status_code == 404

    before = await _row(db, mine.id)
    for field, value in (("emails", ["x@y.com"]), ("address", "新地址"), ("tags", ["a"]), ("phones", ["13900000000"]),
                         ("grade", "B"), ("birthday", "1990-01-01")):
        r = await call(client, w, "channel", "PATCH", f"/api/v1/customers/{mine.id}", json={field: value},
                       headers={"If-Match": "1"})
        assert r.status_code == 422, f"{field}: {r.text}"
        assert [(e["field"], e["code"]) for e in r.json()["errors"]] == [(field, "read_only_field")]
    assert await _row(db, mine.id) == before
    ok = await call(client, w, "channel", "PATCH", f"/api/v1/customers/{mine.id}", json={"name": "改名"},
                    headers={"If-Match": "1"})
    assert ok.status_code == 200 and ok.json()["emails"] == [] and "0013" not in ok.text


# ------------------------------------------------------------------ exactly which customers a list returns

OWNERS = ("admin", "manager", "sales", "teammate", "subteam", "other_team", "service", "marketing", "readonly")
# role → the owners whose customers the role's list shows
LIVE_SCOPE = {
    "admin": set(OWNERS),
    "manager": {"manager", "sales", "teammate", "subteam"},  # team a (manager, sales, teammate) + a1 (subteam)
    "sales": {"sales"},
    "service": set(OWNERS),
    "marketing": set(OWNERS),
    "readonly": set(OWNERS),
}
BIN_SCOPE = {"admin": {"sales", "teammate", "subteam", "other_team"}, "manager": {"sales", "teammate", "subteam"},
             "sales": {"sales"}}


async def _walk(client, w: World, who: str, url: str) -> tuple[list[int], int]:
    ids: list[int] = []
    r = await call(client, w, who, "GET", url)
    assert r.status_code == 200, r.text
    page, total = r.json(), r.json()["total"]
    while True:
        ids += [x["id"] for x in page["items"]]
        if not page["next_cursor"]:
            return ids, total
        r = await call(client, w, who, "GET", f"{url}&cursor={page['next_cursor']}")
        assert r.status_code == 200, r.text
        page = r.json()


@pytest.mark.parametrize("role", ROLES)
async def test_list_returns_exactly_the_role_scope(client, db, role):
    w, w2 = await make_world(db), await make_world(db)
    live = {o: {(await make_customer(db, w, o, name=f"矩阵{o}{i}")).id for i in range(2)} for o in OWNERS}
    binned = {o: {(await make_customer(db, w, o, name=f"矩阵回收{o}", deleted=True)).id} for o in BIN_SCOPE["admin"]}
    elsewhere = {(await make_customer(db, w2, "sales", name="矩阵外部")).id}
    expected = set().union(*(live[o] for o in LIVE_SCOPE[role]))

    for url in ("/api/v1/customers?limit=200", "/api/v1/customers?limit=4", "/api/v1/customers?limit=5&sort=name",
                "/api/v1/customers?limit=5&q=矩阵"):
        ids, total = await _walk(client, w, role, url)
        assert len(ids) == len(set(ids)), f"{url}: a customer appears twice"
        assert set(ids) == expected, f"{role} {url}: extra {set(ids) - expected}, missing {expected - set(ids)}"
        assert total == len(expected), url
        assert not set(ids) & elsewhere

    bin_url = "/api/v1/customers?deleted=true&limit=3"
    if role in BIN_SCOPE:
        ids, total = await _walk(client, w, role, bin_url)
        assert set(ids) == set().union(*(binned[o] for o in BIN_SCOPE[role])) and total == len(ids)
    else:
        r = await call(client, w, role, "GET", bin_url)
        assert r.status_code == 403 and r.json()["code"] == "forbidden"


@pytest.mark.parametrize("role", ["marketing", "readonly"])
@pytest.mark.parametrize("sort", [None, "name"])
async def test_search_does_not_answer_for_masked_fields(client, db, role, sort):
    w = await make_world(db)
    c = await make_customer(db, w, "sales", name="云栖数据", phones=SECRET["phones"], emails=SECRET["emails"],
                            wechat=SECRET["wechat"])

    async def ids(q: str) -> list[int]:
        r = await call(client, w, role, "GET", "/api/v1/customers", params={"q": q, **({"sort": sort} if sort else {})})
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()["items"]]

    assert await ids("云栖") == [c.id]  # the name stays searchable
    assert await ids("yunqi") == [c.id]
    assert await ids("38000") == []  # phone digits: masked for both roles
    if FIELD_VIEW[role]["emails"] == "clear":
        assert await ids("boss@yunqi-data.com") == [c.id]
    else:
        assert await ids("boss@yunqi-data.com") == []
    if FIELD_VIEW[role]["wechat"] == "clear":
        assert await ids("wx_boss_2026") == [c.id]
    else:
        assert await ids("wx_boss_2026") == []
    owner = await call(client, w, "sales", "GET", "/api/v1/customers", params={"q": "38000"})
    assert [x["id"] for x in owner.json()["items"]] == [c.id]  # the owner, who sees the phone, finds it
