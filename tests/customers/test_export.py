"""Customer exports: CSV and .xlsx of the list with its filters, and vCards of a customer's contacts."""

from __future__ import annotations

import csv
import io
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from guanxi.accounts.models import Role
from guanxi.audit.models import AuditEntry
from guanxi.customers.models import Contact
from guanxi.kit.export import neutralize, vcard_fold
from tests.fixtures.factories import call, make_custom_field, make_customer, make_world

pytestmark = pytest.mark.anyio

BOM = "\ufeff".encode()


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith(BOM)
    text = body[len(BOM):].decode("utf-8")
    assert "\r\n" in text and text.count("\n") == text.count("\r\n")
    return list(csv.reader(io.StringIO(text, newline="")))


async def audit_count(db, w) -> int:  # type: ignore[no-untyped-def]
    async with db.session() as s:
        return await s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.workspace_id == w.workspace_id, AuditEntry.action == "export")) or 0


async def test_csv_has_bom_header_and_the_rows_of_the_filtered_list(client, db):
    w = await make_world(db)
    await make_custom_field(db, w, "level", "select", ["gold", "silver"], label="会员等级")
    a = await make_customer(db, w, "sales", name="杭州甲公司", city="杭州", phones=["13812345678"], tags=["VIP", "老客户"],
                            stage="loyal", custom={"level": "gold"})
    b = await make_customer(db, w, "sales", name="杭州乙公司", city="杭州")
    await make_customer(db, w, "sales", name="上海丙公司", city="上海")
    r = await call(client, w, "admin", "GET", "/api/v1/customers/export?format=csv&filter=city:eq:杭州&sort=name")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    cd = r.headers["content-disposition"]
    assert cd.startswith("attachment;") and unquote(cd.split("UTF-8''")[1]).startswith("客户_")
    assert unquote(cd.split("UTF-8''")[1]).endswith(".csv")
    rows = read_csv(r.content)
    header, body = rows[0], rows[1:]
    assert header[:3] == ["客户名称", "客户类型", "行业"] and "负责人" in header and "最近联系" in header
    assert header[-1] == "会员等级"
    listed = await call(client, w, "admin", "GET", "/api/v1/customers?filter=city:eq:杭州&sort=name")
    assert [row[0] for row in body] == [c["name"] for c in listed.json()["items"]] == [a.name, b.name]  # 甲 jia < 乙 yi
    first = dict(zip(header, body[[row[0] for row in body].index(a.name)], strict=True))
    assert first["客户类型"] == "企业客户" and first["生命周期阶段"] == "忠诚客户"
    assert first["标签"] == "VIP; 老客户" and first["会员等级"] == "GOLD"
    assert first["负责人"] == w.users["sales"].name and first["所属团队"] == "华东销售部"
    assert first["电话"].replace(" ", "") == "13812345678"
    # one audit entry with the format, the filters and the row count
    audit = await call(client, w, "admin", "GET", "/api/v1/audit")
    entry = next(e for e in audit.json()["items"] if e["action"] == "export")
    assert entry["record_type"] == "customer"
    changes = {c["field"]: c["new"] for c in entry["changes"]}
    assert changes["format"] == "csv" and changes["rows"] == 2 and changes["filters"]["filter"] == ["city:eq:杭州"]
    assert await audit_count(db, w) == 1


async def test_english_header_and_search(client, db):
    w = await make_world(db, language="en")
    c = await make_customer(db, w, "sales", name="云栖数据")
    await make_customer(db, w, "sales", name="别的公司")
    r = await call(client, w, "admin", "GET", "/api/v1/customers/export?q=云栖", headers={"Accept-Language": "en"})
    assert r.status_code == 200, r.text
    rows = read_csv(r.content)
    assert rows[0][0] == "Name" and [row[0] for row in rows[1:]] == [c.name]


async def test_xlsx_opens_and_has_the_rows(client, db):
    w = await make_world(db)
    for i in range(3):
        await make_customer(db, w, "sales", name=f"表格客户{i}", city="苏州")
    r = await call(client, w, "manager", "GET", "/api/v1/customers/export?format=xlsx&filter=city:eq:苏州&sort=name")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert unquote(r.headers["content-disposition"].split("UTF-8''")[1]).endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(r.content), read_only=True).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0][0] == "客户名称"
    assert [v[0] for v in values[1:]] == ["表格客户0", "表格客户1", "表格客户2"]


async def test_export_walks_every_page(client, db, monkeypatch):
    from guanxi.customers import export

    monkeypatch.setattr(export, "PAGE", 2)  # five rows in pages of two: the keyset walk crosses three pages
    w = await make_world(db)
    names = {(await make_customer(db, w, "sales", city="无锡")).name for _ in range(5)}
    r = await call(client, w, "admin", "GET", "/api/v1/customers/export?filter=city:eq:无锡")
    assert {row[0] for row in read_csv(r.content)[1:]} == names
    assert len(read_csv(r.content)) == 6


async def test_too_many_rows_is_a_clear_problem(client, db, monkeypatch):
    from guanxi.exports import service as exports

    monkeypatch.setattr(exports, "DIRECT_MAX_ROWS", 2)
    w = await make_world(db)
    for _ in range(3):
        await make_customer(db, w, "sales", city="南通")
    r = await call(client, w, "admin", "GET", "/api/v1/customers/export?filter=city:eq:南通")
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "export_too_large"
    assert await audit_count(db, w) == 0


async def test_scope_and_masking(client, db):
    w = await make_world(db)
    mine = await make_customer(db, w, "manager", name="经理的客户", phones=["13812345678"], emails=["boss@example.com"],
                               notes="机密备注")
    other = await make_customer(db, w, "other_team", name="别队的客户")
    r = await call(client, w, "manager", "GET", "/api/v1/customers/export")
    names = {row[0] for row in read_csv(r.content)[1:]}
    assert mine.name in names and other.name not in names  # the manager's scope: own team only
    r = await call(client, w, "marketing", "GET", "/api/v1/customers/export")
    rows = read_csv(r.content)
    assert "备注" not in rows[0]  # hidden for marketing: no column at all
    row = dict(zip(rows[0], next(x for x in rows[1:] if x[0] == mine.name), strict=True))
    assert "13812345678" not in row["电话"].replace(" ", "") and "****" in row["电话"]
    assert row["邮箱"] == "boss@example.com"  # marketing reads emails in full
    assert "机密备注" not in r.content.decode("utf-8")


async def test_roles_without_export_are_refused_and_nothing_is_audited(client, db):
    w = await make_world(db)
    c = await make_customer(db, w, "sales")
    for who in ("sales", "service", "readonly"):
        for url in ("/api/v1/customers/export?format=csv", "/api/v1/customers/export?format=xlsx",
                    f"/api/v1/customers/{c.id}/contacts/vcard"):
            r = await call(client, w, who, "GET", url)
            assert r.status_code == 403 and r.json()["code"] == "forbidden", (who, url)
    assert await audit_count(db, w) == 0


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_formulas_are_neutralised(client, db, fmt):
    w = await make_world(db)
    evil = ["=cmd|' /C calc'!A0", "+1", "-1", "@SUM(1+1)"]
    for i, text in enumerate(evil):
        await make_customer(db, w, "sales", name=f"公式{i}", city="恶意", industry=text)
    r = await call(client, w, "admin", "GET", f"/api/v1/customers/export?format={fmt}&filter=city:eq:恶意&sort=name")
    assert r.status_code == 200, r.text
    if fmt == "csv":
        rows = read_csv(r.content)
    else:
        rows = [[str(v) if v is not None else "" for v in row]
                for row in load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True)]
    col = rows[0].index("行业")
    assert [row[col] for row in rows[1:]] == ["'" + t for t in evil]
    if fmt == "xlsx":  # every cell is text: nothing for the spreadsheet to evaluate
        sheet = load_workbook(io.BytesIO(r.content)).active
        assert all(cell.data_type == "s" for row in sheet.iter_rows(min_row=2) for cell in row if cell.value)


def test_neutralize():
    assert neutralize("=1+1") == "'=1+1" and neutralize("\tx") == "'\tx" and neutralize("\rx") == "'\rx"
    assert neutralize("正常") == "正常" and neutralize(None) == "" and neutralize(-5) == "'-5"


async def test_bad_format_and_bad_filter(client, db):
    w = await make_world(db)
    r = await call(client, w, "admin", "GET", "/api/v1/customers/export?format=pdf")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "format"
    listed = await call(client, w, "admin", "GET", "/api/v1/customers?filter=nope:eq:1")
    r = await call(client, w, "admin", "GET", "/api/v1/customers/export?filter=nope:eq:1")
    assert r.status_code == listed.status_code == 400 and r.json()["code"] == listed.json()["code"] == "invalid_filter"
    assert await audit_count(db, w) == 0


async def contact(db, w, c, name, *, phones=(), emails=(), **fields):  # type: ignore[no-untyped-def]
    async with db.session() as s:
        s.add(Contact(workspace_id=w.workspace_id, customer_id=c.id, name=name, phones=list(phones),
                      emails=list(emails), is_primary=fields.pop("is_primary", True), version=1,
                      created_by=c.owner_id, **fields))


def unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


async def test_vcard_parses_folds_escapes_and_masks(client, db):
    w = await make_world(db)
    c = await make_customer(db, w, "sales", name="北京某某科技有限公司, 第一分公司; 研发中心")
    long_title = "高级客户经理兼华北区域销售总监\\负责,重点\n客户" * 3
    await contact(db, w, c, "李雷", title=long_title, phones=["138 1234 5678"], emails=["li@example.com"])
    await contact(db, w, c, "韩梅梅", is_primary=False)
    r = await call(client, w, "admin", "GET", f"/api/v1/customers/{c.id}/contacts/vcard")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/vcard")
    assert unquote(r.headers["content-disposition"].split("UTF-8''")[1]).endswith(".vcf")
    raw = r.content
    for line in raw.split(b"\r\n"):
        assert len(line) <= 75
    text = raw.decode("utf-8")  # folding never splits a UTF-8 character
    lines = unfold(text)
    assert lines.count("BEGIN:VCARD") == 2 and lines.count("END:VCARD") == 2 and "VERSION:3.0" in lines
    assert "FN:李雷" in lines and "N:李雷;;;;" in lines
    assert "ORG:北京某某科技有限公司\\, 第一分公司\\; 研发中心" in lines
    assert "TITLE:" + long_title.replace("\\", "\\\\").replace(",", "\\,").replace("\n", "\\n") in lines
    assert "TEL;TYPE=CELL:138 1234 5678" in lines and "EMAIL;TYPE=INTERNET:li@example.com" in lines
    assert not any(x.startswith("NOTE") for x in lines)
    assert await audit_count(db, w) == 1
    # readonly has no export; marketing sees phones masked
    r = await call(client, w, "marketing", "GET", f"/api/v1/customers/{c.id}/contacts/vcard")
    lines = unfold(r.text)
    tel = next(x for x in lines if x.startswith("TEL"))
    assert "1234" not in tel.replace("138 1234 5678", "") and "****" in tel
    assert "EMAIL;TYPE=INTERNET:li@example.com" in lines


async def test_vcard_omits_hidden_fields(client, db):
    w = await make_world(db)
    c = await make_customer(db, w, "sales", name="隐藏测试")
    await contact(db, w, c, "张三", phones=["13812345678"], emails=["z@example.com"])
    rules = {"customers": {"phones": "hidden", "emails": "hidden"}}
    async with db.session() as s:
        role = await s.scalar(select(Role).where(Role.workspace_id == w.workspace_id, Role.key == "marketing"))
        role.field_rules = rules
    r = await call(client, w, "marketing", "GET", f"/api/v1/customers/{c.id}/contacts/vcard")
    assert r.status_code == 200, r.text
    assert "TEL" not in r.text and "EMAIL" not in r.text and "FN:张三" in r.text


def test_fold_counts_octets():
    line = "TITLE:" + "长" * 40
    folded = vcard_fold(line).encode("utf-8").split(b"\r\n")
    assert all(len(x) <= 75 for x in folded) and len(folded) == 2 and folded[1].startswith(b" ")
    assert b"".join([folded[0]] + [x[1:] for x in folded[1:]]).decode("utf-8") == line
