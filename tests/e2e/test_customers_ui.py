"""User journeys through the web UI, against the real server with the demo company."""

from __future__ import annotations

import re
from typing import Any

import pytest

from guanxi.kit.search import sort_key

from .conftest import (
    ADMIN,
    PHONE,
    SALES_EAST,
    SALES_EAST_2,
    Api,
    failure_shot,
    login,
    new_context,
    screenshot,
)

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails) with the reason
    expect = None  # type: ignore[assignment]

pytestmark = pytest.mark.e2e


def rows(pg: Any) -> Any:
    return pg.get_by_test_id("customer-row")


def wait_list_settled(pg: Any) -> None:
    """The list has answered (rows or the empty state) and no request is in flight."""
    pg.wait_for_load_state("networkidle")
    pg.locator('[data-testid="customer-row"], [data-testid="empty-state"]').first.wait_for()


def search(pg: Any, text: str) -> None:
    box = pg.get_by_test_id("customer-search")
    with pg.expect_response(lambda r: "/api/v1/customers?" in r.url and "q=" in r.url):
        box.fill(text)
    wait_list_settled(pg)


def quiet(pg: Any) -> None:
    """Let toasts fade and animations end, for a clean screenshot."""
    pg.locator(".el-message").last.wait_for(state="detached", timeout=10_000)
    pg.mouse.move(0, 0)
    pg.wait_for_timeout(400)


def open_new_customer_form(pg: Any) -> Any:
    pg.get_by_test_id("new-customer").click()
    form = pg.get_by_test_id("customer-form")
    form.wait_for()
    return form


def test_admin_sees_customer_list(page: Any) -> None:
    login(page, ADMIN)
    wait_list_settled(page)
    expect(rows(page)).to_have_count(20)  # the default page size
    expect(page.get_by_test_id("list-total")).to_contain_text("120")

    # sorted by a click on the column title (the server sorts)
    with page.expect_response(lambda r: "/api/v1/customers?" in r.url and "sort=name" in r.url):
        page.get_by_test_id("column-header-name").click()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_test_id("column-header-name")).to_have_class(re.compile("sorted"))
    names = rows(page).get_by_test_id("customer-name").all_inner_texts()
    assert names == sorted(names, key=sort_key), names  # pinyin order: 北京 (beijing) before 丁勇 (dingyong)
    first_page = names[0]
    page.mouse.move(0, 0)
    screenshot(page, "customer-list.png")

    # keyset pagination: forward and back again
    with page.expect_response(lambda r: "cursor=" in r.url):
        page.get_by_test_id("pager-next").click()
    expect(rows(page).first.get_by_test_id("customer-name")).not_to_have_text(first_page)
    with page.expect_response(
        lambda r: "/api/v1/customers?" in r.url and "cursor=" not in r.url and "sort=name" in r.url
    ):
        page.get_by_test_id("pager-prev").click()
    expect(rows(page).first.get_by_test_id("customer-name")).to_have_text(first_page)
    expect(page.get_by_test_id("pager-prev")).to_be_disabled()


def test_create_find_edit_and_history(page: Any) -> None:
    name = "青松云图科技有限公司"  # pinyin initials qsytkjyxgs
    login(page, ADMIN)
    form = open_new_customer_form(page)
    form.get_by_test_id("field-name").fill(name)
    form.get_by_test_id("field-phones-0").fill("13912345678")
    form.get_by_test_id("field-city").fill("苏州市")
    form.get_by_test_id("field-custom-budget").fill("88000")
    page.mouse.move(0, 0)
    screenshot(page, "customer-form.png")
    form.get_by_test_id("customer-save").click()

    # the new customer's page, with the custom field value
    page.wait_for_url(re.compile(r".*/customers/\d+"))
    expect(page.get_by_test_id("customer-title")).to_have_text(name)
    expect(page.get_by_test_id("info-custom-budget")).to_contain_text("88,000.00")
    customer_url = page.url

    # found by its pinyin initials
    page.get_by_test_id("nav-customers").click()
    wait_list_settled(page)
    search(page, "qsytkj")
    names = rows(page).get_by_test_id("customer-name").all_inner_texts()
    assert name in names, names
    rows(page).filter(has_text=name).first.click()
    page.wait_for_url(customer_url)

    # edited
    page.get_by_test_id("edit-customer").click()
    form = page.get_by_test_id("customer-form")
    form.get_by_test_id("field-city").fill("杭州市")
    form.get_by_test_id("customer-save").click()
    form.wait_for(state="hidden")
    expect(page.get_by_test_id("info-city")).to_have_text("杭州市")

    # and the change is in 变更历史: who, what, old → new
    page.get_by_test_id("tab-history").click()
    entry = page.get_by_test_id("history-entry").first
    expect(entry).to_contain_text("杭州市")
    text = entry.inner_text()
    assert "王建国" in text and "修改" in text, text
    assert "苏州市" in text and "杭州市" in text, text
    expect(page.get_by_test_id("history-entry").last).to_contain_text("创建")  # the create is there too
    quiet(page)
    screenshot(page, "customer-history.png")


def test_sales_rep_cannot_see_another_teams_customer(page: Any, server: str, admin_api: Api) -> None:
    rep = Api(server, SALES_EAST)
    try:
        rep_team = rep.me["team"]["id"]
    finally:
        rep.close()
    other = next(
        t
        for t in admin_api.get("/teams")
        if t["id"] != rep_team and t["parent_id"] != rep_team and t["member_count"]
    )
    found = admin_api.get("/customers", filter=f"team_id:eq:{other['id']}", limit=1)["items"]
    assert found, f"the demo has no customer in {other['name']}"
    target = found[0]

    login(page, SALES_EAST)
    wait_list_settled(page)
    search(page, target["name"])
    assert target["name"] not in rows(page).get_by_test_id("customer-name").all_inner_texts()

    page.goto(f"/customers/{target['id']}")
    page.get_by_test_id("not-found").wait_for()
    assert page.get_by_test_id("customer-title").count() == 0
    assert target["name"] not in page.content()


def test_language_switch_is_remembered(page: Any) -> None:
    login(page, SALES_EAST_2)
    nav = page.get_by_test_id("nav-customers")
    expect(nav).to_contain_text("客户")
    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("language-switch").wait_for()
    with page.expect_response(lambda r: r.url.endswith("/api/v1/me") and r.request.method == "PATCH"):
        page.get_by_test_id("language-option-en").click()
    page.keyboard.press("Escape")
    expect(nav).to_have_text("Customers")
    expect(page.get_by_test_id("new-customer")).to_contain_text("New customer")

    page.reload()
    expect(page.get_by_test_id("nav-customers")).to_have_text("Customers")
    wait_list_settled(page)
    expect(page.get_by_test_id("list-total")).to_contain_text("customers")
    expect(page.get_by_test_id("customer-search")).to_have_attribute("placeholder", re.compile("Search"))

    # back to Chinese, so the user is left as found
    page.get_by_test_id("user-menu").click()
    with page.expect_response(lambda r: r.url.endswith("/api/v1/me") and r.request.method == "PATCH"):
        page.get_by_test_id("language-option-zh").click()
    expect(page.get_by_test_id("nav-customers")).to_have_text("客户")


def test_phone_width(browser: Any, server: str, admin_api: Api, request: pytest.FixtureRequest) -> None:
    rich = next(
        c
        for c in admin_api.get("/customers", limit=100, sort="name")["items"]
        if c["kind"] == "company"
        and c["grade"]
        and c["tags"]
        and c["contact_count"]
        and c["custom"].get("budget")
    )
    ctx = new_context(browser, server, viewport=PHONE, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    try:
        login(page, ADMIN)
        wait_list_settled(page)
        assert rows(page).count() > 0
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the list page is {width}px wide"

        # the navigation lives in a drawer
        assert not page.get_by_test_id("nav-recycle-bin").is_visible()
        page.get_by_test_id("nav-toggle").click()
        page.get_by_test_id("nav-recycle-bin").wait_for()
        page.keyboard.press("Escape")
        page.get_by_test_id("nav-recycle-bin").wait_for(state="hidden")

        search(page, rich["name"])
        rows(page).filter(has_text=rich["name"]).first.click()
        page.get_by_test_id("customer-title").wait_for()
        expect(page.get_by_test_id("customer-title")).to_have_text(rich["name"])
        page.get_by_test_id("tab-details").click()  # the page opens on the 360 timeline
        page.get_by_test_id("info-name").wait_for()
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the customer page is {width}px wide"
        assert page.get_by_test_id("edit-customer").is_visible()
        screenshot(page, "mobile-customer.png")
    finally:
        failure_shot(request, page)
        ctx.close()


def test_server_field_error_shows_next_to_the_phone(page: Any) -> None:
    login(page, ADMIN)
    form = open_new_customer_form(page)
    form.get_by_test_id("field-name").fill("错误电话测试")
    form.get_by_test_id("field-phones-0").fill("12345")
    with page.expect_response(
        lambda r: r.url.endswith("/api/v1/customers") and r.request.method == "POST"
    ) as resp:
        form.get_by_test_id("customer-save").click()
    assert resp.value.status == 422
    error = form.get_by_test_id("field-error-phones")
    expect(error).not_to_be_empty()
    # the message sits under the phone inputs, inside the same form item
    item = form.locator(".el-form-item", has=page.get_by_test_id("field-phones"))
    assert item.get_by_test_id("field-error-phones").count() == 1
    assert form.is_visible()  # nothing was lost


def test_duplicate_warning_links_to_the_existing_customer(page: Any, admin_api: Api) -> None:
    existing = next(c for c in admin_api.get("/customers", limit=50)["items"] if c["phones"])
    login(page, ADMIN)
    form = open_new_customer_form(page)
    form.get_by_test_id("field-name").fill("重复检查测试")
    phone = form.get_by_test_id("field-phones-0")
    with page.expect_response(lambda r: "/check-duplicates" in r.url):
        phone.fill(existing["phones"][0])
        phone.blur()
    warning = page.get_by_test_id("duplicate-warning")
    warning.wait_for()
    link = warning.get_by_test_id("duplicate-link").filter(has_text=existing["name"]).first
    assert link.get_attribute("href") == f"/customers/{existing['id']}"


def test_delete_and_restore_from_recycle_bin(page: Any, admin_api: Api) -> None:
    created = admin_api.post("/customers", {"kind": "person", "name": "回收站测试客户"})
    login(page, ADMIN)
    page.goto(f"/customers/{created['id']}")
    page.get_by_test_id("delete-customer").click()
    page.locator(".el-message-box").get_by_role("button", name="删除").click()
    page.wait_for_url(re.compile(r".*/customers$"))

    page.get_by_test_id("nav-recycle-bin").click()
    row = page.get_by_test_id("recycle-row").filter(has_text="回收站测试客户")
    row.wait_for()
    row.get_by_test_id("restore-customer").click()
    row.wait_for(state="detached")

    page.goto(f"/customers/{created['id']}")
    expect(page.get_by_test_id("customer-title")).to_have_text("回收站测试客户")


def test_admin_settings_and_api_key(page: Any) -> None:
    login(page, ADMIN)
    page.get_by_test_id("nav-settings").click()
    for section, marker in [
        ("users", "users-table"),
        ("teams", "team-row"),
        ("roles", "role-card"),
        ("custom-fields", "custom-fields-table"),
        ("source-channels", "source-row"),
        ("audit", "audit-table"),
    ]:
        page.get_by_test_id(f"nav-settings-{section}").click()
        page.wait_for_url(re.compile(f".*/settings/{section}$"))
        page.get_by_test_id(marker).first.wait_for()

    # the permission matrix of a built-in, read-only role cannot be changed
    page.get_by_test_id("nav-settings-roles").click()
    admin_card = page.get_by_test_id("role-card").filter(has_text="管理员")
    admin_card.get_by_test_id("edit-role").click()
    expect(page.get_by_test_id("perm-customers-view").locator("input")).to_be_disabled()
    expect(page.get_by_test_id("role-save")).to_have_count(0)
    page.keyboard.press("Escape")

    # an API key: its token is shown once, then only its prefix
    page.get_by_test_id("nav-api-keys").click()
    page.get_by_test_id("new-api-key").click()
    page.get_by_test_id("api-key-name").fill("ERP 同步")
    page.get_by_test_id("api-key-scope-write").click()
    page.get_by_test_id("api-key-create").click()
    token = page.get_by_test_id("api-key-token").inner_text()
    assert token.startswith("gx_"), token
    page.get_by_test_id("api-key-done").click()
    row = page.get_by_test_id("api-key-row").filter(has_text="ERP 同步")
    expect(row).to_contain_text("读写")
    assert token not in page.content()


def test_sales_rep_sees_no_settings(page: Any) -> None:
    login(page, SALES_EAST)
    expect(page.get_by_test_id("nav-customers")).to_be_visible()
    expect(page.get_by_test_id("nav-settings")).to_have_count(0)
    page.goto("/settings/users")
    page.get_by_test_id("not-found").wait_for()


def test_contacts_add_edit_delete(page: Any, admin_api: Api) -> None:
    created = admin_api.post("/customers", {"kind": "company", "name": "联系人测试有限公司"})
    login(page, ADMIN)
    page.goto(f"/customers/{created['id']}?tab=contacts")
    page.get_by_test_id("contacts-tab").get_by_test_id("empty-state").wait_for()

    page.get_by_test_id("add-contact").click()
    page.get_by_test_id("contact-field-name").fill("陈小红")
    page.get_by_test_id("contact-field-title").fill("采购经理")
    page.get_by_test_id("contact-field-phones-0").fill("13800138000")
    page.get_by_test_id("contact-save").click()
    row = page.get_by_test_id("contact-row").filter(has_text="陈小红")
    expect(row).to_contain_text("采购经理")
    expect(row).to_contain_text("138 0013 8000")  # normalised by the server
    expect(row.get_by_test_id("contact-primary")).to_be_visible()  # the first contact is the primary one

    row.get_by_test_id("edit-contact").click()
    page.get_by_test_id("contact-field-title").fill("采购总监")
    page.get_by_test_id("contact-save").click()
    expect(row).to_contain_text("采购总监")

    row.get_by_test_id("delete-contact").click()
    page.locator(".el-message-box").get_by_role("button", name="删除").click()
    expect(page.get_by_test_id("contact-row")).to_have_count(0)


def test_filters_and_columns(page: Any, admin_api: Api) -> None:
    expected = admin_api.get("/customers", filter=["grade:eq:A", "custom.intent:eq:high"], limit=1)["total"]
    login(page, ADMIN)
    wait_list_settled(page)

    page.get_by_test_id("open-filters").click()
    panel = page.get_by_test_id("filter-panel")
    panel.get_by_test_id("filter-grade").get_by_text("A", exact=True).click()
    panel.get_by_test_id("filter-custom-intent").click()
    page.locator(".el-select-dropdown__item:visible", has_text="高").click()
    page.keyboard.press("Escape")
    with page.expect_response(lambda r: "/api/v1/customers?" in r.url and "filter=" in r.url) as resp:
        panel.get_by_test_id("filter-apply").click()
    assert "grade%3Aeq%3AA" in resp.value.url and "custom.intent%3Aeq%3Ahigh" in resp.value.url, (
        resp.value.url
    )
    expect(page.get_by_test_id("list-total")).to_contain_text(str(expected))
    expect(rows(page)).to_have_count(min(expected, 20))
    expect(page.locator(".filter-badge .el-badge__content")).to_have_text("2")

    # a custom field as a column, remembered after a reload
    page.get_by_test_id("column-chooser").click()
    page.get_by_test_id("column-custom-budget").click()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("column-header-custom-budget")).to_be_visible()
    page.reload()
    expect(page.get_by_test_id("column-header-custom-budget")).to_be_visible()


def test_login_shows_the_servers_message(page: Any) -> None:
    page.goto("/login")
    page.get_by_test_id("login-input").fill("nobody@example.com")
    page.get_by_test_id("login-password").fill("not-the-password")
    with page.expect_response(lambda r: r.url.endswith("/api/v1/auth/login")) as resp:
        page.get_by_test_id("login-submit").click()
    assert resp.value.status == 401
    body = resp.value.json()
    expect(page.get_by_test_id("login-error")).to_contain_text(body["detail"])
    assert page.url.endswith("/login")


def test_export_the_filtered_list_as_csv(page: Any) -> None:
    import csv
    import io

    login(page, ADMIN)
    wait_list_settled(page)
    with page.expect_response(lambda r: "/api/v1/customers?" in r.url and "sort=name" in r.url):
        page.get_by_test_id("column-header-name").click()
    page.wait_for_load_state("networkidle")
    shown = rows(page).get_by_test_id("customer-name").all_inner_texts()
    page.get_by_test_id("export-customers").click()
    with page.expect_download() as info:
        page.get_by_test_id("export-csv").click()
    download = info.value
    assert download.suggested_filename.startswith("客户_") and download.suggested_filename.endswith(".csv")
    body = open(download.path(), "rb").read()  # noqa: SIM115
    assert body.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(body[3:].decode("utf-8"), newline="")))
    assert table[0][0] == "客户名称"
    assert [r[0] for r in table[1 : len(shown) + 1]] == shown  # the same order as the list on screen
    assert len(table) - 1 >= 120 > len(shown)  # every customer (120 in the demo, more once tests add some), not one page


def test_export_is_offered_only_with_the_permission(page: Any) -> None:
    login(page, SALES_EAST)
    wait_list_settled(page)
    expect(page.get_by_test_id("new-customer")).to_be_visible()
    expect(page.get_by_test_id("export-customers")).to_have_count(0)


def test_export_contacts_as_vcard(page: Any, admin_api: Api) -> None:
    c = next(x for x in admin_api.get("/customers", limit=200)["items"] if x["contact_count"] > 0)
    login(page, ADMIN)
    page.goto(f"/customers/{c['id']}?tab=contacts")
    expect(page.get_by_test_id("contact-row")).to_have_count(c["contact_count"])
    with page.expect_download() as info:
        page.get_by_test_id("export-vcard").click()
    download = info.value
    assert download.suggested_filename.endswith(".vcf")
    text = open(download.path(), "rb").read().decode("utf-8")  # noqa: SIM115
    assert text.count("BEGIN:VCARD") == c["contact_count"] and "VERSION:3.0" in text
    assert "ORG:" + c["name"].replace(",", "\\,").replace(";", "\\;") in text.replace("\r\n ", "")
