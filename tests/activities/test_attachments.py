"""Attachments: checked by extension and content, stored content-addressed, downloaded only by who may see them."""

import io
import zipfile
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import func, select

from guanxi.activities.models import Attachment
from guanxi.app import create_app
from guanxi.config import Settings
from tests.fixtures.factories import call, make_customer, make_interaction, make_world

pytestmark = pytest.mark.anyio

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 20
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 100


def ooxml(main: str, extra: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr(main, "<document/>")
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return buf.getvalue()


def plain_zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


async def upload(client, w, who, interaction_id, name, data, content_type="application/octet-stream"):
    return await call(client, w, who, "POST", f"/api/v1/interactions/{interaction_id}/attachments",
                      files={"file": (name, data, content_type)})


def stored_files(settings: Settings) -> list[Path]:
    root = settings.attachments_dir
    return sorted(p for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] != "tmp") \
        if root.exists() else []


async def attachment_rows(db, w) -> int:
    async with db.session() as s:
        return await s.scalar(select(func.count()).select_from(Attachment).where(Attachment.workspace_id == w.workspace_id))


async def test_upload_download_delete(client, db, settings):
    w = await make_world(db)
    i = await make_interaction(db, w, await make_customer(db, w, "sales"), "sales")
    r = await upload(client, w, "sales", i.id, "../../报价单 v2.pdf", PDF, "text/html")
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["filename"] == "报价单 v2.pdf" and a["content_type"] == "application/pdf" and a["size"] == len(PDF)
    assert a["url"] == f"/api/v1/interactions/{i.id}/attachments/{a['id']}"
    [path] = stored_files(settings)
    assert path.read_bytes() == PDF
    assert path.relative_to(settings.attachments_dir).parts == (str(w.workspace_id), a["sha256"][:2], a["sha256"])

    got = await call(client, w, "sales", "GET", a["url"])
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"] == (
        f"attachment; filename=\"___ v2.pdf\"; filename*=UTF-8''{quote('报价单 v2.pdf')}")
    assert got.headers["x-content-type-options"] == "nosniff"
    listed = (await call(client, w, "sales", "GET", f"/api/v1/interactions/{i.id}")).json()
    assert [x["id"] for x in listed["attachments"]] == [a["id"]]

    # the same bytes twice are stored once; the file goes with the last row that names it
    r2 = await upload(client, w, "sales", i.id, "copy.pdf", PDF)
    assert r2.status_code == 201 and len(stored_files(settings)) == 1
    assert (await call(client, w, "sales", "DELETE", a["url"])).status_code == 204
    assert len(stored_files(settings)) == 1
    assert (await call(client, w, "sales", "DELETE", r2.json()["url"])).status_code == 204
    assert stored_files(settings) == []
    assert (await call(client, w, "sales", "GET", a["url"])).status_code == 404


async def test_only_who_sees_the_customer_gets_the_file(client, db):
    w = await make_world(db)
    i = await make_interaction(db, w, await make_customer(db, w, "sales"), "sales")
    a = (await upload(client, w, "sales", i.id, "a.png", PNG)).json()
    assert (await call(client, w, "manager", "GET", a["url"])).status_code == 200
    for who in ("teammate", "other_team"):
        r = await call(client, w, who, "GET", a["url"])
        assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert (await upload(client, w, "teammate", i.id, "b.png", PNG)).status_code == 404
    assert (await upload(client, w, "marketing", i.id, "b.png", PNG)).status_code == 403
    assert (await call(client, w, "teammate", "DELETE", a["url"])).status_code == 404
    w2 = await make_world(db)
    assert (await call(client, w2, "admin", "GET", a["url"])).status_code == 404


@pytest.mark.parametrize(("name", "data", "status", "code"), [
    ("setup.exe", EXE, 415, "attachment_executable"),
    ("invoice.pdf", EXE, 415, "attachment_executable"),
    ("run.sh", b"#!/bin/sh\nrm -rf /\n", 415, "attachment_executable"),
    ("notes.txt", b"#!/bin/sh\necho hi\n", 415, "attachment_executable"),
    ("contract.docx", ooxml("word/document.xml", {"word/setup.exe": EXE}), 415, "attachment_executable"),
    ("contract.docx", plain_zip({"setup.exe": EXE}), 415, "attachment_executable"),
    ("macro.docx", ooxml("word/document.xml", {"word/vbaProject.bin": b"x"}), 415, "attachment_executable"),
    ("contract.docx", plain_zip({"readme.txt": b"hello"}), 415, "attachment_type_mismatch"),
    ("sheet.xlsx", ooxml("word/document.xml"), 415, "attachment_type_mismatch"),
    ("photo.jpg", PNG, 415, "attachment_type_mismatch"),
    ("scan.pdf", PNG, 415, "attachment_type_mismatch"),
    ("page.html", b"<html></html>", 415, "attachment_type_not_allowed"),
    ("archive.zip", plain_zip({"a.txt": b"a"}), 415, "attachment_type_not_allowed"),
    ("noextension", PDF, 415, "attachment_type_not_allowed"),
    ("empty.pdf", b"", 422, "attachment_empty"),
    ("data.csv", b"a,b\x00c", 415, "attachment_type_mismatch"),
])
async def test_refused_files_leave_nothing_behind(client, db, settings, name, data, status, code):
    w = await make_world(db)
    i = await make_interaction(db, w, await make_customer(db, w, "sales"), "sales")
    r = await upload(client, w, "sales", i.id, name, data)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code and r.json()["errors"][0]["field"] == "file"
    assert r.json()["detail"]  # a message in the user's language
    assert stored_files(settings) == [] and await attachment_rows(db, w) == 0
    tmp = settings.attachments_dir / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []


@pytest.mark.parametrize(("name", "data"), [
    ("会议纪要.docx", ooxml("word/document.xml")),
    ("报价.xlsx", ooxml("xl/workbook.xml")),
    ("方案.pptx", ooxml("ppt/presentation.xml")),
    ("旧合同.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64),
    ("客户名单.csv", "名称,电话\n星河科技,021-12345678\n".encode("gb18030")),
    ("notes.txt", "纪要：客户同意试用。\n".encode()),
    ("录音.mp3", b"ID3\x03\x00\x00\x00" + b"\x00" * 32),
    ("录音.m4a", b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00" + b"\x00" * 16),
    ("语音.amr", b"#!AMR\n" + b"\x3c" * 32),
    ("图.gif", b"GIF89a" + b"\x00" * 16),
    ("图.webp", b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 16),
    ("照片.JPEG", b"\xff\xd8\xff\xe0" + b"\x00" * 16),
])
async def test_allowed_types(client, db, name, data):
    w = await make_world(db)
    i = await make_interaction(db, w, await make_customer(db, w, "sales"), "sales")
    r = await upload(client, w, "sales", i.id, name, data)
    assert r.status_code == 201, r.text


async def test_size_limit_is_its_own_setting(db, tmp_path):
    settings = Settings(secret_key="test-secret", data_dir=tmp_path, max_body_mb=0.01, attachment_max_mb=0.05)
    app = create_app(settings, database=db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        w = await make_world(db)
        i = await make_interaction(db, w, await make_customer(db, w, "sales"), "sales")
        limit = settings.attachment_max_bytes
        # bigger than a JSON body may be, within the attachment limit: accepted
        ok = await upload(client, w, "sales", i.id, "big.txt", b"a" * limit)
        assert ok.status_code == 201, ok.text
        over = await upload(client, w, "sales", i.id, "bigger.txt", b"a" * (limit + 1))
        assert over.status_code == 413 and over.json()["code"] == "attachment_too_large"
        way_over = await upload(client, w, "sales", i.id, "huge.txt", b"a" * (limit * 3))
        assert way_over.status_code == 413
        assert len(stored_files(settings)) == 1
        # the JSON limit still holds everywhere else
        r = await call(client, w, "sales", "POST", "/api/v1/interactions",
                       json={"customer_id": i.customer_id, "channel": "phone", "summary": "x" * 20_000})
        assert r.status_code == 413


async def test_missing_file_part(client, db):
    w = await make_world(db)
    i = await make_interaction(db, w, await make_customer(db, w, "sales"), "sales")
    r = await call(client, w, "sales", "POST", f"/api/v1/interactions/{i.id}/attachments", json={"file": "x"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"
