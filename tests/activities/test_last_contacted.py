"""Customers carry their last contact: shown, filtered (also "not contacted for 30 days") and sorted."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from guanxi.customers.models import Customer
from guanxi.kit.models import utcnow
from tests.fixtures.factories import call, make_customer, make_world

pytestmark = pytest.mark.anyio


async def test_days_since_contact_and_the_idle_filter(client, db):
    w = await make_world(db)
    now = utcnow()
    long_ago = await make_customer(db, w, "sales", name="很久没联系")
    recent = await make_customer(db, w, "sales", name="十天前联系")
    never = await make_customer(db, w, "sales", name="从未联系")
    today = await make_customer(db, w, "sales", name="今天联系")
    r = await call(client, w, "sales", "POST", "/api/v1/interactions", json={
        "customer_id": today.id, "channel": "phone", "occurred_at": now.isoformat()})
    assert r.status_code == 201
    async with db.session() as s:
        for c, days in ((long_ago, 40), (recent, 10)):
            await s.execute(update(Customer).where(Customer.id == c.id).values(last_contacted_at=now - timedelta(days=days)))

    async def names(q):
        r = await call(client, w, "sales", "GET", f"/api/v1/customers?{q}")
        assert r.status_code == 200, r.text
        return [x["name"] for x in r.json()["items"]]

    rows = {x["name"]: x for x in (await call(client, w, "sales", "GET", "/api/v1/customers")).json()["items"]}
    assert rows["很久没联系"]["days_since_contact"] == 40
    assert rows["十天前联系"]["days_since_contact"] == 10
    assert rows["今天联系"]["days_since_contact"] == 0
    assert rows["从未联系"]["days_since_contact"] is None and rows["从未联系"]["last_contacted_at"] is None

    assert set(await names("filter=idle_days:gte:30")) == {"很久没联系", "从未联系"}
    assert set(await names("filter=idle_days:gte:10")) == {"很久没联系", "十天前联系", "从未联系"}
    assert set(await names("filter=idle_days:lte:30")) == {"十天前联系", "今天联系"}
    assert set(await names("filter=idle_days:eq:10")) == {"十天前联系"}
    assert set(await names("filter=idle_days:between:5..45")) == {"很久没联系", "十天前联系"}
    assert set(await names("filter=idle_days:empty:")) == {"从未联系"}
    cutoff = (now - timedelta(days=20)).date().isoformat()
    assert set(await names(f"filter=last_contacted_at:lte:{cutoff}")) == {"很久没联系"}
    assert set(await names("filter=last_contacted_at:empty:")) == {"从未联系"}
    ordered = await names("sort=-last_contacted_at&filter=last_contacted_at:notempty:")
    assert ordered == ["今天联系", "十天前联系", "很久没联系"]
    page = (await call(client, w, "sales", "GET", "/api/v1/customers?sort=last_contacted_at&limit=1")).json()
    seen = [x["name"] for x in page["items"]]
    while page["next_cursor"]:
        page = (await call(client, w, "sales", "GET",
                           f"/api/v1/customers?sort=last_contacted_at&limit=1&cursor={page['next_cursor']}")).json()
        seen += [x["name"] for x in page["items"]]
    assert sorted(seen) == sorted(["很久没联系", "十天前联系", "从未联系", "今天联系"])

    for bad, field_code in (("filter=idle_days:gte:abc", "invalid_value"), ("filter=idle_days:gte:-1", "invalid_value"),
                            ("filter=idle_days:contains:3", "invalid_option"),
                            ("filter=idle_days:between:5", "invalid_value")):
        r = await call(client, w, "sales", "GET", f"/api/v1/customers?{bad}")
        assert r.status_code == 400 and r.json()["errors"] == [
            {"field": "idle_days", "code": field_code, "message": r.json()["errors"][0]["message"]}], bad
    r = await call(client, w, "sales", "GET", "/api/v1/customers?sort=idle_days")
    assert r.status_code == 400 and r.json()["code"] == "invalid_sort"
    r = await call(client, w, "sales", "PATCH", f"/api/v1/customers/{never.id}",
                   json={"last_contacted_at": now.isoformat()}, headers={"If-Match": "1"})
    assert r.status_code == 422 and r.json()["code"] == "read_only_field"

    meta = {f["name"]: f for f in (await call(client, w, "sales", "GET", "/api/v1/customers/meta")).json()["fields"]}
    assert meta["last_contacted_at"]["type"] == "datetime" and meta["last_contacted_at"]["sortable"]
    assert meta["idle_days"]["type"] == "number" and not meta["idle_days"]["sortable"]
