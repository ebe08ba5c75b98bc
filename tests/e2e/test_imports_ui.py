"""数据迁移 in the browser: a GB18030 spreadsheet of customers through the whole import wizard."""

from __future__ import annotations

import csv
import io
import random
import re
import uuid
from typing import Any

import pytest

from .conftest import ADMIN, Api, login, screenshot

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails) with the reason
    expect = None  # type: ignore[assignment]

pytestmark = pytest.mark.e2e

PHONE_SMALL = {"width": 375, "height": 812}


def mobile(used: set[str]) -> str:
    """A valid mainland mobile number no demo customer has."""
    while True:
        number = "139" + "".join(random.choices("0123456789", k=8))
        if number not in used:
            used.add(number)
            return number


def quiet(pg: Any) -> None:
    """Let toasts fade and the pointer leave, for a clean screenshot."""
    pg.locator(".el-message").last.wait_for(state="detached", timeout=10_000)
    pg.mouse.move(0, 0)
    pg.wait_for_timeout(400)


def choose(pg: Any, row: Any, field: str) -> None:
    """Pick a target field in a column's select, once no other dropdown is still closing."""
    expect(pg.locator(".el-select__popper:visible")).to_have_count(0)
    row.get_by_test_id("mapping-select").click()
    pg.locator(f'.el-select__popper:visible [data-testid="mapping-option-{field}"]').click()
    expect(row).to_have_attribute("data-value", field)


def existing_customer(api: Api) -> dict[str, Any]:
    """A demo customer with a phone number: the file will carry a duplicate of it."""
    page = api.get("/customers", sort="name", limit=50)
    return next(c for c in page["items"] if c["phones"])


def test_import_customers_from_a_gb18030_csv(page: Any, admin_api: Api) -> None:
    uniq = uuid.uuid4().hex[:4]
    taken = {p for c in admin_api.get("/customers", limit=100)["items"] for p in c["phones"]}
    dup_of = existing_customer(admin_api)
    first, second = f"杭州云栖数据{uniq}有限公司", f"苏州工业园区精密{uniq}厂"
    phone_a, phone_b = mobile(taken), mobile(taken)
    rows = [
        # 客户名称, 手机号码, 所在地, 行业, 备注
        [first, phone_a, "杭州", "软件", "展会名片"],
        [second, phone_b, "苏州", "制造", ""],
        [f"{dup_of['name']}（分公司{uniq}）", dup_of["phones"][0], "上海", "", "与已有客户电话相同"],
        [f"云栖数据{uniq}", phone_a, "杭州", "", "与第 2 行电话相同"],  # a duplicate inside the file
        [f"号码写错{uniq}", "12345", "南京", "", "电话格式不对"],  # the bad row
    ]
    text = "客户名称,手机号码,所在地,行业,备注\r\n" + "".join(",".join(r) + "\r\n" for r in rows)
    data = text.encode("gb18030")
    assert data != text.encode("utf-8")  # really GB18030 bytes, not UTF-8

    login(page, ADMIN)
    page.get_by_test_id("import-customers").click()  # from the customer list toolbar
    page.wait_for_url(re.compile(r".*/import\?type=customers$"))
    expect(page.get_by_test_id("nav-import")).to_be_visible()
    step = page.get_by_test_id("import-upload-step")
    expect(step).to_contain_text("GB18030")
    expect(page.get_by_test_id("import-type-customers")).to_have_class(re.compile("is-active"))
    picker = page.get_by_test_id("import-upload").locator("input[type=file]")

    # the template: the field labels, required first, UTF-8 with a BOM
    with page.expect_download() as info:
        page.get_by_test_id("import-template").click()
    template = open(info.value.path(), "rb").read()  # noqa: SIM115
    assert template.startswith("\ufeff".encode())
    header = next(csv.reader(io.StringIO(template[3:].decode("utf-8"))))
    assert header[0] == "客户名称" and "电话" in header and "城市" in header, header

    # a file that is not a spreadsheet: the server's reason shows, and another file can be chosen
    with page.expect_response(lambda r: r.url.endswith("/api/v1/imports") and r.request.method == "POST") as bad:
        picker.set_input_files([{"name": "客户.csv", "mimeType": "text/csv", "buffer": b"\x89PNG\r\n\x1a\n" + bytes(64)}])
    assert bad.value.status in (413, 422), bad.value.text()
    expect(page.get_by_test_id("import-upload-error")).to_be_visible()
    message = bad.value.json()["detail"]
    expect(page.get_by_test_id("import-upload-error-message")).to_have_text(message)

    with page.expect_response(lambda r: r.url.endswith("/api/v1/imports") and r.request.method == "POST") as up:
        picker.set_input_files([{"name": "老系统客户导出.csv", "mimeType": "text/csv", "buffer": data}])
    assert up.value.status == 201, up.value.text()
    imp = up.value.json()
    page.wait_for_url(re.compile(rf".*/import/{imp['id']}$"))

    # 字段映射: the guessed mapping, one column corrected by hand
    mapping = page.get_by_test_id("import-mapping-step")
    expect(mapping).to_be_visible()
    expect(page.get_by_test_id("import-encoding")).to_contain_text(re.compile("gb18030", re.IGNORECASE))
    place = mapping.locator('[data-testid="mapping-row"][data-header="所在地"]')
    expect(place).to_contain_text("杭州")  # the sample values of the column
    choose(page, place, "city")
    expect(place.get_by_test_id("mapping-select")).to_contain_text("城市")
    for header, field in (("客户名称", "name"), ("手机号码", "phones"), ("行业", "industry"), ("备注", "notes")):
        expect(mapping.locator(f'[data-testid="mapping-row"][data-header="{header}"]')).to_have_attribute("data-value", field)
    expect(mapping.get_by_test_id("mapping-error")).to_have_count(0)
    expect(mapping.get_by_test_id("mapping-required-unmapped")).to_have_count(0)

    # the same field for two columns is caught next to both selects, and undone
    notes = mapping.locator('[data-testid="mapping-row"][data-header="备注"]')
    choose(page, notes, "city")
    expect(mapping.get_by_test_id("mapping-error")).to_have_count(2)
    expect(mapping.get_by_test_id("mapping-error").first).to_contain_text("城市")
    expect(page.get_by_test_id("mapping-next")).to_be_disabled()
    choose(page, notes, "notes")
    expect(mapping.get_by_test_id("mapping-error")).to_have_count(0)

    # "update" asks how: 仅补充空白字段 (chosen) or 用文件覆盖; the other modes do not
    mapping.get_by_test_id("duplicate-mode-update").click()
    choice = mapping.get_by_test_id("update-fields")
    expect(choice).to_contain_text("仅补充空白字段")
    expect(choice).to_contain_text("用文件覆盖")
    expect(choice.get_by_test_id("update-fields-fill")).to_have_class(re.compile("is-checked"))
    mapping.get_by_test_id("duplicate-mode-skip").click()
    expect(mapping.get_by_test_id("update-fields")).to_have_count(0)
    expect(mapping).to_contain_text("同一城市内名称相似")
    quiet(page)
    page.set_viewport_size({"width": 1280, "height": 1300})
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "import-mapping.png")
    page.set_viewport_size({"width": 1280, "height": 800})

    # 预览: the bad cell in red with its reason, the duplicates with their reasons and links
    with page.expect_response(lambda r: "/preview" in r.url):
        page.get_by_test_id("mapping-next").click()
    preview = page.get_by_test_id("import-preview-step")
    expect(preview.get_by_test_id("preview-row")).to_have_count(5)
    page.reload()  # the wizard comes back on the same step
    expect(preview.get_by_test_id("preview-row")).to_have_count(5)
    # the cleaned values of every mapped column, the hand-mapped one too
    expect(preview.locator('[data-testid="preview-row"][data-line="2"]')).to_contain_text(re.compile(rf"{first}.*杭州.*软件"))
    bad_cell = preview.locator('[data-testid="preview-cell-error"][data-field="phones"]')
    expect(bad_cell).to_have_count(1)
    bad_row = preview.locator('[data-testid="preview-row"][data-line="6"]')
    expect(bad_row).to_have_attribute("data-action", "fail")
    expect(bad_row).to_contain_text(f"号码写错{uniq}")
    bad_cell.locator(".cell").hover()
    tooltip = page.locator(".el-popper:visible").filter(has_text=re.compile(r"\S"))
    expect(tooltip.last).to_be_visible()
    reason = tooltip.last.inner_text().strip()
    expect(bad_row.locator("td.problems")).to_contain_text(reason)
    dup_existing = preview.locator('[data-testid="preview-row"][data-line="4"]')
    expect(dup_existing.get_by_test_id("preview-duplicate")).to_have_attribute("data-reason", "phone")
    expect(dup_existing.get_by_test_id("preview-duplicate-link")).to_have_attribute("href", f"/customers/{dup_of['id']}")
    expect(dup_existing).to_have_attribute("data-action", "skip")
    dup_in_file = preview.locator('[data-testid="preview-row"][data-line="5"]')
    expect(dup_in_file.get_by_test_id("preview-duplicate")).to_have_attribute("data-reason", "in_file")
    expect(dup_in_file.get_by_test_id("preview-duplicate")).to_contain_text("第 2 行")
    expect(dup_in_file).to_have_attribute("data-action", "skip")
    for line in (2, 3):
        expect(preview.locator(f'[data-testid="preview-row"][data-line="{line}"]')).to_have_attribute("data-action", "create")
    expect(page.get_by_test_id("preview-problem-count")).to_contain_text("1")
    expect(page.get_by_test_id("preview-duplicate-count")).to_contain_text("2")
    bad_cell.locator(".cell").hover()
    page.wait_for_timeout(400)
    page.set_viewport_size({"width": 1280, "height": 1000})
    screenshot(page, "import-preview.png")
    page.set_viewport_size({"width": 1280, "height": 800})

    # 导入: progress until the report, with the right counts
    with page.expect_response(lambda r: r.url.endswith("/run") and r.request.method == "POST") as run:
        page.get_by_test_id("preview-run").click()
    assert run.value.status == 202, run.value.text()
    expect(page.get_by_test_id("import-progress-step")).to_be_visible()  # until the next poll, a second later
    report = page.get_by_test_id("import-report")
    expect(report).to_be_visible(timeout=60_000)
    expect(report).to_have_attribute("data-status", "done")
    expect(report.get_by_test_id("report-created")).to_contain_text("2")
    expect(report.get_by_test_id("report-updated")).to_contain_text("0")
    expect(report.get_by_test_id("report-skipped")).to_contain_text("2")
    expect(report.get_by_test_id("report-failed")).to_contain_text("1")
    expect(report.get_by_test_id("import-report-duplicates")).to_have_text("重复数据：跳过重复")
    expect(report.get_by_test_id("import-report-took")).to_have_text(re.compile(r"^用时 (\d+|不到 1) 秒$"))
    page.reload()
    expect(page.get_by_test_id("import-report")).to_have_attribute("data-status", "done")
    quiet(page)
    screenshot(page, "import-report.png")

    # 失败行: the original columns with the line and the reason
    with page.expect_download() as info:
        page.get_by_test_id("download-failed-rows").click()
    body = open(info.value.path(), "rb").read()  # noqa: SIM115
    assert body.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(body[3:].decode("utf-8"), newline="")))
    assert table[0][:5] == ["客户名称", "手机号码", "所在地", "行业", "备注"], table[0]
    assert len(table) == 2, table
    assert table[1][:2] == [f"号码写错{uniq}", "12345"]
    assert "6" in table[1][5:] and any(cell.strip() for cell in table[1][6:]), table[1]

    # the import history lists it
    page.get_by_test_id("import-tab-history").click()
    row = page.locator(f'[data-testid="import-history-row"][data-id="{imp["id"]}"]')
    expect(row).to_contain_text("老系统客户导出.csv")

    # the imported customers are in the customer list; the duplicates are not
    page.get_by_test_id("import-tab-new").click()
    page.get_by_test_id("view-imported").click()
    page.wait_for_url(re.compile(r".*/customers$"))
    box = page.get_by_test_id("customer-search")
    with page.expect_response(lambda r: "/api/v1/customers?" in r.url and "q=" in r.url):
        box.fill(first)
    expect(page.get_by_test_id("customer-row")).to_have_count(1)
    expect(page.get_by_test_id("customer-row")).to_contain_text(first)
    # every row of the file has `uniq` in its name; a search for it may also find a phone holding those digits
    made = [c for c in admin_api.get("/customers", q=uniq, limit=50)["items"] if uniq in c["name"]]
    assert sorted(c["name"] for c in made) == sorted([first, second]), made


def test_vcard_contacts_from_a_customer_page_at_phone_width(browser: Any, server: str, admin_api: Api) -> None:
    from .conftest import new_context

    customer = admin_api.get("/customers", sort="-name", filter=["kind:eq:company"], limit=1)["items"][0]
    uniq = uuid.uuid4().hex[:4]
    card = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\n"
        f"FN:王芳{uniq}\r\nTEL;TYPE=CELL:+86 139 1234 5678\r\nEMAIL:wangfang{uniq}@example.cn\r\n"
        f"TITLE:采购经理\r\nORG:{customer['name']}\r\nEND:VCARD\r\n"
    )
    ctx = new_context(browser, server, viewport=PHONE_SMALL)
    pg = ctx.new_page()
    try:
        login(pg, ADMIN)
        pg.goto(f"/customers/{customer['id']}?tab=contacts")
        pg.get_by_test_id("import-contacts").click()
        pg.wait_for_url(re.compile(rf".*/import\?type=contacts&customer={customer['id']}$"))
        expect(pg.get_by_test_id("import-for-customer")).to_contain_text(customer["name"])
        expect(pg.get_by_test_id("import-upload-step")).to_contain_text("vCard")
        assert pg.evaluate("document.documentElement.scrollWidth") <= 375
        with pg.expect_response(lambda r: r.url.endswith("/api/v1/imports") and r.request.method == "POST") as up:
            pg.get_by_test_id("import-upload").locator("input[type=file]").set_input_files(
                [{"name": "通讯录.vcf", "mimeType": "text/vcard", "buffer": card.encode()}]
            )
        assert up.value.status == 201, up.value.text()
        mapping = pg.get_by_test_id("import-mapping-step")
        expect(mapping).to_be_visible()
        expect(mapping.locator('[data-testid="mapping-row"][data-header="ORG"]')).to_have_attribute("data-value", "customer")
        expect(mapping.locator('[data-testid="mapping-row"][data-header="FN"]')).to_have_attribute("data-value", "name")
        assert pg.evaluate("document.documentElement.scrollWidth") <= 375
        pg.get_by_test_id("mapping-next").click()
        row = pg.get_by_test_id("preview-row")
        expect(row).to_have_count(1)
        expect(row).to_have_attribute("data-action", "create")
        assert pg.evaluate("document.documentElement.scrollWidth") <= 375  # the preview table scrolls inside
        pg.get_by_test_id("preview-run").click()
        report = pg.get_by_test_id("import-report")
        expect(report).to_have_attribute("data-status", "done", timeout=60_000)
        expect(report.get_by_test_id("report-created")).to_contain_text("1")
        contacts = admin_api.get(f"/customers/{customer['id']}/contacts")["items"]
        assert any(c["name"] == f"王芳{uniq}" and c["title"] == "采购经理" for c in contacts), contacts
    finally:
        ctx.close()


def test_reload_mid_import_then_cancel(page: Any, admin_api: Api) -> None:
    """A big file: the page comes back to the running import after a reload, and the import can be cancelled."""
    uniq = uuid.uuid4().hex[:4]
    # big enough to run for several seconds (in the import's worker process): long enough to see its speed
    lines = ["客户名称,手机号码,城市"] + [f"批量客户{uniq}-{i:05d},,杭州" for i in range(60_000)]
    data = ("\r\n".join(lines) + "\r\n").encode("gb18030")
    login(page, ADMIN)
    page.get_by_test_id("nav-import").click()
    page.wait_for_url(re.compile(r".*/import$"))
    with page.expect_response(lambda r: r.url.endswith("/api/v1/imports") and r.request.method == "POST") as up:
        page.get_by_test_id("import-upload").locator("input[type=file]").set_input_files(
            [{"name": "批量客户.csv", "mimeType": "text/csv", "buffer": data}]
        )
    assert up.value.status == 201, up.value.text()
    imp = up.value.json()
    assert imp["total_rows"] == 60_000
    page.get_by_test_id("duplicate-mode-update").click()
    page.get_by_test_id("update-fields-overwrite").click()
    page.get_by_test_id("update-fields").scroll_into_view_if_needed()
    page.mouse.move(0, 0)
    screenshot(page, "import-update-fields.png")
    page.get_by_test_id("mapping-next").click()
    expect(page.get_by_test_id("preview-row")).to_have_count(20)
    saved = admin_api.get(f"/imports/{imp['id']}")
    assert (saved["duplicate_mode"], saved["update_fields"]) == ("update", "overwrite")
    page.get_by_test_id("preview-run").click()
    progress = page.get_by_test_id("import-progress-step")
    expect(progress).to_be_visible()
    expect(page.get_by_test_id("import-processed")).to_contain_text("60,000")
    # the speed and the time left, measured over the page's last polls
    expect(page.get_by_test_id("import-pace")).to_have_text(re.compile(r"^约 [\d,]+ 行/秒 · 预计还需 ((\d+ 分 )?\d+|不到 1) 秒$"))

    page.reload()
    page.wait_for_url(re.compile(rf".*/import/{imp['id']}$"))
    expect(progress).to_be_visible()
    expect(progress).to_have_attribute("data-status", re.compile("queued|running"))
    page.get_by_test_id("import-cancel").click()
    with page.expect_response(lambda r: r.url.endswith("/cancel")) as cancelled:
        page.locator(".el-message-box__btns .el-button--danger").click()
    assert cancelled.value.status == 200, cancelled.value.text()
    report = page.get_by_test_id("import-report")
    expect(report).to_have_attribute("data-status", "cancelled")
    expect(page.get_by_test_id("import-report-title")).to_have_text("导入已取消")
    expect(report.get_by_test_id("import-report-duplicates")).to_have_text("重复数据：更新已有客户，用文件覆盖")
    assert admin_api.get(f"/imports/{imp['id']}")["status"] == "cancelled"
    # the history says so too
    page.get_by_test_id("import-tab-history").click()
    row = page.locator(f'[data-testid="import-history-row"][data-id="{imp["id"]}"]')
    expect(row).to_be_visible()
    expect(page.locator("tr", has=row).get_by_test_id("import-history-status")).to_have_text("已取消")
