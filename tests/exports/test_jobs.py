"""Export jobs: queued by the API, written by the real consumer, downloaded by their creator only, audited,
notified, failed with a reason when the creator lost the right meanwhile, and deleted after the keep time."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from guanxi.accounts.models import Role, User
from guanxi.exports.models import ExportJob
from guanxi.exports.tasks import sweep
from guanxi.kit.jobs import JobContext
from guanxi.kit.models import utcnow
from tests.exports.conftest import changes, exports_audited, notifications_of, read_csv
from tests.fixtures.factories import call, make_customer, make_world
from tests.jobs.conftest import consuming, drained, until

pytestmark = pytest.mark.anyio


async def finished(client, w, who, export_id: int, timeout: float = 30.0) -> dict:  # type: ignore[no-untyped-def]
    got: dict = {}

    async def done() -> bool:
        r = await call(client, w, who, "GET", f"/api/v1/exports/{export_id}")
        got.update(r.json())
        return r.json()["status"] in ("done", "failed")

    await until(done, timeout=timeout, what=f"export {export_id}")
    return got


async def test_a_job_writes_the_filtered_list_for_its_creator_with_progress_audit_and_notification(client, db, app,
                                                                                                monkeypatch):
    from guanxi.customers import export as customer_export

    monkeypatch.setattr(customer_export, "PAGE", 2)  # five rows in pages of two: progress after every page
    w = await make_world(db)
    names = {(await make_customer(db, w, "sales", name=f"宁波{i}号公司", city="宁波")).name for i in range(4)}
    evil = await make_customer(db, w, "sales", name="=HYPERLINK(\"http://x\")", city="宁波", phones=["13812345678"])
    await make_customer(db, w, "sales", name="温州公司", city="温州")

    r = await call(client, w, "manager", "POST", "/api/v1/exports",
                   json={"list": "customers", "format": "csv", "filter": ["city:eq:宁波"], "sort": "name"})
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == f"/api/v1/exports/{job['id']}"
    assert job["status"] == "queued" and job["processed"] == 0 and job["total"] == 5 and job["download_url"] is None
    assert job["filename"].startswith("客户_") and job["filename"].endswith(".csv")
    assert await exports_audited(db, w.workspace_id) == []  # the audit entry comes with the file

    with consuming(app.state.jobs):
        job = await finished(client, w, "manager", job["id"])
        await drained(app.state.jobs)
    assert job["status"] == "done", job
    assert job["processed"] == 5 and job["total"] == 5 and job["size"] > 0 and job["expires_at"] is not None
    assert job["download_url"] == f"/api/v1/exports/{job['id']}/download"

    r = await call(client, w, "manager", "GET", job["download_url"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert unquote(r.headers["content-disposition"].split("UTF-8''")[1]) == job["filename"]
    rows = read_csv(r.content)
    # the list's sort; the formula is neutralised
    assert [row[0] for row in rows[1:]] == ["'" + evil.name, *sorted(names)]

    [entry] = await exports_audited(db, w.workspace_id)
    assert entry.user_id == w.users["manager"].id and entry.record_type == "customer"
    c = changes(entry)
    assert c["rows"] == 5 and c["format"] == "csv" and c["export_job"] == job["id"] and c["list"] == "customers"
    assert c["filters"]["filter"] == ["city:eq:宁波"]  # type: ignore[index]
    [n] = await notifications_of(db, w.users["manager"].id)
    assert n.kind == "export_done" and n.link == f"/exports?id={job['id']}" and n.record_id == job["id"]
    assert n.title == f"导出完成：{job['filename']}（5 行）"

    r = await call(client, w, "manager", "GET", "/api/v1/exports")
    assert [e["id"] for e in r.json()] == [job["id"]]
    assert (await call(client, w, "admin", "GET", "/api/v1/exports")).json() == []  # only the caller's own


async def test_someone_elses_export_is_not_found(client, db, app):
    w = await make_world(db)
    other = await make_world(db)
    await make_customer(db, w, "sales")
    r = await call(client, w, "admin", "POST", "/api/v1/exports", json={"list": "customers"})
    export_id = r.json()["id"]
    with consuming(app.state.jobs):
        assert (await finished(client, w, "admin", export_id))["status"] == "done"
    for who, world in (("manager", w), ("marketing", w), ("admin", other)):
        for path in (f"/api/v1/exports/{export_id}", f"/api/v1/exports/{export_id}/download"):
            r = await call(client, world, who, "GET", path)
            assert r.status_code == 404 and r.json()["code"] == "not_found", (who, path)
    assert (await call(client, w, "admin", "GET", "/api/v1/exports/999999999")).status_code == 404


async def test_read_only_roles_cannot_start_exports_and_masking_follows_the_role(client, db, app):
    w = await make_world(db)
    c = await make_customer(db, w, "sales", name="掩码客户", phones=["13812345678"], notes="机密备注")
    for who in ("readonly", "sales", "service"):  # customers: no export right
        r = await call(client, w, who, "POST", "/api/v1/exports", json={"list": "customers"})
        assert r.status_code == 403 and r.json()["code"] == "forbidden", who
    r = await call(client, w, "marketing", "POST", "/api/v1/exports", json={"list": "customers", "format": "xlsx"})
    assert r.status_code == 202
    with consuming(app.state.jobs):
        job = await finished(client, w, "marketing", r.json()["id"])
    assert job["status"] == "done" and job["filename"].endswith(".xlsx")
    r = await call(client, w, "marketing", "GET", job["download_url"])
    import io

    sheet = load_workbook(io.BytesIO(r.content), read_only=True).active
    rows = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    assert "备注" not in rows[0]  # hidden for marketing: no column
    row = dict(zip(rows[0], next(x for x in rows[1:] if x[0] == c.name), strict=True))
    assert "****" in row["电话"] and "13812345678" not in row["电话"].replace(" ", "")


async def test_a_creator_disabled_meanwhile_gets_a_failed_job_with_the_reason(client, db, app):
    w = await make_world(db)
    await make_customer(db, w, "sales")
    r = await call(client, w, "manager", "POST", "/api/v1/exports", json={"list": "customers"})
    export_id = r.json()["id"]
    async with db.session() as s:
        await s.execute(update(User).where(User.id == w.users["manager"].id).values(active=False))
    with consuming(app.state.jobs):
        await until(lambda: _status(db, export_id, "failed"), what="the failed export")
        await drained(app.state.jobs)
    async with db.session() as s:
        j = await s.get(ExportJob, export_id)
    assert j is not None and j.error_code == "export_user_inactive" and j.error == "发起导出的账号已停用"
    assert j.storage_path is None and not list((app.state.settings.exports_dir).rglob("*.csv"))
    assert await exports_audited(db, w.workspace_id) == []


async def test_a_role_that_lost_the_export_right_meanwhile_fails_and_cannot_download(client, db, app):
    w = await make_world(db, language="en")
    await make_customer(db, w, "sales")
    r = await call(client, w, "manager", "POST", "/api/v1/exports", json={"list": "customers"})
    first = r.json()["id"]
    with consuming(app.state.jobs):
        assert (await finished(client, w, "manager", first))["status"] == "done"
    r = await call(client, w, "manager", "POST", "/api/v1/exports", json={"list": "customers"})
    second = r.json()["id"]
    async with db.session() as s:  # the manager role loses customers.export
        role = await s.scalar(select(Role).where(Role.id == w.users["manager"].role_id))
        assert role is not None
        role.permissions = {**role.permissions, "customers": ["view", "create", "edit", "delete"]}
    with consuming(app.state.jobs):
        job = await finished(client, w, "manager", second)
        await drained(app.state.jobs)
    assert job["status"] == "failed" and job["error_code"] == "export_forbidden"
    assert job["error"] == "You are no longer allowed to export this data" and job["download_url"] is None
    notes = await notifications_of(db, w.users["manager"].id)
    assert [n.kind for n in notes] == ["export_done", "export_failed"]
    assert notes[1].title.startswith("Export failed: ") and notes[1].body == job["error"]
    r = await call(client, w, "manager", "GET", f"/api/v1/exports/{first}/download")
    assert r.status_code == 403  # the finished file is no longer theirs to fetch either


async def _status(db, export_id: int, status: str) -> bool:  # type: ignore[no-untyped-def]
    async with db.session() as s:
        return (await s.scalar(select(ExportJob.status).where(ExportJob.id == export_id))) == status


async def test_expired_files_are_deleted_by_the_sweep(client, db, app):
    w = await make_world(db)
    await make_customer(db, w, "sales")
    ids = []
    for _ in range(2):
        r = await call(client, w, "admin", "POST", "/api/v1/exports", json={"list": "customers"})
        ids.append(r.json()["id"])
    with consuming(app.state.jobs):
        for i in ids:
            assert (await finished(client, w, "admin", i))["status"] == "done"
    root = app.state.settings.exports_dir
    assert len(list(root.rglob("*.csv"))) == 2
    async with db.session() as s:
        j = await s.get(ExportJob, ids[0])
        assert j is not None and abs((j.expires_at - j.finished_at) - timedelta(days=7)) < timedelta(seconds=1)
        j.expires_at = utcnow() - timedelta(minutes=1)
        old_path = j.storage_path
    ctx = JobContext(app.state.jobs, db, app.state.settings)
    assert await sweep(ctx) == {"expired": 1}
    assert not (root / old_path).exists() and len(list(root.rglob("*.csv"))) == 1
    r = await call(client, w, "admin", "GET", f"/api/v1/exports/{ids[0]}/download")
    assert r.status_code == 410 and r.json()["code"] == "export_expired"
    assert (await call(client, w, "admin", "GET", f"/api/v1/exports/{ids[0]}")).json()["status"] == "expired"
    assert (await call(client, w, "admin", "GET", f"/api/v1/exports/{ids[1]}/download")).status_code == 200
    assert await sweep(ctx) == {"expired": 0}


async def test_keep_days_comes_from_the_setting(db, tmp_path):
    from guanxi.config import Settings

    s = Settings(secret_key="x", data_dir=tmp_path, export_keep_days=2)
    assert s.export_keep_days == 2 and s.exports_dir == tmp_path / "exports"


@pytest.mark.parametrize(("body", "status", "code", "field"), [
    ({"list": "orders"}, 422, "validation_failed", None),
    ({"list": "customers", "format": "pdf"}, 422, "validation_failed", None),
    ({"list": "customers", "filter": ["nope:eq:1"]}, 400, "invalid_filter", None),
    ({"list": "customers", "sort": "password"}, 400, "invalid_sort", None),
    ({"list": "customers", "columns": ["name", "secret"]}, 422, "validation_failed", "columns.1"),
    ({"list": "customers", "params": {"x": 1}}, 422, "validation_failed", "params.x"),
    ({"list": "interactions", "params": {"customer_id": "abc"}}, 422, "validation_failed", "params.customer_id"),
    ({"list": "tasks", "params": {"status": "maybe"}}, 422, "validation_failed", "params.status"),
    ({"list": "tasks", "sort": "title"}, 400, "invalid_sort", None),
    ({"list": "customers", "surprise": True}, 422, "unknown_field", None),
])
async def test_bad_requests_are_clear_problems_and_queue_nothing(client, db, body, status, code, field):
    w = await make_world(db)
    r = await call(client, w, "admin", "POST", "/api/v1/exports", json=body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json") and r.json()["code"] == code
    if field:
        assert field in [e["field"] for e in r.json()["errors"]]
    async with db.session() as s:
        assert list(await s.scalars(select(ExportJob).where(ExportJob.workspace_id == w.workspace_id))) == []


async def test_download_before_the_job_ran_is_a_conflict(client, db):
    w = await make_world(db)
    r = await call(client, w, "admin", "POST", "/api/v1/exports", json={"list": "customers"})
    r = await call(client, w, "admin", "GET", f"/api/v1/exports/{r.json()['id']}/download")
    assert r.status_code == 409 and r.json()["code"] == "export_not_ready"


async def test_limits_tell_the_ui_when_to_start_a_job(client, db, app):
    w = await make_world(db)
    r = await call(client, w, "sales", "GET", "/api/v1/exports/limits")
    assert r.json() == {"direct_max_rows": 100_000, "job_threshold": 10_000, "keep_days": 7}
