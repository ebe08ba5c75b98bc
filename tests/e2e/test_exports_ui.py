"""Exports in the browser: a list over the job threshold becomes a background job with a progress dialog and a
download, kept in 导出记录; and contacts imported from a phone's vCard on a customer's page."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import ADMIN, Api, failure_shot, login, new_context, screenshot, serving

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails) with the reason
    expect = None  # type: ignore[assignment]

pytestmark = pytest.mark.e2e

PHONE_SMALL = {"width": 375, "height": 812}
THRESHOLD = 50  # the demo's 120 customers are "a big list" on this server


@pytest.fixture(scope="module")
def export_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(tmp_path_factory.mktemp("guanxi-e2e-exports"), GUANXI_EXPORT_JOB_THRESHOLD=str(THRESHOLD)) as base:
        yield base


@pytest.fixture
def xpage(browser: Any, export_server: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    ctx = new_context(browser, export_server, accept_downloads=True)
    pg = ctx.new_page()
    yield pg
    failure_shot(request, pg)
    ctx.close()


def quiet(pg: Any) -> None:
    pg.mouse.move(0, 0)
    pg.wait_for_timeout(400)


def test_a_big_list_exports_as_a_job_with_progress_then_downloads(xpage: Any, export_server: str) -> None:
    page = xpage
    api = Api(export_server, ADMIN)
    total = api.get("/customers", limit=1)["total"]
    api.close()
    assert total > THRESHOLD
    login(page, ADMIN)
    page.wait_for_load_state("networkidle")
    page.get_by_test_id("export-customers").click()
    page.get_by_test_id("export-xlsx").wait_for()
    page.get_by_test_id("export-csv").click()

    dialog = page.get_by_test_id("export-job-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(re.compile(r"客户_\d{4}-\d{2}-\d{2}\.csv"))
    download_button = page.get_by_test_id("export-download")
    expect(download_button).to_be_enabled(timeout=60_000)
    expect(page.get_by_test_id("export-state")).to_contain_text(f"导出完成，共 {total:,} 行")
    quiet(page)
    screenshot(page, "export-job-dialog.png")

    with page.expect_download() as info:
        download_button.click()
    download = info.value
    assert re.fullmatch(r"客户_\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    body = Path(download.path()).read_bytes()
    assert body.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(body[3:].decode("utf-8"), newline="")))
    assert table[0][0] == "客户名称" and len(table) - 1 == total

    # 导出记录 keeps it, and the bell says it is ready
    page.get_by_test_id("export-history").click()
    page.wait_for_url(re.compile(r".*/exports$"))
    row = page.get_by_test_id("exports-table").locator("tr", has_text=download.suggested_filename).first
    expect(row).to_contain_text("已完成")
    expect(row).to_contain_text(f"{total:,} 行")
    quiet(page)
    screenshot(page, "exports-page.png")
    with page.expect_download() as again:
        row.get_by_test_id("export-row-download").click()
    assert again.value.suggested_filename == download.suggested_filename

    page.get_by_test_id("notification-bell").click()
    expect(page.locator("[data-kind=export_done]").first).to_contain_text("导出完成")

    # the same page on a phone
    page.set_viewport_size(PHONE_SMALL)
    page.goto("/exports")
    expect(page.get_by_test_id("export-row").first).to_contain_text("已完成")
    quiet(page)
    screenshot(page, "exports-page-mobile.png")


VCARDS = (
    # an Android phone: vCard 2.1, the name in quoted-printable UTF-8
    "BEGIN:VCARD\r\nVERSION:2.1\r\n"
    "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E9=99=88;=E9=9D=99;;;\r\n"
    "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E9=99=88=E9=9D=99\r\n"
    "TEL;CELL:139-1000-2000\r\nEMAIL;WORK:chenjing@example.cn\r\nEND:VCARD\r\n"
    # an iPhone: vCard 3.0
    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:周;强;;;\r\nFN:周强\r\nTITLE:财务总监\r\n"
    "item1.TEL;type=pref:+86 137 3000 4000\r\nEND:VCARD\r\n"
    # no name: reported, not imported
    "BEGIN:VCARD\r\nVERSION:3.0\r\nTEL:13650005000\r\nEND:VCARD\r\n"
)


def test_vcard_import_on_a_customer_page(xpage: Any, export_server: str, tmp_path: Path) -> None:
    page = xpage
    api = Api(export_server, ADMIN)
    c = api.get("/customers", limit=1, sort="name")["items"][0]
    before = len(api.get(f"/customers/{c['id']}/contacts")["items"])
    login(page, ADMIN)
    page.goto(f"/customers/{c['id']}?tab=contacts")
    page.get_by_test_id("contacts-tab").wait_for()
    expect(page.get_by_test_id("import-vcard")).to_be_visible()
    vcf = tmp_path / "通讯录.vcf"
    vcf.write_bytes(VCARDS.encode("utf-8"))
    page.get_by_test_id("import-vcard-file").set_input_files(str(vcf))

    result = page.get_by_test_id("vcard-result")
    expect(result).to_be_visible()
    expect(page.get_by_test_id("vcard-summary")).to_have_text("新建 2 个，更新 0 个，跳过 0 个，失败 1 个")
    expect(result).to_contain_text("没有姓名")
    quiet(page)
    screenshot(page, "vcard-import-result.png")
    page.get_by_test_id("vcard-result-close").click()
    expect(page.get_by_test_id("contact-row")).to_have_count(before + 2)
    expect(page.get_by_test_id("contacts-tab")).to_contain_text("陈静")
    expect(page.get_by_test_id("contacts-tab")).to_contain_text("财务总监")

    # importing the same file again doubles nobody
    page.get_by_test_id("import-vcard-file").set_input_files(str(vcf))
    expect(page.get_by_test_id("vcard-summary")).to_have_text("新建 0 个，更新 0 个，跳过 2 个，失败 1 个")
    page.get_by_test_id("vcard-result-close").click()
    expect(page.get_by_test_id("contact-row")).to_have_count(before + 2)
    api.close()
