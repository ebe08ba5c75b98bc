"""Task reminders: one notification and one email per occurrence, in the assignee's language and time zone,
however many sweeps and consumers run at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from sqlalchemy import select, update

from guanxi.activities.models import Task
from guanxi.activities.tasks import send_due_reminders
from guanxi.db import Database
from guanxi.kit import outbox
from guanxi.kit.jobs import JobQueue
from guanxi.kit.models import utcnow
from tests.fixtures.factories import call, make_customer, make_world
from tests.jobs.conftest import consuming, context, drained, due_task, outbox_rows, reminders_of, until

pytestmark = pytest.mark.anyio


async def test_a_due_reminder_makes_one_notification_and_one_email(db, queue, inbox):
    w = await make_world(db)
    c = await make_customer(db, w, "sales", name="上海星河贸易有限公司")
    due = datetime(2031, 3, 5, 6, 30, tzinfo=UTC)  # 14:30 in Shanghai
    t = await due_task(db, w, "sales", customer=c, title="回访客户", description="确认报价  和交期", due_at=due,
                       remind_before_minutes=30, remind_at=utcnow() - timedelta(seconds=5))
    later = await due_task(db, w, "sales", title="下周的事", remind_at=utcnow() + timedelta(days=7))
    user = w.users["sales"]

    with consuming(queue):
        await until(lambda: len(inbox.to(user.email)) >= 1, what="the reminder email")
        # more sweeps, at start-up and later, and the outbox sweep: nothing more is sent
        for _ in range(3):
            queue.enqueue("reminders.due", True)
            queue.enqueue("outbox.sweep", True)
        await drained(queue)

    [n] = await reminders_of(db, t.id)
    assert n.user_id == user.id and n.title == "待办提醒：回访客户（3月5日 14:30 到期）"
    assert n.link == f"/customers/{c.id}" and n.body == "确认报价 和交期" and n.actor_id is None and n.read_at is None
    assert await reminders_of(db, later.id) == []
    [msg] = inbox.to(user.email)
    assert msg["Subject"] == n.title
    assert msg["To"].addresses[0].addr_spec == user.email and msg["To"].addresses[0].display_name == user.name
    assert msg["From"].addresses[0].addr_spec == "crm@xinghe-demo.cn" and msg["From"].addresses[0].display_name == "星河 CRM"
    assert abs((parsedate_to_datetime(msg["Date"]) - utcnow()).total_seconds()) < 60
    assert msg["Message-ID"].startswith("<guanxi.") and msg["Message-ID"].endswith("@xinghe-demo.cn>")
    body = msg.get_content()
    assert body.startswith(f"{user.name}，你好：") and "截止时间：2031-03-05 14:30（Asia/Shanghai）" in body
    assert "客户：上海星河贸易有限公司" in body and f"打开查看：https://crm.example.cn/customers/{c.id}" in body
    async with db.session() as s:
        task = await s.get(Task, t.id)
        assert task is not None and task.reminded_at is not None
    [row] = await outbox_rows(db, w.workspace_id)
    assert row.status == "done" and row.attempts == 1 and row.last_error is None and row.done_at is not None
    assert row.key == f"reminder:{t.id}:{int(t.remind_at.timestamp())}"
    assert queue.last_run("reminders.due")["error"] is None


async def test_english_user_in_their_time_zone_and_tasks_without_customer(db, queue, inbox):
    w = await make_world(db, language="en")
    user = w.users["manager"]
    async with db.session() as s:
        await s.execute(update(type(user)).where(type(user).id == user.id).values(timezone="Europe/Berlin"))
    due = datetime(2031, 7, 1, 16, 5, tzinfo=UTC)  # 18:05 in Berlin (summer time)
    t = await due_task(db, w, "manager", title="Call back Mr. Li", due_at=due)
    done = await due_task(db, w, "manager", title="already done", status="done")
    binned = await due_task(db, w, "manager", title="in the bin", deleted=True)
    ctx = context(queue, db)

    await send_due_reminders(ctx)
    [n] = await reminders_of(db, t.id)
    assert n.title == "Reminder: Call back Mr. Li (due Jul 1, 18:05)" and n.link == "/my-work"
    assert await reminders_of(db, done.id) == [] and await reminders_of(db, binned.id) == []
    [row] = await outbox_rows(db, w.workspace_id)
    assert await outbox.run(ctx, row.id) == "done"
    assert await outbox.run(ctx, row.id) is None  # a second message for the same row does nothing
    [msg] = inbox.to(user.email)
    assert msg["Subject"] == n.title
    body = msg.get_content()
    assert body.startswith(f"Hello {user.name},") and "Due: 2031-07-01 18:05 (Europe/Berlin)" in body
    assert "Open in Guanxi: https://crm.example.cn/my-work" in body and "Customer:" not in body


async def test_sweeps_and_consumers_running_at_once_send_each_reminder_once(db, queue, settings_for, inbox):
    w = await make_world(db)
    people = ["sales", "teammate", "subteam", "manager"]
    tasks = [await due_task(db, w, people[i % 4], title=f"并发提醒{i}") for i in range(12)]
    other = JobQueue(queue.settings, database_url=db.url)  # a second consumer process on the same queue
    dbs = [Database(db.url) for _ in range(3)]
    try:
        with consuming(queue, workers=3), consuming(other, workers=3):
            for q in (queue, other):
                for _ in range(4):
                    q.enqueue("reminders.due", False)
            # and three more sweeps right here, each with its own engine, all at the same time
            await asyncio.gather(*(send_due_reminders(context(queue, d)) for d in dbs))
            await until(lambda: sum(len(inbox.to(w.users[p].email)) for p in people) >= 12, what="12 emails")
            for q in (queue, other):
                q.enqueue("outbox.sweep", True)
            await drained(queue, other)
    finally:
        for d in dbs:
            await d.dispose()
        other.flush()
        other.close()
    for t in tasks:
        assert len(await reminders_of(db, t.id)) == 1, t.title
    subjects = sorted(str(m["Subject"]) for p in people for m in inbox.to(w.users[p].email))
    assert subjects == sorted(f"待办提醒：{t.title}（{_local(t.due_at)} 到期）" for t in tasks)
    rows = await outbox_rows(db, w.workspace_id)
    assert len(rows) == 12 and {r.status for r in rows} == {"done"} and {r.attempts for r in rows} == {1}


def _local(due: datetime) -> str:
    local = due.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    return f"{local.month}月{local.day}日 {local:%H:%M}"


async def test_a_new_due_time_is_a_new_reminder_and_a_repeat_gets_its_own(client, db, queue, inbox):
    w = await make_world(db)
    user = w.users["sales"]
    ctx = context(queue, db)
    t = await due_task(db, w, "sales", title="每周例会", repeat="weekly")
    await send_due_reminders(ctx)
    assert len(await reminders_of(db, t.id)) == 1

    # moving the due time makes a new occurrence with its own reminder; the old one is not sent again
    new_due = utcnow() + timedelta(minutes=10)
    r = await call(client, w, "sales", "PATCH", f"/api/v1/tasks/{t.id}", headers={"If-Match": '"1"'},
                   json={"due_at": new_due.isoformat(), "remind_before_minutes": 20})
    assert r.status_code == 200, r.text
    assert r.json()["reminded_at"] is None
    await send_due_reminders(ctx)
    await send_due_reminders(ctx)
    assert len(await reminders_of(db, t.id)) == 2

    # done: the next week's occurrence is a task of its own, reminded when its time comes
    r = await call(client, w, "sales", "POST", f"/api/v1/tasks/{t.id}/complete")
    assert r.status_code == 200, r.text
    nxt = r.json()["next"]
    assert nxt["remind_at"] is not None and nxt["reminded_at"] is None
    await send_due_reminders(ctx)
    assert await reminders_of(db, nxt["id"]) == []  # not yet
    async with db.session() as s:  # a week passes
        await s.execute(update(Task).where(Task.id == nxt["id"]).values(remind_at=utcnow() - timedelta(seconds=1)))
    await send_due_reminders(ctx)
    assert len(await reminders_of(db, nxt["id"])) == 1

    rows = await outbox_rows(db, w.workspace_id)
    assert len(rows) == 3 and len({r.key for r in rows}) == 3
    for row in rows:
        assert await outbox.run(ctx, row.id) == "done"
    assert len(inbox.to(user.email)) == 3


async def test_the_sweep_finds_only_due_open_tasks(db, queue):
    w = await make_world(db)
    ctx = context(queue, db)
    claimed = await due_task(db, w, "sales", reminded_at=utcnow() - timedelta(minutes=1))
    cancelled = await due_task(db, w, "sales", status="cancelled")
    nobody = await due_task(db, w, "sales")
    async with db.session() as s:  # the assignee left the company
        await s.execute(update(Task).where(Task.id == nobody.id).values(assignee_id=None))
    await send_due_reminders(ctx)
    for t in (claimed, cancelled, nobody):
        assert await reminders_of(db, t.id) == []
    async with db.session() as s:
        assert (await s.get(Task, nobody.id)).reminded_at is not None  # claimed, so no sweep looks at it again
        assert (await s.get(Task, cancelled.id)).reminded_at is None
    assert await outbox_rows(db, w.workspace_id) == []


async def test_an_imported_task_is_reminded_and_its_assignee_emailed_like_one_made_in_the_app(client, db, queue, inbox,
                                                                                             settings):
    """The import writes through a unit of work of the queue's database: the assignment's email copy goes through the
    outbox, and the reminder sweep sends the imported task's reminder when its time comes."""
    from guanxi.imports import runner
    from guanxi.notifications.models import Notification
    from tests.imports.conftest import upload

    w = await make_world(db)
    ctx = context(queue, db)
    mate = w.users["teammate"]
    data = f"待办事项,截止日期,负责人\r\n导入的回访,2031-03-05 14:30,{mate.name}\r\n".encode()
    imp = (await upload(client, w, "sales", "待办.csv", data, "tasks")).json()
    assert (await call(client, w, "sales", "POST", f"/api/v1/imports/{imp['id']}/run")).status_code == 202
    assert await runner.run_import(db, settings, imp["id"]) == "done"
    async with db.session() as s:
        [t] = list(await s.scalars(select(Task).where(Task.workspace_id == w.workspace_id)))
        [n] = list(await s.scalars(select(Notification).where(Notification.user_id == mate.id)))
    assert t.assignee_id == mate.id and t.remind_at == datetime(2031, 3, 5, 5, 30, tzinfo=UTC)
    assert n.kind == "task_assigned" and n.record_id == t.id
    [row] = await outbox_rows(db, w.workspace_id)  # the email copy of the assignment
    assert await outbox.run(ctx, row.id) == "done"
    await send_due_reminders(ctx)
    assert await reminders_of(db, t.id) == []  # not yet
    async with db.session() as s:  # time passes
        await s.execute(update(Task).where(Task.id == t.id).values(remind_at=utcnow() - timedelta(seconds=1)))
    await send_due_reminders(ctx)
    [rem] = await reminders_of(db, t.id)
    assert rem.user_id == mate.id and rem.title.startswith("待办提醒：导入的回访")
    rows = await outbox_rows(db, w.workspace_id)
    assert len(rows) == 2 and await outbox.run(ctx, rows[1].id) == "done"
    assert len(inbox.to(mate.email)) == 2
