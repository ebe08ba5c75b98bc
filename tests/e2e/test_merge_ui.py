"""查重合并 in the browser: two duplicates created through the API are merged in the UI, one field taken from the
second; the survivor shows both customers' interactions; the merge is undone from the recycle bin."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import ADMIN, SALES_EAST, Api, failure_shot, login, new_context, screenshot

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails) with the reason
    expect = None  # type: ignore[assignment]

pytestmark = pytest.mark.e2e

PHONE_SMALL = {"width": 375, "height": 812}


@pytest.fixture
def sales_api(server: str) -> Iterator[Api]:
    api = Api(server, SALES_EAST)
    yield api
    api.close()


def quiet(pg: Any) -> None:
    pg.mouse.move(0, 0)
    pg.wait_for_timeout(400)


def test_merge_two_duplicates_and_undo_from_the_recycle_bin(browser: Any, server: str, sales_api: Api,
                                                            request: pytest.FixtureRequest) -> None:
    tag = uuid.uuid4().hex[:4].upper()
    mobile = f"139{int(uuid.uuid4().int % 10**8):08d}"
    first = sales_api.post("/customers", {
        "kind": "company", "name": f"瀚海{tag}智能装备有限公司", "city": "苏州", "phones": [mobile],
        "industry": "制造业", "tags": ["展会线索"]})
    second = sales_api.post("/customers", {
        "kind": "company", "name": f"瀚海{tag}智能装备有限责任公司", "city": "苏州", "phones": [mobile],
        "grade": "A", "address": "苏州工业园区星湖街 328 号", "tags": ["重点客户"]})
    sales_api.post("/interactions", {"customer_id": first["id"], "channel": "phone", "subject": f"首次电话{tag}",
                                     "summary": "了解产线自动化改造需求。"})
    sales_api.post("/interactions", {"customer_id": second["id"], "channel": "visit", "subject": f"上门拜访{tag}",
                                     "summary": "参观车间，确认两条产线的改造范围。"})
    groups = sales_api.get("/duplicates/customers", customer_id=first["id"])["items"]
    assert len(groups) == 1
    order = [m["id"] for m in groups[0]["members"]]
    second_index = order.index(second["id"])

    ctx = new_context(browser, server)
    pg = ctx.new_page()
    try:
        login(pg, SALES_EAST)
        # 查找重复 on the customer page: only this customer's group
        pg.goto(f"/customers/{first['id']}")
        pg.get_by_test_id("find-duplicates").click()
        expect(pg.get_by_test_id("dedupe-only")).to_contain_text(first["name"])
        expect(pg.get_by_test_id("dup-group")).to_have_count(1)
        pg.get_by_test_id("nav-duplicates").click()
        pg.wait_for_url(re.compile(r".*/duplicates"))
        group = pg.get_by_test_id("dup-group").filter(has_text=first["name"])
        expect(group).to_have_count(1)
        expect(group.get_by_test_id("dup-reason")).to_have_count(2)  # same phone, similar name in 苏州
        expect(group).to_contain_text("相同电话")
        expect(group).to_contain_text("同城相似名称")
        pg.wait_for_load_state("networkidle")
        quiet(pg)
        screenshot(pg, "duplicates.png", full_page=True)

        group.get_by_test_id("dup-merge").click()
        dialog = pg.get_by_test_id("merge-dialog")
        dialog.get_by_test_id("merge-survivor").filter(has_text=first["name"]).click()
        # the name comes from the second record; the grade and address fill in from it by default
        dialog.get_by_test_id(f"merge-choice-name-{second_index}").click()
        expect(dialog.get_by_test_id("merge-field-tags")).to_be_visible()
        expect(dialog.get_by_test_id("merge-summary")).to_contain_text("1 条沟通记录")
        quiet(pg)
        screenshot(pg, "merge-dialog.png")
        dialog.get_by_test_id("merge-confirm").click()

        pg.wait_for_url(re.compile(rf".*/customers/{first['id']}$"))
        expect(pg.get_by_test_id("customer-title")).to_have_text(second["name"])
        timeline = pg.get_by_test_id("timeline")
        expect(timeline).to_contain_text(f"首次电话{tag}")
        expect(timeline).to_contain_text(f"上门拜访{tag}")
        expect(timeline).to_contain_text(f"合并了 {second['name']}")
        merged = sales_api.get(f"/customers/{first['id']}")
        assert merged["grade"] == "A" and merged["tags"] == ["展会线索", "重点客户"]
        assert merged["address"] == "苏州工业园区星湖街 328 号"
        pg.wait_for_load_state("networkidle")
        quiet(pg)
        screenshot(pg, "merge-survivor.png")

        pg.get_by_test_id("nav-recycle-bin").click()
        row = pg.get_by_test_id("recycle-row").filter(has_text=second["name"])
        expect(row.get_by_test_id("merged-into")).to_contain_text(second["name"])
        quiet(pg)
        screenshot(pg, "merge-recycle-bin.png")
        row.get_by_test_id("undo-merge").click()
        expect(pg.locator(".el-message--success").filter(has_text="已撤销合并")).to_have_count(1)
        expect(pg.get_by_test_id("recycle-row").filter(has_text=second["name"])).to_have_count(0)
    finally:
        failure_shot(request, pg)
        ctx.close()

    a = sales_api.get(f"/customers/{first['id']}")
    b = sales_api.get(f"/customers/{second['id']}")
    assert a["name"] == first["name"] and a["grade"] is None and a["tags"] == ["展会线索"]
    assert b["deleted_at"] is None and b["grade"] == "A"
    assert [i["subject"] for i in sales_api.get("/interactions", customer_id=second["id"])["items"]] == [f"上门拜访{tag}"]


def test_duplicates_page_at_phone_width(browser: Any, server: str, request: pytest.FixtureRequest) -> None:
    """The demo's duplicates (有限公司 vs 有限责任公司, a name typed with a space) at 375 px, with the merge dialog."""
    ctx = new_context(browser, server, viewport=PHONE_SMALL)
    pg = ctx.new_page()
    try:
        login(pg, ADMIN)
        pg.goto("/duplicates")
        groups = pg.get_by_test_id("dup-group")
        expect(groups.first).to_be_visible()
        assert groups.count() >= 3
        expect(pg.get_by_text("有限责任公司").first).to_be_visible()
        width = pg.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"the page scrolls sideways ({width}px)"
        quiet(pg)
        screenshot(pg, "duplicates-phone.png")
        groups.first.get_by_test_id("dup-merge").click()
        expect(pg.get_by_test_id("merge-confirm")).to_be_visible()
        quiet(pg)
        screenshot(pg, "merge-dialog-phone.png")
        pg.get_by_test_id("dedupe-tab-contacts").wait_for(state="attached")
    finally:
        failure_shot(request, pg)
        ctx.close()


def test_merge_two_contacts_and_undo_from_the_recycle_bin(browser: Any, server: str, sales_api: Api,
                                                          request: pytest.FixtureRequest) -> None:
    """Two contacts of one customer with the same name are merged on the duplicates page; the recycle bin's
    合并的联系人 undoes it, and the interaction names the merged contact again."""
    tag = uuid.uuid4().hex[:4].upper()
    c = sales_api.post("/customers", {"kind": "company", "name": f"云帆{tag}物流有限公司", "city": "宁波"})
    x = sales_api.post(f"/customers/{c['id']}/contacts", {"name": f"周{tag}", "title": "采购经理",
                                                          "phones": [f"137{int(uuid.uuid4().int % 10**8):08d}"]})
    y = sales_api.post(f"/customers/{c['id']}/contacts", {"name": f"周{tag}", "emails": [f"zhou{tag.lower()}@yunfan.cn"]})
    inter = sales_api.post("/interactions", {"customer_id": c["id"], "channel": "visit", "subject": f"拜访{tag}",
                                             "contact_ids": [y["id"]]})
    groups = [g for g in sales_api.get("/duplicates/contacts", limit=100)["items"]
              if {m["id"] for m in g["members"]} == {x["id"], y["id"]}]
    keep = [m["id"] for m in groups[0]["members"]].index(x["id"])  # x survives: the interaction moves to it

    ctx = new_context(browser, server)
    pg = ctx.new_page()
    try:
        login(pg, SALES_EAST)
        pg.goto("/duplicates")
        pg.get_by_test_id("dedupe-tab-contacts").click()
        group = pg.get_by_test_id("dup-contact-group").filter(has_text=c["name"])
        expect(group).to_have_count(1)
        group.get_by_test_id("dup-contact-merge").click()
        dialog = pg.get_by_test_id("merge-dialog")
        dialog.get_by_test_id("merge-survivor").nth(keep).click()
        dialog.get_by_test_id("merge-confirm").click()
        expect(pg.get_by_test_id("dup-contact-group").filter(has_text=c["name"])).to_have_count(0)
        assert [ct["id"] for ct in sales_api.get(f"/customers/{c['id']}/contacts")["items"]] == [x["id"]]
        assert sales_api.get(f"/interactions/{inter['id']}")["contact_ids"] == [x["id"]]

        pg.get_by_test_id("nav-recycle-bin").click()
        row = pg.get_by_test_id("contact-merge-row").filter(has_text=c["name"])
        expect(row).to_have_count(1)
        expect(row).to_contain_text(f"「周{tag}」已合并到「周{tag}」")
        expect(row).to_contain_text("1 条沟通记录")
        pg.wait_for_load_state("networkidle")
        quiet(pg)
        screenshot(pg, "contact-merge-recycle-bin.png", full_page=True)
        row.get_by_test_id("undo-contact-merge").click()
        expect(pg.locator(".el-message--success").filter(has_text="已撤销合并")).to_have_count(1)
        expect(pg.get_by_test_id("contact-merge-row").filter(has_text=c["name"])).to_have_count(0)
    finally:
        failure_shot(request, pg)
        ctx.close()

    contacts = sales_api.get(f"/customers/{c['id']}/contacts")["items"]
    assert sorted(ct["id"] for ct in contacts) == sorted([x["id"], y["id"]])
    assert sales_api.get(f"/interactions/{inter['id']}")["contact_ids"] == [y["id"]]
