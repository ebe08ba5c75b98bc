import re

import pytest

from tests.fixtures.factories import call, make_custom_field, make_customer, make_world

pytestmark = pytest.mark.anyio


async def _ids(client, w, who, query):
    r = await call(client, w, who, "GET", f"/api/v1/customers?{query}")
    assert r.status_code == 200, r.text
    return [x["id"] for x in r.json()["items"]]


async def test_search_by_name_part_pinyin_initials_phone_email(client, db):
    w = await make_world(db)
    zw = await make_customer(db, w, "sales", kind="person", name="张伟", phones=["13812345678"])
    yq = await make_customer(db, w, "sales", name="杭州云栖数据科技有限公司", emails=["info@yunqidata.com"])
    zwl = await make_customer(db, w, "sales", kind="person", name="张文亮")
    other = await make_customer(db, w, "sales", name="深圳前海华瑞供应链管理有限公司", phones=["0755-88881234"])
    assert await _ids(client, w, "sales", "q=张伟") == [zw.id]
    assert set(await _ids(client, w, "sales", "q=张")) == {zw.id, zwl.id}  # one character of a person's name
    assert await _ids(client, w, "sales", "q=云栖") == [yq.id]  # a part in the middle of a name
    assert await _ids(client, w, "sales", "q=数据科技") == [yq.id]
    assert await _ids(client, w, "sales", "q=zhangwei") == [zw.id]
    assert (await _ids(client, w, "sales", "q=zw"))[0] == zw.id  # initials: exact initials rank first
    assert set(await _ids(client, w, "sales", "q=zw")) == {zw.id, zwl.id}
    assert await _ids(client, w, "sales", "q=yunqi") == [yq.id]
    assert await _ids(client, w, "sales", "q=2345") == [zw.id]  # 4 digits from the middle of a phone
    assert await _ids(client, w, "sales", "q=88881234") == [other.id]
    assert await _ids(client, w, "sales", "q=info@yunqidata.com") == [yq.id]
    assert await _ids(client, w, "sales", "q=不存在的名字") == []


async def test_search_respects_scope_and_workspace(client, db):
    w = await make_world(db)
    w2 = await make_world(db)
    mine = await make_customer(db, w, "sales", name="王芳花店")
    await make_customer(db, w, "other_team", name="王芳花艺")
    await make_customer(db, w2, "sales", name="王芳花园")
    assert await _ids(client, w, "sales", "q=王芳") == [mine.id]
    assert len(await _ids(client, w, "admin", "q=王芳")) == 2


async def test_search_ranks_exact_then_prefix_then_contains(client, db):
    w = await make_world(db)
    contains = await make_customer(db, w, "sales", name="上海李明贸易有限公司")
    prefix = await make_customer(db, w, "sales", name="李明科技")
    exact = await make_customer(db, w, "sales", kind="person", name="李明")
    assert await _ids(client, w, "sales", "q=李明") == [exact.id, prefix.id, contains.id]


async def test_keyset_pages_cover_everything_once(client, db):
    w = await make_world(db)
    made = [await make_customer(db, w, "sales", name=f"客户{i:02d}", grade=("A" if i % 3 == 0 else None)) for i in range(23)]
    for sort in ("name", "-name", "-updated_at", "grade", "-grade", "created_at"):
        seen, cursor = [], None
        while True:
            q = f"sort={sort}&limit=5" + (f"&cursor={cursor}" if cursor else "")
            body = (await call(client, w, "sales", "GET", f"/api/v1/customers?{q}")).json()
            seen += [x["id"] for x in body["items"]]
            assert body["total"] == 23
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert sorted(seen) == sorted(c.id for c in made), sort
        assert len(seen) == len(set(seen))
    names = [x["name"] for x in (await call(client, w, "sales", "GET", "/api/v1/customers?sort=-name&limit=3")).json()["items"]]
    assert names == ["客户22", "客户21", "客户20"]
    bad = await call(client, w, "sales", "GET", "/api/v1/customers?cursor=garbage")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_cursor"


async def test_filters_on_standard_and_custom_fields(client, db):
    w = await make_world(db)
    await make_custom_field(db, w, "budget", "money")
    await make_custom_field(db, w, "intent", "select", ["high", "low"])
    await make_custom_field(db, w, "products", "multiselect", ["screen", "saas"])
    await make_custom_field(db, w, "vip", "boolean")
    await make_custom_field(db, w, "visit", "date")
    a = await make_customer(db, w, "sales", name="甲", city="杭州", stage="loyal", tags=["重点客户"],
                            custom={"budget": "500000.00", "intent": "high", "products": ["screen", "saas"], "vip": True, "visit": "2026-12-01"})
    b = await make_customer(db, w, "sales", name="乙", city="上海", stage="potential",
                            custom={"budget": "20000.00", "intent": "low", "products": ["saas"], "vip": False})
    c = await make_customer(db, w, "sales", name="丙", city="杭州", stage="lost")
    f = lambda *xs: "&".join(f"filter={x}" for x in xs)
    assert set(await _ids(client, w, "sales", f("city:eq:杭州"))) == {a.id, c.id}
    assert set(await _ids(client, w, "sales", f("stage:in:loyal,lost"))) == {a.id, c.id}
    assert await _ids(client, w, "sales", f("tags:contains:重点客户")) == [a.id]
    assert set(await _ids(client, w, "sales", f("tags:empty:"))) == {b.id, c.id}
    assert await _ids(client, w, "sales", f("custom.budget:gte:100000")) == [a.id]
    assert set(await _ids(client, w, "sales", f("custom.budget:between:10000..600000"))) == {a.id, b.id}
    assert await _ids(client, w, "sales", f("custom.intent:eq:low")) == [b.id]
    assert set(await _ids(client, w, "sales", f("custom.products:contains:saas"))) == {a.id, b.id}
    assert await _ids(client, w, "sales", f("custom.vip:eq:true")) == [a.id]
    assert await _ids(client, w, "sales", f("custom.visit:lte:2026-12-31")) == [a.id]
    assert await _ids(client, w, "sales", f("custom.intent:empty:")) == [c.id]
    assert await _ids(client, w, "sales", f("city:eq:杭州", "custom.intent:eq:high")) == [a.id]
    assert await _ids(client, w, "sales", "sort=-custom.budget&" + f("custom.budget:notempty:")) == [a.id, b.id]
    assert await _ids(client, w, "sales", "sort=custom.budget&" + f("custom.budget:notempty:")) == [b.id, a.id]
    assert set(await _ids(client, w, "sales", f("created_at:between:2000-01-01..2100-01-01"))) == {a.id, b.id, c.id}
    for bad in ("nope:eq:1", "city:like:x", "custom.nope:eq:1", "custom.budget:gte:abc", "city"):
        r = await call(client, w, "sales", "GET", f"/api/v1/customers?filter={bad}")
        assert r.status_code == 400 and r.json()["code"] == "invalid_filter", bad
    r = await call(client, w, "sales", "GET", "/api/v1/customers?sort=phones")
    assert r.status_code == 400 and r.json()["code"] == "invalid_sort"


async def test_meta_lists_fields_and_custom_fields(client, db):
    w = await make_world(db)
    await make_custom_field(db, w, "budget", "money", label="预算")
    m = (await call(client, w, "sales", "GET", "/api/v1/customers/meta")).json()
    names = {f["name"]: f for f in m["fields"]}
    assert names["stage"]["label"] == "生命周期阶段"
    assert {o["value"] for o in names["stage"]["options"]} == {"potential", "first_purchase", "repeat", "loyal", "at_risk", "lost"}
    assert m["custom_fields"][0]["key"] == "budget"


async def test_custom_fields_and_channels_admin(client, db):
    w = await make_world(db)
    r = await call(client, w, "admin", "POST", "/api/v1/custom-fields", json={"key": "intent", "label": "意向度", "type": "select", "options": [{"value": "high", "label": "高"}]})
    assert r.status_code == 201, r.text
    dup = await call(client, w, "admin", "POST", "/api/v1/custom-fields", json={"key": "intent", "label": "x", "type": "text"})
    assert dup.status_code == 422
    nopt = await call(client, w, "admin", "POST", "/api/v1/custom-fields", json={"key": "kind2", "label": "x", "type": "select"})
    assert nopt.status_code == 422 and nopt.json()["errors"][0]["field"] == "options"
    assert (await call(client, w, "sales", "POST", "/api/v1/custom-fields", json={"key": "z", "label": "z", "type": "text"})).status_code == 403
    ch = await call(client, w, "admin", "POST", "/api/v1/source-channels", json={"label": "抖音"})
    assert ch.status_code == 201
    key = ch.json()["key"]
    c = await call(client, w, "sales", "POST", "/api/v1/customers", json={"kind": "person", "name": "赵丽", "source": key})
    assert c.status_code == 201
    bad = await call(client, w, "sales", "POST", "/api/v1/customers", json={"kind": "person", "name": "赵丽", "source": "tiktok"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "source"


async def test_later_pages_carry_the_first_pages_total(client, db):
    import base64
    import json

    w = await make_world(db)
    for i in range(7):
        await make_customer(db, w, "sales", name=f"翻页客户{i}")
    first = (await call(client, w, "sales", "GET", "/api/v1/customers?limit=3")).json()
    assert first["total"] == 7 and first["next_cursor"]
    await make_customer(db, w, "sales", name="后来的客户")  # not recounted while paging
    second = (await call(client, w, "sales", "GET", f"/api/v1/customers?limit=3&cursor={first['next_cursor']}")).json()
    assert second["total"] == 7 and len(second["items"]) == 3
    value, last_id, _, _ = json.loads(base64.urlsafe_b64decode(first["next_cursor"] + "=="))
    for total, capped in ((-1, False), (10**9, False), ("7", False), (True, False), (7, "no"), (7, None)):
        raw = json.dumps([value, last_id, total, capped]).encode()
        tampered = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        r = await call(client, w, "sales", "GET", f"/api/v1/customers?limit=3&cursor={tampered}")
        assert r.status_code == 400 and r.json()["code"] == "invalid_cursor", (total, capped)


async def test_custom_field_labels_in_english(client, db):
    w = await make_world(db)
    r = await call(client, w, "admin", "POST", "/api/v1/custom-fields", json={
        "key": "intent", "label": "意向度", "label_en": "Intent", "type": "select",
        "options": [{"value": "high", "label": "高", "label_en": "High"}, {"value": "low", "label": "低"}]})
    assert r.status_code == 201, r.text
    assert r.json()["label_en"] == "Intent"
    too_long = await call(client, w, "admin", "PATCH", f"/api/v1/custom-fields/{r.json()['id']}", json={"label_en": "x" * 101})
    assert too_long.status_code == 422 and too_long.json()["errors"][0]["field"] == "label_en"
    zh = (await call(client, w, "sales", "GET", "/api/v1/customers/meta")).json()["custom_fields"][0]
    assert zh["label"] == "意向度" and [o["label"] for o in zh["options"]] == ["高", "低"]
    assert (await call(client, w, "sales", "PATCH", "/api/v1/me", json={"language": "en"})).status_code == 200
    en = (await call(client, w, "sales", "GET", "/api/v1/customers/meta")).json()["custom_fields"][0]
    assert en["label"] == "Intent" and [o["label"] for o in en["options"]] == ["High", "低"]  # falls back per option
    cleared = await call(client, w, "admin", "PATCH", f"/api/v1/custom-fields/{r.json()['id']}", json={"label_en": ""})
    assert cleared.status_code == 200 and cleared.json()["label_en"] is None
    en = (await call(client, w, "sales", "GET", "/api/v1/customers/meta")).json()["custom_fields"][0]
    assert en["label"] == "意向度"


async def test_sort_by_name_is_pinyin_order_and_pages(client, db):
    w = await make_world(db)
    names = ["张伟", "阿里巴巴（中国）有限公司", "Baidu 百度", "123商行", "北京星河", "  zoo"]
    for n in names:
        await make_customer(db, w, "sales", name=n)
    expect = ["123商行", "阿里巴巴（中国）有限公司", "Baidu 百度", "北京星河", "张伟", "  zoo"]
    first = (await call(client, w, "sales", "GET", "/api/v1/customers?sort=name&limit=4")).json()
    rest = (await call(client, w, "sales", "GET",
                       f"/api/v1/customers?sort=name&limit=4&cursor={first['next_cursor']}")).json()
    assert [c["name"] for c in first["items"] + rest["items"]] == expect
    desc = (await call(client, w, "sales", "GET", "/api/v1/customers?sort=-name&limit=50")).json()
    assert [c["name"] for c in desc["items"]] == expect[::-1]
    # renaming re-keys: 张伟 → 艾伟 moves to the front of the a's
    c = next(x for x in first["items"] + rest["items"] if x["name"] == "张伟")
    got = await call(client, w, "sales", "GET", f"/api/v1/customers/{c['id']}")
    await call(client, w, "sales", "PATCH", f"/api/v1/customers/{c['id']}", json={"name": "艾伟"},
               headers={"If-Match": got.headers["ETag"]})
    again = (await call(client, w, "sales", "GET", "/api/v1/customers?sort=name&limit=50")).json()
    assert [x["name"] for x in again["items"]][:3] == ["123商行", "艾伟", "阿里巴巴（中国）有限公司"]


async def _walk(client, w, who, query, limit):
    items, cursor = [], None
    while True:
        q = f"{query}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        r = await call(client, w, who, "GET", f"/api/v1/customers?{q}")
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return items


async def test_sort_by_owner_is_the_owners_name_in_pinyin_order_across_pages(client, db):
    from sqlalchemy import update

    from guanxi.accounts.models import User
    from guanxi.customers.models import Customer

    w = await make_world(db)
    # ids in the order admin < manager < sales < teammate; names in pinyin order teammate < sales < admin < manager
    renames = {"admin": "王芳", "manager": "赵磊", "sales": "李娜", "teammate": "阿强"}
    async with db.session() as session:
        for who, name in renames.items():
            await session.execute(update(User).where(User.id == w.users[who].id).values(name=name))
    made = {who: [await make_customer(db, w, who, name=f"{who}客户{i}") for i in range(3)] for who in renames}
    unowned = await make_customer(db, w, "admin", name="无人客户")
    async with db.session() as session:
        await session.execute(update(Customer).where(Customer.id == unowned.id).values(owner_id=None, team_id=None))
    order = ["teammate", "sales", "admin", "manager"]  # 阿强 a, 李娜 l, 王芳 w, 赵磊 z
    every_row = [c.id for who in order for c in reversed(made[who])] + [unowned.id]  # newest first per owner
    for limit in (2, 3, 50):
        items = await _walk(client, w, "admin", "sort=owner_id", limit)
        assert [x["id"] for x in items] == every_row, limit
        assert [x["owner_name"] for x in items][:4] == ["阿强", "阿强", "阿强", "李娜"]
        desc = await _walk(client, w, "admin", "sort=-owner_id", limit)
        assert [x["id"] for x in desc] == [unowned.id] + [c.id for who in order[::-1] for c in reversed(made[who])]
    # a filter and a narrower scope page the same way
    mine = await _walk(client, w, "sales", "sort=owner_id", 2)
    assert [x["id"] for x in mine] == [c.id for c in reversed(made["sales"])]
    team = await _walk(client, w, "manager", "sort=owner_id", 2)
    assert [x["owner_name"] for x in team] == ["阿强"] * 3 + ["李娜"] * 3 + ["赵磊"] * 3
    # renaming an owner moves their customers: 赵磊 → 艾磊 comes first
    async with db.session() as session:
        await session.execute(update(User).where(User.id == w.users["manager"].id).values(name="艾磊"))
    again = await _walk(client, w, "admin", "sort=owner_id", 4)
    assert [x["owner_name"] for x in again][:4] == ["艾磊", "艾磊", "艾磊", "阿强"]
    bad = await call(client, w, "admin", "GET", "/api/v1/customers?sort=owner_id&cursor=WzEsMiwzLGZhbHNlXQ")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_cursor"


async def test_search_short_terms_and_edits_keep_the_index_current(client, db):
    w = await make_world(db)
    zw = await make_customer(db, w, "sales", kind="person", name="张伟", phones=["13812345678"])
    zwl = await make_customer(db, w, "sales", kind="person", name="张文亮", emails=["liang@wenliang.cn"])
    firm = await make_customer(db, w, "sales", name="杭州云栖数据科技有限公司")
    assert await _ids(client, w, "sales", "q=伟") == [zw.id]  # one character from the end of a name
    assert await _ids(client, w, "sales", "q=栖") == [firm.id]
    assert await _ids(client, w, "sales", "q=wl") == [zwl.id]  # two letters inside the initials zwl
    assert await _ids(client, w, "sales", "q=wei") == [zw.id]  # a syllable of the pinyin
    assert zw.id in await _ids(client, w, "sales", "q=z")  # one letter: at least the names whose pinyin starts with it
    assert zw.id in await _ids(client, w, "sales", "q=z w") and firm.id not in await _ids(client, w, "sales", "q=z w")
    assert await _ids(client, w, "sales", "q=数据 杭州") == [firm.id]  # every word must match
    assert await _ids(client, w, "sales", "q=数据 北京") == []
    assert await _ids(client, w, "sales", "q=wenliang") == [zwl.id]
    # an edit re-indexes: the new name and phone are found, the old ones are not
    got = await call(client, w, "sales", "GET", f"/api/v1/customers/{zw.id}")
    r = await call(client, w, "sales", "PATCH", f"/api/v1/customers/{zw.id}", json={"name": "李娜", "phones": ["13900001111"]},
                   headers={"If-Match": got.headers["ETag"]})
    assert r.status_code == 200, r.text
    assert await _ids(client, w, "sales", "q=娜") == [zw.id]
    assert await _ids(client, w, "sales", "q=ln") == [zw.id]
    assert await _ids(client, w, "sales", "q=0000111") == [zw.id]
    assert await _ids(client, w, "sales", "q=伟") == []
    assert await _ids(client, w, "sales", "q=2345") == []
    # the recycle bin is not searched
    got = await call(client, w, "sales", "GET", f"/api/v1/customers/{firm.id}")
    assert (await call(client, w, "sales", "DELETE", f"/api/v1/customers/{firm.id}",
                       headers={"If-Match": got.headers["ETag"]})).status_code in (200, 204)
    assert await _ids(client, w, "sales", "q=云栖") == []


async def test_exact_names_are_never_capped_away(client, db, monkeypatch):
    from guanxi.customers import repository as repo

    monkeypatch.setattr(repo, "SEARCH_CAP", 3)
    monkeypatch.setattr(repo, "PREFIX_CAP", 2)
    w = await make_world(db)
    longer = [await make_customer(db, w, "sales", name=f"李明{i}号商行") for i in range(6)]
    exact = await make_customer(db, w, "sales", kind="person", name="李明")  # the last written: read last by any scan
    found = await _ids(client, w, "sales", "q=李明")
    assert found[0] == exact.id
    assert set(found[1:]) <= {c.id for c in longer} and len(found) >= 3


async def test_search_candidates_come_from_the_search_indexes(client, db):
    """PostgreSQL cannot estimate `LIKE '%…%'`; asked for the first 300 matches it walked the workspace in some index
    order and filtered every row (seconds at a million customers). With 20,000 customers, replay the statement a
    search ran and check that its matches are read from the search indexes."""
    from sqlalchemy import event, text

    w = await make_world(db)
    wanted = {(await make_customer(db, w, "admin", name=f"星河{i:02d}号贸易公司")).id for i in range(3)}
    if db.kind == "postgresql":
        async with db.engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO customers (workspace_id, kind, name, name_fold, name_pinyin, phones, emails, stage, tags, "
                "custom, created_at, updated_at, version) SELECT :ws, 'company', '客户' || i, '客户' || i, "
                "'kehu' || i || ' kh', '[]', '[]', 'prospect', '[]', '{}', now(), now(), 1 "
                "FROM generate_series(1, 20000) i"), {"ws": w.workspace_id})
            # no vacuum: the search indexes keep no pending list (fastupdate off, migration 0014), which every scan
            # of the index would read and the planner would weigh (in the full suite it then read the workspace)
            await conn.execute(text("ANALYZE customers"))
            options = dict((await conn.execute(text(
                "SELECT relname, reloptions FROM pg_class WHERE relname IN "
                "('ix_customers_search_text', 'ix_customers_search_grams')"))).all())
            assert options == {"ix_customers_search_text": ["fastupdate=off"],
                               "ix_customers_search_grams": ["fastupdate=off"]}
    ran: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        ran.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
    try:
        for q in ("xhh", "星河", "xhhm"):
            ran.clear()
            assert set(await _ids(client, w, "admin", f"q={q}")) == wanted, q
            if db.kind != "postgresql":  # SQLite: candidates come from the FTS5 table
                assert any("customer_fts MATCH" in st for st, _ in ran)
                continue
            at = next(i for i, (st, _) in enumerate(ran) if st.startswith("WITH matches"))
            async with db.engine.connect() as conn:
                raw = (await conn.get_raw_connection()).driver_connection
                async with raw.transaction():
                    for st, params in ran[:at]:
                        if "gin_fuzzy_search_limit" in st:
                            await raw.fetch(st, *params)
                    plan = "\n".join(r[0] for r in await raw.fetch("EXPLAIN " + ran[at][0], *ran[at][1]))
            matches = plan.split("CTE matches", 1)[1].split("CTE tokens", 1)[0]
            assert re.search(r"Bitmap Index Scan on ix_customers_search_(text|grams)", matches), plan
            assert not re.search(r"(?<!Bitmap )Index Scan|Seq Scan", matches), plan
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", capture)


async def test_a_sampled_frequent_term_still_counts_every_match(client, db, monkeypatch):
    """PostgreSQL samples the search index for a one-key query (gin_fuzzy_search_limit); a sample too small for the
    candidate cap is run again in full, so totals are never short."""
    from sqlalchemy import text

    from guanxi.customers import repository as repo

    monkeypatch.setattr(repo, "FUZZY_LIMIT", 1)
    w = await make_world(db)
    made = {(await make_customer(db, w, "sales", name=f"{city}星河{i}号")).id for i in range(12) for city in "京沪"}
    for i in range(200):  # enough other customers that the search indexes are the cheapest way to the matches
        await make_customer(db, w, "sales", name=f"客户{i:03d}")
    if db.kind == "postgresql":
        async with db.engine.begin() as conn:
            await conn.execute(text("ANALYZE customers"))
    for q in ("星河", "星", "xh"):
        body = (await call(client, w, "admin", "GET", f"/api/v1/customers?q={q}&limit=100")).json()
        assert {x["id"] for x in body["items"]} == made and body["total"] == len(made), q


async def test_search_pages_follow_the_last_rows_rank(client, db, monkeypatch):
    """Later search pages are what ranks after the previous page's last row: a row edited between two pages (it
    moves to the top) does not push a seen row onto the next page, the first page's total is kept, and a sampled search (PostgreSQL, a
    frequent term) pages without repeating rows either."""

    from guanxi.customers import repository as repo
    from guanxi.kit.pagination import encode_cursor

    w = await make_world(db)
    made = {(await make_customer(db, w, "admin", name=f"{city}星河{i}号")).id for i in range(4) for city in "京沪"}
    for sampled in (False, True):
        if sampled:
            monkeypatch.setattr(repo, "FUZZY_LIMIT", 4)
        seen: list[int] = []
        url = "/api/v1/customers?q=星河&limit=3"
        body = (await call(client, w, "admin", "GET", url)).json()
        assert body["total"] == len(made) and len(body["items"]) == 3
        seen += [x["id"] for x in body["items"]]
        # a row of a later page is edited: it moves to the top; by offset, the next page would repeat a seen row
        edited = min(made - set(seen))
        got = await call(client, w, "admin", "GET", f"/api/v1/customers/{edited}")
        r = await call(client, w, "admin", "PATCH", f"/api/v1/customers/{edited}", json={"notes": "改过"},
                       headers={"If-Match": got.headers["ETag"]})
        assert r.status_code == 200, r.text
        while body["next_cursor"]:
            body = (await call(client, w, "admin", "GET", f"{url}&cursor={body['next_cursor']}")).json()
            assert body["total"] == len(made)
            seen += [x["id"] for x in body["items"]]
        assert len(seen) == len(set(seen)) and set(seen) <= made
        if not sampled:  # like any feed: what moved above the pages already read is not shown again
            assert set(seen) == made - {edited}
    for bad in ([1, "x", 1, 8, False], [1, "2026-12-06T10:00:00+00:00", 0, 8, False], ["1", "2026-12-06", 1, 8, False],
                [1, "2026-12-06T10:00:00+00:00", 1, 10**6, False], [1, "2026-12-06T10:00:00+00:00", 1, 8]):
        r = await call(client, w, "admin", "GET", f"/api/v1/customers?q=星河&cursor={encode_cursor(bad)}")
        assert r.status_code == 400 and r.json()["code"] == "invalid_cursor", (bad, r.text)
