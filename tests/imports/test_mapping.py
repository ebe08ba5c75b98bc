"""Column mapping: guessed from Chinese and English headers, remembered per workspace and type, validated."""

from __future__ import annotations

import pytest

from guanxi.imports.fields import guess
from tests.fixtures.factories import call, make_custom_field, make_world
from tests.imports.conftest import upload

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(("headers", "expected"), [
    (["客户名称", "手机", "邮箱", "省份", "城市", "区县", "地址", "行业", "来源", "客户阶段", "客户等级", "标签", "负责人",
      "成立日期", "备注", "微信", "网址"],
     ["name", "phones", "emails", "province", "city", "district", "address", "industry", "source", "stage", "grade",
      "tags", "owner", "birthday", "notes", "wechat", "website"]),
    (["公司名称", "联系电话", "电子邮箱", "获客渠道", "生日"], ["name", "phones", "emails", "source", "birthday"]),
    (["姓名", "电话", "Email"], ["name", "phones", "emails"]),
    (["Name", "Mobile", "E-mail", "City", "Owner", "Notes", "Website"],
     ["name", "phones", "emails", "city", "owner", "notes", "website"]),
    (["Company Name", "Phone Number", "Lead Source", "Tags"], ["name", "phones", "source", "tags"]),
    (["客户名称*", "手机号码", "座机", "备用邮箱", "不认识的列"], ["name", "phones", "phones", "emails", None]),
])
def test_headers_are_guessed(headers, expected):
    assert list(guess("customers", headers, [], may_assign_owner=True).values()) == expected


def test_owner_is_not_guessed_for_those_who_may_not_assign_it():
    assert guess("customers", ["客户名称", "负责人"], [], may_assign_owner=False) == {"客户名称": "name", "负责人": None}


def test_other_types_are_guessed():
    assert guess("contacts", ["客户名称", "联系人", "职位", "手机"], [], may_assign_owner=True) == {
        "客户名称": "customer", "联系人": "name", "职位": "title", "手机": "phones"}
    assert guess("interactions", ["客户", "沟通方式", "沟通时间", "内容"], [], may_assign_owner=True) == {
        "客户": "customer", "沟通方式": "channel", "沟通时间": "occurred_at", "内容": "summary"}
    assert guess("tasks", ["待办事项", "截止日期", "负责人", "客户名称", "优先级"], [], may_assign_owner=True) == {
        "待办事项": "title", "截止日期": "due_at", "负责人": "assignee", "客户名称": "customer", "优先级": "priority"}


async def test_custom_fields_are_fields_and_guessed_by_label(client, db):
    w = await make_world(db)
    await make_custom_field(db, w, "level", "select", ["gold", "silver"], label="会员等级")
    r = await call(client, w, "admin", "GET", "/api/v1/imports/fields?type=customers")
    assert r.status_code == 200
    fields = {f["key"]: f for f in r.json()}
    assert fields["name"] == {"key": "name", "label": "客户名称", "required": True, "type": "text"}
    assert fields["custom.level"]["label"] == "会员等级" and fields["custom.level"]["type"] == "select"
    assert "owner" in fields
    r = await call(client, w, "sales", "GET", "/api/v1/imports/fields?type=customers")
    assert "owner" not in {f["key"] for f in r.json()}  # a sales rep's imported customers are theirs
    r = await call(client, w, "admin", "GET", "/api/v1/imports/fields?type=contacts",
                   headers={"Accept-Language": "en"})
    assert {f["key"]: f["label"] for f in r.json()}["customer"] in ("Customer", "所属客户")
    r = await upload(client, w, "admin", "a.csv", "客户名称,会员等级\n星河,gold\n".encode())
    assert r.json()["mapping"] == {"客户名称": "name", "会员等级": "custom.level"}


async def test_mapping_is_remembered_per_workspace_and_type(client, db):
    w = await make_world(db)
    data = "公司,联络号码,随便\n星河,13812345678,x\n".encode()
    first = (await upload(client, w, "admin", "a.csv", data)).json()
    assert first["mapping"] == {"公司": "name", "联络号码": None, "随便": None} and not first["mapping_remembered"]
    mapping = {"公司": "name", "联络号码": "phones", "随便": "notes"}
    r = await call(client, w, "admin", "PUT", f"/api/v1/imports/{first['id']}/mapping",
                   json={"mapping": mapping, "duplicate_mode": "update"})
    assert r.status_code == 200 and r.json()["mapping"] == mapping and r.json()["duplicate_mode"] == "update"
    second = (await upload(client, w, "admin", "b.csv", data)).json()
    assert second["mapping"] == mapping and second["mapping_remembered"]
    # another type, another workspace, another header: not remembered
    assert (await upload(client, w, "admin", "c.csv", data, "contacts")).json()["mapping"]["联络号码"] is None
    w2 = await make_world(db)
    assert (await upload(client, w2, "admin", "a.csv", data)).json()["mapping"]["联络号码"] is None
    other = "公司,联络号码\n星河,13812345678\n".encode()
    assert (await upload(client, w, "admin", "d.csv", other)).json()["mapping"]["联络号码"] is None


async def test_mapping_errors(client, db):
    w = await make_world(db)
    await make_custom_field(db, w, "contract", "text", required=True, label="合同号")
    imp = (await upload(client, w, "admin", "a.csv", "名称,电话,城市,负责人\n星河,13812345678,杭州,x\n".encode())).json()
    url = f"/api/v1/imports/{imp['id']}/mapping"

    async def put(mapping, mode="skip", who="admin"):  # type: ignore[no-untyped-def]
        return await call(client, w, who, "PUT", url, json={"mapping": mapping, "duplicate_mode": mode})

    r = await put({"名称": "name", "电话": "no_such_field", "城市": "custom.nope", "不存在的列": "city"})
    assert r.status_code == 422
    errors = {(e["field"], e["code"]) for e in r.json()["errors"]}
    assert {("mapping.电话", "unknown_field"), ("mapping.城市", "unknown_field"), ("mapping.不存在的列", "unknown_field"),
            ("custom.contract", "required_unmapped")} <= errors
    r = await put({"名称": "name", "电话": "city", "城市": "city", "负责人": "custom.contract"})
    assert r.status_code == 422 and {(e["field"], e["code"]) for e in r.json()["errors"]} == {
        ("mapping.城市", "mapped_twice")}
    r = await put({"名称": None, "电话": "phones", "城市": "city", "负责人": "custom.contract"})
    assert {(e["field"], e["code"]) for e in r.json()["errors"]} == {("name", "required_unmapped")}
    r = await put({"名称": "name", "电话": "phones", "城市": "phones", "负责人": "custom.contract"})
    assert r.status_code == 200  # several columns may fill phones
    r = await put({"名称": "name", "负责人": "custom.contract"}, mode="merge")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "duplicate_mode"
    # a sales rep may not map the owner column
    imp2 = (await upload(client, w, "sales", "a.csv", "名称,负责人,合同号\n星河,x,1\n".encode())).json()
    assert imp2["mapping"]["负责人"] is None
    r = await call(client, w, "sales", "PUT", f"/api/v1/imports/{imp2['id']}/mapping",
                   json={"mapping": {"名称": "name", "负责人": "owner", "合同号": "custom.contract"}})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "owner_not_allowed"
    # once started, the mapping stays
    r = await put({"名称": "name", "负责人": "custom.contract"})
    assert r.status_code == 200
    assert (await call(client, w, "admin", "POST", f"/api/v1/imports/{imp['id']}/run")).status_code == 202
    r = await put({"名称": "name", "负责人": "custom.contract"})
    assert r.status_code == 409 and r.json()["code"] == "import_not_editable"
    r = await call(client, w, "admin", "POST", f"/api/v1/imports/{imp['id']}/run")
    assert r.status_code == 409 and r.json()["code"] == "import_not_runnable"
