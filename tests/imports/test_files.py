"""Import uploads: every format and encoding is read; every bad file gets its own code and leaves nothing behind."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import httpx
import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from guanxi.app import create_app
from guanxi.config import Settings
from guanxi.imports.models import Import
from tests.fixtures.factories import call, make_world
from tests.imports.conftest import upload

pytestmark = pytest.mark.anyio

ROWS = [["星河科技有限公司", "13812345678", "杭州"], ["张伟", "13912345678", "上海"], ["𠮷野家餐饮", "0571-88881234", "杭州"]]
CSV_TEXT = "客户名称,手机,城市\r\n" + "".join(",".join(r) + "\r\n" for r in ROWS)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def imports_written(db, w, settings) -> tuple[int, list[Path]]:  # type: ignore[no-untyped-def]
    async with db.session() as s:
        n = await s.scalar(select(func.count()).select_from(Import).where(Import.workspace_id == w.workspace_id))
    folder = settings.imports_dir / str(w.workspace_id)
    return n or 0, sorted(folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize(("label", "data", "encoding"), [
    ("utf-8", CSV_TEXT.encode("utf-8"), "utf-8"),
    ("utf-8 with BOM", CSV_TEXT.encode("utf-8-sig"), "utf-8"),
    ("gb18030", CSV_TEXT.encode("gb18030"), "gb18030"),
    ("gbk", CSV_TEXT.replace("𠮷", "吉").encode("gbk"), "gb18030"),  # GBK is a subset of GB18030
])
async def test_csv_encodings_are_detected(client, db, settings, label, data, encoding):
    w = await make_world(db)
    r = await upload(client, w, "admin", "客户.csv", data)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "uploaded" and body["file_format"] == "csv" and body["encoding"] == encoding, label
    assert body["headers"] == ["客户名称", "手机", "城市"] and body["total_rows"] == 3
    assert body["sample"][0] == ROWS[0]
    expected_third = "吉野家餐饮" if label == "gbk" else "𠮷野家餐饮"
    assert body["sample"][2][0] == expected_third
    assert body["mapping"] == {"客户名称": "name", "手机": "phones", "城市": "city"}
    assert r.headers["location"] == f"/api/v1/imports/{body['id']}"


async def test_tab_and_semicolon_separated_files(client, db):
    w = await make_world(db)
    for sep in ("\t", ";"):
        text = sep.join(["客户名称", "手机"]) + "\n" + sep.join(["星河科技", "13812345678"]) + "\n"
        r = await upload(client, w, "admin", "客户.csv", text.encode())
        assert r.status_code == 201, r.text
        assert r.json()["headers"] == ["客户名称", "手机"] and r.json()["sample"] == [["星河科技", "13812345678"]]


async def test_xlsx_numbers_and_dates_read_as_people_see_them(client, db):
    from datetime import date, datetime

    w = await make_world(db)
    data = xlsx_bytes([["客户名称", "手机", "成立日期", "预算"], ["星河科技", 13812345678, date(2020, 5, 1), 1500.5],
                       [None, None, None, None], ["云栖数据", "139-1234-5678", datetime(2019, 1, 2, 0, 0), 12]])
    r = await upload(client, w, "admin", "客户.xlsx", data)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["file_format"] == "xlsx" and body["encoding"] is None and body["total_rows"] == 2
    assert body["sample"] == [["星河科技", "13812345678", "2020-05-01", "1500.5"],
                              ["云栖数据", "139-1234-5678", "2019-01-02", "12"]]
    assert body["mapping"]["成立日期"] == "birthday"


async def test_vcard_for_contacts_only(client, db):
    w = await make_world(db)
    card = ("BEGIN:VCARD\r\nVERSION:3.0\r\nN:张;伟;;;\r\nFN:张伟\r\nORG:星河科技有限公司\r\nTITLE:采购经理\r\n"
            "TEL;TYPE=CELL:13812345678\r\nTEL;TYPE=WORK:0571-88881234\r\nEMAIL:zhangwei@xinghe.cn\r\n"
            "BDAY:1985-03-02\r\nNOTE:老客户\\, 喜欢喝茶\r\nEND:VCARD\r\n"
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Li;Lei;;;\r\nEMAIL:lilei@example.com\r\nORG:云栖数据\r\nEND:VCARD\r\n")
    r = await upload(client, w, "admin", "通讯录.vcf", card.encode(), "contacts")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["file_format"] == "vcf" and body["total_rows"] == 2
    assert body["sample"][0] == ["张伟", "13812345678;0571-88881234", "zhangwei@xinghe.cn", "采购经理",
                                 "星河科技有限公司", "1985-03-02", "老客户, 喜欢喝茶"]
    assert body["sample"][1][0] == "Lei Li"
    assert body["mapping"] == {"FN": "name", "TEL": "phones", "EMAIL": "emails", "TITLE": "title", "ORG": "customer",
                               "BDAY": "birthday", "NOTE": "notes"}
    r = await upload(client, w, "admin", "通讯录.vcf", card.encode(), "customers")
    assert r.status_code == 422 and r.json()["code"] == "unsupported_file_type"


def _zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (40 * 1024 * 1024))
    return buf.getvalue()


PNG = b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + bytes(range(256)) * 4
BAD_FILES = [
    ("empty", "a.csv", b"", "empty_file", 422),
    ("only a BOM and blank lines", "a.csv", b"\xef\xbb\xbf\r\n\r\n  \r\n", "empty_file", 422),
    ("a PNG renamed .csv", "photo.csv", PNG, "unsupported_file_type", 422),
    ("a binary", "data.csv", bytes(range(256)) * 40, "unsupported_file_type", 422),
    ("an .xls", "old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "unsupported_file_type", 422),
    ("a zip renamed .csv", "a.csv", b"PK\x03\x04" + b"\0" * 100, "unsupported_file_type", 422),
    ("no header", "a.csv", b"13812345678,zhang@example.com,2020-01-01\n13912345678,li@example.com,2020-02-02\n"
, "no_header", 422),
    ("only a header", "a.csv", "客户名称,手机\n".encode(), "empty_file", 422),
    ("unknown encoding", "a.csv", b"name,city\ncaf\xe9 \x80 ok,x\n", "unknown_encoding", 422),
    ("UTF-16", "a.csv", "客户名称,手机\n星河,138\n".encode("utf-16"), "unknown_encoding", 422),
    ("500 header columns", "wide.csv", (",".join(f"列{i}" for i in range(500)) + "\n" + "a," * 499 + "a\n").encode(),
     "too_many_columns", 422),
    ("a row with 500 columns", "wide.csv", ("客户名称,手机\n星河,13812345678\n" + "x," * 499 + "x\n").encode(),
     "too_many_columns", 422),
    ("a corrupt .xlsx", "a.xlsx", b"PK\x03\x04" + b"\x14\x00garbage" * 50, "invalid_xlsx", 422),
    ("a text file renamed .xlsx", "a.xlsx", "客户名称\n星河\n".encode(), "invalid_xlsx", 422),
    ("a zip bomb as .xlsx", "bomb.xlsx", None, "invalid_xlsx", 422),
]


@pytest.mark.parametrize(("label", "name", "data", "code", "status"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
async def test_bad_files_are_refused_and_nothing_is_written(client, db, settings, label, name, data, code, status):
    w = await make_world(db)
    r = await upload(client, w, "admin", name, data if data is not None else _zip_bomb())
    assert r.status_code == status, f"{label}: {r.status_code} {r.text[:300]}"
    body = r.json()
    assert body["code"] == code, label
    assert body["errors"][0]["field"] == "file" and body["detail"], body
    assert await imports_written(db, w, settings) == (0, [])


async def test_messages_are_in_the_callers_language(client, db):
    w = await make_world(db, language="en")
    r = await upload(client, w, "admin", "a.csv", b"")
    assert r.json()["detail"] == "The file is empty"
    w2 = await make_world(db)
    r = await upload(client, w2, "admin", "a.csv", b"")
    assert r.json()["detail"] == "文件是空的，或只有空行"


@pytest.fixture
async def small_app(db, tmp_path):  # type: ignore[no-untyped-def]
    settings = Settings(secret_key="test-secret", data_dir=tmp_path, max_body_mb=1, import_max_mb=2)
    app = create_app(settings, database=db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c, settings


async def test_files_over_the_import_limit_are_refused_while_streaming(small_app, db):
    client, settings = small_app
    w = await make_world(db)
    # bigger than the general body limit (1 MB) but within the import limit (2 MB): accepted
    rows = "".join(f"客户{i:07d},138{i:08d}\n" for i in range(50_000))
    data = ("客户名称,手机\n" + rows).encode()
    assert 1024 * 1024 < len(data) < 2 * 1024 * 1024
    r = await upload(client, w, "admin", "big.csv", data)
    assert r.status_code == 201, r.text[:300]
    assert r.json()["total_rows"] == 50_000
    # with a Content-Length over the limit: refused before the body is read
    r = await upload(client, w, "admin", "huge.csv", data * 2)
    assert r.status_code == 413 and r.json()["code"] == "file_too_large"

    # without a Content-Length (chunked), 200 MB that is never produced in full: refused once 2 MB went by
    produced = 0
    boundary = "guanxi-boundary"

    async def body():  # type: ignore[no-untyped-def]
        nonlocal produced
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\ncustomers\r\n"
               f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"huge.csv\"\r\n"
               "Content-Type: text/csv\r\n\r\n客户名称,手机\r\n").encode()
        chunk = ("星河科技,13812345678\r\n" * 4000).encode()
        while produced < 200 * 1024 * 1024:
            produced += len(chunk)
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = {**w.headers("admin"), "Content-Type": f"multipart/form-data; boundary={boundary}"}
    r = await client.post("/api/v1/imports", content=body(), headers=headers)
    assert r.status_code == 413 and r.json()["code"] == "file_too_large"
    assert produced < 10 * 1024 * 1024  # the rest of the 200 MB was never read
    n, stored = await imports_written(db, w, settings)
    assert n == 1 and len(stored) == 1  # only the accepted file


async def test_upload_needs_the_import_right_and_a_known_type(client, db, settings):
    w = await make_world(db)
    for who, type_ in (("readonly", "customers"), ("marketing", "customers"), ("service", "tasks"),
                       ("marketing", "interactions")):
        r = await upload(client, w, who, "a.csv", CSV_TEXT.encode(), type_)
        assert r.status_code == 403 and r.json()["code"] == "forbidden", (who, type_)
    r = await upload(client, w, "admin", "a.csv", CSV_TEXT.encode(), "deals")
    assert r.status_code == 422
    assert await imports_written(db, w, settings) == (0, [])
    r = await call(client, w, "readonly", "GET", "/api/v1/imports/fields?type=customers")
    assert r.status_code == 403
