"""Assignments and @mentions already notify in the app; with SMTP configured they are emailed too."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from guanxi.app import create_app
from guanxi.config import Settings
from guanxi.kit.models import utcnow
from tests.fixtures.factories import call, make_customer, make_world
from tests.jobs.conftest import consuming, drained, outbox_rows, until

pytestmark = pytest.mark.anyio


async def test_assignment_and_mention_emails(db, settings_for, inbox):
    app = create_app(settings_for(), database=db)
    w = await make_world(db)
    w_en = await make_world(db, language="en")
    c = await make_customer(db, w, "sales", name="杭州云帆科技")
    sales, manager = w.users["sales"], w.users["manager"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        r = await call(client, w, "manager", "POST", "/api/v1/tasks", json={
            "title": "准备合同", "due_at": (utcnow() + timedelta(days=2)).isoformat(), "assignee_id": sales.id,
            "customer_id": c.id, "description": "合同第三版"})
        assert r.status_code == 201, r.text
        task_id = r.json()["id"]
        r = await call(client, w, "manager", "POST", f"/api/v1/customers/{c.id}/notes",
                       json={"body": f"@[{sales.name}](user:{sales.id}) 客户想下周见面"})
        assert r.status_code == 201, r.text
        # a task of one's own notifies nobody and emails nobody
        r = await call(client, w, "sales", "POST", "/api/v1/tasks", json={
            "title": "自己的事", "due_at": (utcnow() + timedelta(days=2)).isoformat()})
        assert r.status_code == 201, r.text
        r = await call(client, w_en, "admin", "POST", "/api/v1/tasks", json={
            "title": "Prepare the demo", "due_at": (utcnow() + timedelta(days=2)).isoformat(),
            "assignee_id": w_en.users["sales"].id})
        assert r.status_code == 201, r.text

    queue = app.state.jobs
    with consuming(queue):
        await until(lambda: len(inbox.to(sales.email)) >= 2 and inbox.to(w_en.users["sales"].email), what="3 emails")
        await drained(queue)
    assigned, mentioned = sorted(inbox.to(sales.email), key=lambda m: "提到" in str(m["Subject"]))
    assert assigned["Subject"] == f"{manager.name} 给你分配了待办：准备合同"
    assert f"https://crm.example.cn/tasks/{task_id}" in assigned.get_content()
    assert "合同第三版" in assigned.get_content()
    assert mentioned["Subject"] == f"{manager.name} 在「杭州云帆科技」的备注中提到了你"
    assert f"@{sales.name} 客户想下周见面" in mentioned.get_content()
    [en] = inbox.to(w_en.users["sales"].email)
    assert en["Subject"] == f"{w_en.users['admin'].name} assigned you a task: Prepare the demo"
    assert en.get_content().startswith(f"Hello {w_en.users['sales'].name},")
    rows = await outbox_rows(db, w.workspace_id)
    assert [r.status for r in rows] == ["done", "done"]
    assert len(inbox.received) == len(inbox.to(sales.email)) + 1


async def test_no_smtp_no_email_rows(db, tmp_path):
    app = create_app(Settings(secret_key="x", data_dir=tmp_path), database=db)
    w = await make_world(db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        r = await call(client, w, "manager", "POST", "/api/v1/tasks", json={
            "title": "准备合同", "due_at": (utcnow() + timedelta(days=2)).isoformat(),
            "assignee_id": w.users["sales"].id})
        assert r.status_code == 201, r.text
    assert await outbox_rows(db, w.workspace_id) == []
    assert not (tmp_path / "jobs.db").exists()  # nothing was queued, so the queue was never opened
