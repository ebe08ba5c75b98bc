"""The outbox never loses an email and never sends one twice: crashes between the steps, a second message
for the same row, a worker that died while sending, an SMTP server that is down for a while or for good."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from guanxi.activities.tasks import send_due_reminders
from guanxi.app import create_app
from guanxi.kit import outbox
from guanxi.kit.jobs import FileLease, JobQueue
from guanxi.kit.models import utcnow
from guanxi.kit.outbox import JobOutbox
from tests.fixtures.factories import call, make_world
from tests.jobs.conftest import consuming, context, drained, due_task, outbox_rows, reminders_of, until

pytestmark = pytest.mark.anyio


async def test_crash_between_commit_and_sending_the_message(db, queue, inbox):
    """The reminder was claimed and committed, then the process died before its message reached the queue."""
    w = await make_world(db)
    user = w.users["sales"]
    t = await due_task(db, w, "sales", title="崩溃之后")
    await send_due_reminders(context(queue, db))
    [row] = await outbox_rows(db, w.workspace_id)
    assert row.status == "pending" and row.attempts == 0
    await until(lambda: queue.huey.pending_count() >= 1, what="the message")
    queue.huey.storage.flush_queue()  # the message is lost with the process

    restarted = JobQueue(queue.settings, database_url=db.url)  # a new process over the same files
    with consuming(restarted):
        await until(lambda: len(inbox.to(user.email)) >= 1, what="the email after the restart")
        await drained(restarted)
    assert len(inbox.to(user.email)) == 1 and len(await reminders_of(db, t.id)) == 1
    [row] = await outbox_rows(db, w.workspace_id)
    assert row.status == "done" and row.attempts == 1
    restarted.close()


async def test_stopped_before_the_email_was_sent(db, queue, inbox):
    """The message is in the queue, but the consumer stopped first; after the restart the message and the
    start-up sweep both ask for the same row, and the email goes out once."""
    w = await make_world(db)
    user = w.users["teammate"]
    await due_task(db, w, "teammate", title="停机之前")
    await send_due_reminders(context(queue, db))
    await until(lambda: queue.huey.pending_count() >= 1, what="the message")

    with consuming(JobQueue(queue.settings, database_url=db.url)) as consumer:
        await until(lambda: len(inbox.to(user.email)) >= 1, what="the email")
        await drained(consumer.queue)
    assert len(inbox.to(user.email)) == 1
    [row] = await outbox_rows(db, w.workspace_id)
    assert row.status == "done" and row.attempts == 1


async def test_a_worker_that_died_while_sending(db, queue, inbox):
    w = await make_world(db)
    user = w.users["subteam"]
    await due_task(db, w, "subteam", title="发送途中")
    ctx = context(queue, db)
    await send_due_reminders(ctx)
    [row] = await outbox_rows(db, w.workspace_id)

    # a worker claimed the row and is still within its lease: nobody else touches it
    async with db.session() as s:
        await s.execute(update(JobOutbox).where(JobOutbox.id == row.id).values(
            status="running", attempts=1, locked_until=utcnow() + timedelta(seconds=30)))
    assert await outbox.run(ctx, row.id) is None
    queue.huey.storage.flush_queue()
    await outbox.sweep(ctx, startup=True)
    assert (row.id,) not in [m.args for m in queue.huey.pending()]
    # its process died: once the lease runs out the row is due again, and the restart sends it once
    async with db.session() as s:
        await s.execute(update(JobOutbox).where(JobOutbox.id == row.id).values(
            locked_until=utcnow() - timedelta(seconds=1)))
    queue.huey.storage.flush_queue()
    with consuming(JobQueue(queue.settings, database_url=db.url)) as consumer:
        await until(lambda: len(inbox.to(user.email)) >= 1, what="the email")
        await drained(consumer.queue)
    assert len(inbox.to(user.email)) == 1
    [row] = await outbox_rows(db, w.workspace_id)
    assert row.status == "done" and row.attempts == 2


async def test_smtp_down_is_retried_and_delivered_when_it_is_back(db, settings_for, inbox):
    inbox.stop()
    q = JobQueue(settings_for(jobs_retry_seconds=0.3, jobs_max_attempts=20), database_url=db.url)
    q.attach(db)
    w = await make_world(db)
    user = w.users["sales"]
    await due_task(db, w, "sales", title="邮件服务器停机")

    async def tried(n: int) -> bool:
        rows = await outbox_rows(db, w.workspace_id)
        return bool(rows) and rows[0].attempts >= n and rows[0].status == "pending"

    try:
        with consuming(q):
            await until(lambda: tried(2), what="two failed attempts")
        # the worker stops while a retry is scheduled; the SMTP server comes back; a new worker starts
        [row] = await outbox_rows(db, w.workspace_id)
        assert row.status == "pending" and row.next_attempt_at > row.created_at
        assert "Connection refused" in (row.last_error or "") or "ConnectionRefused" in (row.last_error or "")
        assert q.huey.scheduled_count() >= 1
        inbox.start()
        with consuming(JobQueue(q.settings, database_url=db.url)) as consumer:
            await until(lambda: len(inbox.to(user.email)) >= 1, timeout=20, what="the email")
            await drained(consumer.queue)
        assert len(inbox.to(user.email)) == 1
        [row] = await outbox_rows(db, w.workspace_id)
        assert row.status == "done" and row.attempts >= 3 and row.last_error is None
    finally:
        q.flush()
        q.close()


async def test_failed_after_the_last_attempt_and_shown_to_admins(db, settings_for, inbox):
    inbox.stop()
    s = settings_for(jobs_retry_seconds=0.2, jobs_max_attempts=2)
    app = create_app(s, database=db)
    q: JobQueue = app.state.jobs
    w = await make_world(db)
    user = w.users["sales"]
    await due_task(db, w, "sales", title="一直发不出去")
    try:
        with consuming(q):
            async def failed() -> bool:
                rows = await outbox_rows(db, w.workspace_id)
                return bool(rows) and rows[0].status == "failed"

            await until(failed, what="a failed email")
            await drained(q)
        [row] = await outbox_rows(db, w.workspace_id)
        assert row.attempts == 2 and row.last_error and row.done_at is not None
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            r = await call(client, w, "admin", "GET", "/api/v1/jobs/status")
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["backend"] == "sqlite" and body["queue"] == q.name and body["available"] is True
            assert body["outbox"] == {"pending": 0, "running": 0, "failed": 1} and body["reminders_due"] == 0
            [f] = body["failed"]
            assert f["id"] == row.id and f["job"] == "email" and f["attempts"] == 2
            assert f["recipient_id"] == user.id and f["recipient_name"] == user.name
            assert f["subject"].startswith("待办提醒：一直发不出去") and f["last_error"] == row.last_error
            runs = {p["name"]: p for p in body["periodic"]}
            assert set(runs) == {"reminders.due", "outbox.sweep", "imports.sweep"}
            assert runs["reminders.due"]["every_seconds"] == 1 and runs["reminders.due"]["last_finished_at"]
            assert runs["reminders.due"]["last_result"]["reminded"] >= 0
            # another workspace's admin sees none of it
            other = await make_world(db)
            r = await call(client, other, "admin", "GET", "/api/v1/jobs/status")
            assert r.json()["outbox"] == {"pending": 0, "running": 0, "failed": 0} and r.json()["failed"] == []
            assert (await call(client, w, "manager", "GET", "/api/v1/jobs/status")).status_code == 403
            # the health check names the queue and nothing secret
            h = (await client.get("/api/health")).json()
            assert h["jobs"] == {"backend": "sqlite", "in_process": True}
    finally:
        q.flush()
        q.close()


async def test_a_rollback_sends_nothing(db, queue):
    key = f"rollback-{uuid.uuid4().hex}"
    with pytest.raises(RuntimeError):
        async with db.session() as s:
            outbox.add(s, "email", {"user_id": 0, "subject": "x"}, workspace_id=None, key=key + "-a")
            await s.flush()
            raise RuntimeError("the change failed")
    async with db.session() as s:
        row = outbox.add(s, "email", {"user_id": 0, "subject": "x"}, workspace_id=None, key=key + "-b")
    await until(lambda: queue.huey.pending_count() == 1, what="one message")
    assert [m.args for m in queue.huey.pending()] == [(row.id,)]
    async with db.session() as s:
        assert list(await s.scalars(select(JobOutbox.key).where(JobOutbox.key.startswith(key)))) == [key + "-b"]
        await s.execute(update(JobOutbox).where(JobOutbox.id == row.id).values(status="done"))


def test_one_scheduler_per_machine(tmp_path):
    a, b = FileLease(str(tmp_path / "l")), FileLease(str(tmp_path / "l"))
    assert a.held() and a.held() and not b.held()
    a.release()
    assert b.held() and not a.held()
    b.release()
