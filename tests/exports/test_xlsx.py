"""The .xlsx writer itself (XlsxWriter, constant memory): what a spreadsheet user opens is text, cell for cell."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
from openpyxl import load_workbook

from guanxi.kit.export import MAX_CELL, encode

pytestmark = pytest.mark.anyio


async def book(header: list[Any], rows: list[list[Any]], title: str = "客户", page: int = 2) -> bytes:
    async def pages() -> AsyncIterator[list[list[Any]]]:
        for start in range(0, len(rows), page):
            yield rows[start:start + page]

    seen: list[int] = []

    async def on_page(done: int) -> None:
        seen.append(done)

    data = b"".join([chunk async for chunk in encode("xlsx", title, header, pages(), on_page)])
    assert seen == list(range(page, len(rows), page)) + [len(rows)] if rows else seen == []
    return data


async def test_every_cell_is_text_and_nothing_runs():
    rows = [["=HYPERLINK(\"http://x\")", "#N/A", "00123", 12.5, None, "+86 138", "-5", "@SUM(A1)", "正常文字"],
            ["控制\x0b字符\x01", "第一行\n第二行", "", True, 7, "\t制表", "'已有引号", "x" * (MAX_CELL + 10), "末"]]
    data = await book(["甲", "乙", "丙", "丁", "戊", "己", "庚", "辛", "壬"], rows)
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet.title == "客户"
    got = [[c.value for c in row] for row in sheet.iter_rows()]
    assert got[0] == ["甲", "乙", "丙", "丁", "戊", "己", "庚", "辛", "壬"]
    assert got[1] == ["'=HYPERLINK(\"http://x\")", "#N/A", "00123", "12.5", None, "'+86 138", "'-5", "'@SUM(A1)",
                      "正常文字"]
    assert got[2][:7] == ["控制字符", "第一行\n第二行", None, "True", "7", "'\t制表", "'已有引号"]
    assert got[2][7] == "x" * MAX_CELL and got[2][8] == "末"
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.value is None or cell.data_type == "s", (cell.coordinate, cell.value, cell.data_type)


async def test_many_rows_in_order_and_sheet_names_excel_accepts():
    rows = [[f"客户{i}", str(i)] for i in range(5000)]
    data = await book(["名称", "序号"], rows, title="客户/联系人:[全部]*?导出的一个非常长的工作表名称超过三十一个字", page=1000)
    sheet = load_workbook(io.BytesIO(data), read_only=True).active
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == 5001 and values[1] == ("客户0", "0") and values[-1] == ("客户4999", "4999")
    assert len(sheet.title) <= 31 and not set(sheet.title) & set("[]:*?/\\")


async def test_an_empty_export_is_a_header_only_book():
    data = await book(["名称"], [], title="")
    sheet = load_workbook(io.BytesIO(data)).active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [["名称"]] and sheet.title == "Sheet1"
