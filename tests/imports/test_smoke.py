import pytest
from sqlalchemy import func, select

from guanxi.customers.models import Customer
from tests.fixtures.factories import call, make_world
from tests.imports.conftest import run_to_end, upload

pytestmark = pytest.mark.anyio

CSV = "客户名称,手机,邮箱,城市,客户等级,备注\n星河科技有限公司,13812345678,a@xinghe.cn,杭州,A,老客户\n张伟,138-1234-5679,,上海,B,\n坏行,12345,bad@,北京,Z,\n"


async def test_flow(client, db, settings):
    w = await make_world(db)
    r = await upload(client, w, "admin", "客户.csv", CSV.encode("gb18030"))
    assert r.status_code == 201, r.text
    imp = r.json()
    assert imp["encoding"] == "gb18030" and imp["total_rows"] == 3
    assert imp["mapping"]["客户名称"] == "name" and imp["mapping"]["手机"] == "phones"
    r = await call(client, w, "admin", "GET", f"/api/v1/imports/{imp['id']}/preview")
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    assert [x["action"] for x in rows] == ["create", "create", "fail"], rows
    out = await run_to_end(client, db, settings, w, "admin", imp["id"])
    assert (out["created"], out["failed"], out["processed"]) == (2, 1, 3), out
    r = await call(client, w, "admin", "GET", f"/api/v1/imports/{imp['id']}/failed-rows")
    assert r.status_code == 200
    print(r.content.decode("utf-8-sig"))
    r = await call(client, w, "admin", "GET", "/api/v1/customers?q=星河")
    assert r.json()["items"][0]["name"] == "星河科技有限公司"
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Customer).where(Customer.workspace_id == w.workspace_id)) == 2
