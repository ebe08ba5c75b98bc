"""Every list exports with its own filters, scope, export permission, masking, formula neutralising and audit:
contacts, interactions (沟通记录), tasks (待办) and the audit log — direct downloads and jobs alike."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from guanxi.accounts.models import Role
from guanxi.kit.models import utcnow
from tests.exports.conftest import changes, exports_audited, read_csv
from tests.fixtures.factories import (
    call,
    make_contact,
    make_customer,
    make_interaction,
    make_task,
    make_world,
)
from tests.jobs.conftest import consuming, until

pytestmark = pytest.mark.anyio


async def direct(client, w, who, body):  # type: ignore[no-untyped-def]
    return await call(client, w, who, "POST", "/api/v1/exports/direct", json=body)


def as_dicts(rows: list[list[str]]) -> list[dict[str, str]]:
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


async def test_contacts_of_all_visible_customers_or_of_one_with_masking(client, db):
    w = await make_world(db)
    a = await make_customer(db, w, "sales", name="甲公司")
    b = await make_customer(db, w, "other_team", name="乙公司")
    await make_contact(db, w, a, "王经理", title="采购经理", phones=["138 1234 5678"], emails=["wang@jia.cn"],
                       notes="喜欢喝茶")
    await make_contact(db, w, a, "+李总", is_primary=False)
    await make_contact(db, w, b, "赵主任")

    r = await direct(client, w, "admin", {"list": "contacts"})
    assert r.status_code == 200, r.text
    rows = as_dicts(read_csv(r.content))
    assert [(x["客户"], x["姓名"]) for x in rows] == [("甲公司", "王经理"), ("甲公司", "'+李总"), ("乙公司", "赵主任")]
    assert rows[0]["电话"] == "138 1234 5678" and rows[0]["职务"] == "采购经理" and rows[0]["备注"] == "喜欢喝茶"

    r = await direct(client, w, "manager", {"list": "contacts"})  # team a only
    assert {x["客户"] for x in as_dicts(read_csv(r.content))} == {"甲公司"}
    r = await direct(client, w, "admin", {"list": "contacts", "params": {"customer_id": b.id}})
    assert [x["姓名"] for x in as_dicts(read_csv(r.content))] == ["赵主任"]
    r = await direct(client, w, "manager", {"list": "contacts", "params": {"customer_id": b.id}})
    assert r.status_code == 404  # a customer outside the caller's scope

    r = await direct(client, w, "marketing", {"list": "contacts"})  # phones masked, notes hidden
    table = read_csv(r.content)
    assert "备注" not in table[0]
    wang = next(x for x in as_dicts(table) if x["姓名"] == "王经理")
    assert "****" in wang["电话"] and "1234 5678" not in wang["电话"]
    for who in ("readonly", "sales", "service"):
        r = await direct(client, w, who, {"list": "contacts"})
        assert r.status_code == 403, who
    entries = await exports_audited(db, w.workspace_id)
    assert [(e.record_type, changes(e)["list"], changes(e)["rows"]) for e in entries] == [
        ("contact", "contacts", 3), ("contact", "contacts", 2), ("contact", "contacts", 1), ("contact", "contacts", 3)]


async def test_interactions_with_the_list_filters_scope_and_permission(client, db):
    w = await make_world(db)
    a = await make_customer(db, w, "sales", name="甲公司")
    b = await make_customer(db, w, "other_team", name="乙公司")
    now = utcnow()
    await make_interaction(db, w, a, "sales", occurred_at=now - timedelta(days=1), subject="=1+2",
                           summary="谈了报价", channel="phone")
    await make_interaction(db, w, a, "sales", occurred_at=now - timedelta(days=2), subject="拜访", channel="visit",
                           direction="inbound", duration_minutes=45)
    await make_interaction(db, w, b, "other_team", occurred_at=now - timedelta(hours=1), subject="乙的电话")
    await make_interaction(db, w, a, "sales", subject="已删除", deleted=True)

    r = await direct(client, w, "admin", {"list": "interactions", "format": "csv"})
    rows = as_dicts(read_csv(r.content))
    assert [x["主题"] for x in rows] == ["乙的电话", "'=1+2", "拜访"]  # newest first, as listed; bin left out
    visit = rows[2]
    assert visit["客户"] == "甲公司" and visit["发起方"] == "客户发起" and visit["时长（分钟）"] == "45"
    assert visit["记录人"] == w.users["sales"].name and visit["沟通方式"] == "拜访"

    r = await direct(client, w, "admin", {"list": "interactions", "params": {"channel": "phone", "customer_id": a.id}})
    assert [x["主题"] for x in as_dicts(read_csv(r.content))] == ["'=1+2"]
    r = await direct(client, w, "manager", {"list": "interactions"})  # team a: not 乙
    assert [x["主题"] for x in as_dicts(read_csv(r.content))] == ["'=1+2", "拜访"]
    for who in ("sales", "marketing", "readonly", "service"):  # no activities.export
        assert (await direct(client, w, who, {"list": "interactions"})).status_code == 403, who
    [*_, last] = await exports_audited(db, w.workspace_id)
    assert last.record_type == "interaction" and changes(last)["rows"] == 2


async def test_tasks_with_status_filter_sort_and_english_labels(client, db):
    w = await make_world(db, language="en")
    c = await make_customer(db, w, "sales", name="甲公司")
    now = utcnow()
    await make_task(db, w, "sales", customer=c, title="@SUM(A1)", due_at=now + timedelta(days=1), priority="urgent")
    await make_task(db, w, "sales", title="Send the quote", due_at=now + timedelta(days=3))
    await make_task(db, w, "teammate", title="Done already", status="done", due_at=now + timedelta(days=2))
    await make_task(db, w, "other_team", title="Team b's", due_at=now + timedelta(days=4))

    r = await direct(client, w, "manager", {"list": "tasks", "params": {"status": "open"}, "sort": "-due_at",
                                            "format": "xlsx"})
    assert r.status_code == 200, r.text
    sheet = load_workbook(io.BytesIO(r.content), read_only=True).active
    assert sheet.title == "Tasks"
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("Title", "Customer", "Assignee", "Due", "Priority", "Status")
    assert [x[0] for x in rows[1:]] == ["Send the quote", "'@SUM(A1)"]  # team a, open, latest due first
    assert rows[2][1] == "甲公司" and rows[2][4] == "Urgent" and rows[2][5] == "Open"
    for who in ("sales", "service", "marketing", "readonly"):  # tasks.export: admins and managers
        assert (await direct(client, w, who, {"list": "tasks"})).status_code == 403, who
    r = await direct(client, w, "admin", {"list": "tasks", "columns": ["title", "status"]})
    assert r.status_code == 200
    table = read_csv(r.content)
    assert table[0] == ["Title", "Status"] and len(table) == 5


async def test_audit_log_for_admins_with_field_rules_on_old_and_new_values(client, db):
    w = await make_world(db)
    r = await call(client, w, "admin", "POST", "/api/v1/customers",
                   json={"name": "审计客户", "kind": "company", "phones": ["13812345678"], "notes": "=cmd|' /C calc'!A0"})
    assert r.status_code == 201, r.text
    r = await direct(client, w, "admin", {"list": "audit", "params": {"record_type": "customer"}})
    assert r.status_code == 200, r.text
    rows = as_dicts(read_csv(r.content))
    created = next(x for x in rows if x["操作"] == "create")
    assert created["对象"] == "审计客户" and "13812345678" in created["变更内容"].replace(" ", "")
    assert created["操作人"] == w.users["admin"].name
    for who in ("manager", "sales", "marketing", "readonly"):
        assert (await direct(client, w, who, {"list": "audit"})).status_code == 403, who
    async with db.session() as s:  # a marketer allowed to read and export the log still sees phones masked
        role = await s.scalar(select(Role).where(Role.id == w.users["marketing"].role_id))
        assert role is not None
        role.permissions = {**role.permissions, "audit": ["view", "export"]}
    r = await direct(client, w, "marketing", {"list": "audit", "params": {"record_type": "customer", "action": "create"}})
    [row] = as_dicts(read_csv(r.content))
    assert "****" in row["变更内容"] and "13812345678" not in row["变更内容"].replace(" ", "")
    assert "=cmd" not in row["变更内容"]  # notes are hidden for marketing


async def test_too_many_rows_for_a_direct_download_but_not_for_a_job(client, db, app, monkeypatch):
    from guanxi.exports import service

    monkeypatch.setattr(service, "DIRECT_MAX_ROWS", 2)
    w = await make_world(db)
    c = await make_customer(db, w, "sales")
    for i in range(3):
        await make_task(db, w, "sales", customer=c, title=f"任务{i}")
    r = await direct(client, w, "admin", {"list": "tasks"})
    assert r.status_code == 422 and r.json()["code"] == "export_too_large"
    r = await call(client, w, "admin", "POST", "/api/v1/exports", json={"list": "tasks"})
    export_id = r.json()["id"]
    with consuming(app.state.jobs):
        async def done() -> bool:
            return (await call(client, w, "admin", "GET", f"/api/v1/exports/{export_id}")).json()["status"] == "done"

        await until(done)
    r = await call(client, w, "admin", "GET", f"/api/v1/exports/{export_id}/download")
    assert [x[0] for x in read_csv(r.content)[1:]] == ["任务0", "任务1", "任务2"]


@pytest.mark.parametrize(("list_key", "header"), [("contacts", "客户"), ("interactions", "沟通时间"),
                                                  ("tasks", "标题"), ("audit", "时间")])
async def test_every_list_runs_as_a_job(client, db, app, list_key, header):
    w = await make_world(db)
    c = await make_customer(db, w, "sales", name="任务客户")
    await make_contact(db, w, c, "王经理")
    await make_interaction(db, w, c, "sales")
    await make_task(db, w, "sales", customer=c)
    r = await call(client, w, "admin", "POST", "/api/v1/exports", json={"list": list_key})
    assert r.status_code == 202, r.text
    export_id = r.json()["id"]
    with consuming(app.state.jobs):
        async def done() -> bool:
            return (await call(client, w, "admin", "GET", f"/api/v1/exports/{export_id}")).json()["status"] == "done"

        await until(done)
    r = await call(client, w, "admin", "GET", f"/api/v1/exports/{export_id}/download")
    rows = read_csv(r.content)
    assert rows[0][0] == header and (len(rows) >= 2 or list_key == "audit")  # factories write no audit rows
    [entry] = await exports_audited(db, w.workspace_id)
    assert changes(entry)["list"] == list_key and changes(entry)["export_job"] == export_id


async def test_xlsx_survives_control_characters_and_keeps_error_like_text_as_text(client, db):
    w = await make_world(db)
    await make_customer(db, w, "sales", name="控制\x0b字符\x01公司", industry="#N/A", notes="第一行\x0c第二行")
    r = await direct(client, w, "admin", {"list": "customers", "format": "xlsx", "columns": ["name", "industry", "notes"]})
    assert r.status_code == 200, r.text
    sheet = load_workbook(io.BytesIO(r.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1] == ("控制字符公司", "#N/A", "第一行第二行")
    assert all(cell.data_type == "s" for row in sheet.iter_rows(min_row=2) for cell in row)
