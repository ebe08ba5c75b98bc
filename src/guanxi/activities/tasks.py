"""Background jobs of activities: task reminders.

Every GUANXI_REMINDER_INTERVAL_SECONDS the scheduler starts `reminders.due`. For each open task whose remind_at
has passed and that was not reminded yet, one transaction claims the task (`UPDATE … SET reminded_at WHERE
reminded_at IS NULL`: only one of any number of concurrent sweeps gets rowcount 1), makes the assignee's
in-app notification and, with SMTP configured, the email's outbox row, whose unique key names the occurrence
(task and remind_at). A crash before the commit leaves the task unclaimed, so the next sweep finds it again; a
crash after it leaves the email row, which the outbox sends. Changing the due time or the lead time sets a new
remind_at and clears reminded_at (a new occurrence); a repeating task's next occurrence is a task of its own.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update

from guanxi.accounts.models import User
from guanxi.activities.models import DUE_REMINDERS, Task
from guanxi.customers.models import Customer
from guanxi.kit.jobs import JobContext, periodic
from guanxi.kit.models import utcnow
from guanxi.kit.timeutil import zone
from guanxi.notifications.models import Notification
from guanxi.notifications.tasks import email_copy, mail_enabled

log = logging.getLogger("guanxi.jobs")

BATCH = 200
MAX_BATCHES = 25  # per run; the next run goes on
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def due_text(due: datetime, tz: str | None, language: str) -> str:
    """The due time as the assignee reads it: their time zone, their language."""
    local = due.astimezone(zone(tz))
    if language == "en":
        return f"{MONTHS[local.month - 1]} {local.day}, {local:%H:%M}"
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def reminder_title(title: str, due: datetime, tz: str | None, language: str) -> str:
    when = due_text(due, tz, language)
    return f"Reminder: {title} (due {when})" if language == "en" else f"待办提醒：{title}（{when} 到期）"


def reminder_lines(due: datetime, tz: str | None, language: str, customer: str | None) -> list[str]:
    local = due.astimezone(zone(tz))
    zone_name = str(zone(tz))
    if language == "en":
        lines = [f"Due: {local:%Y-%m-%d %H:%M} ({zone_name})"]
        return lines + ([f"Customer: {customer}"] if customer else [])
    lines = [f"截止时间：{local:%Y-%m-%d %H:%M}（{zone_name}）"]
    return lines + ([f"客户：{customer}"] if customer else [])


async def remind(ctx: JobContext, task_id: int, remind_at: datetime) -> bool:
    """Claim one reminder and make its notification (and email) in one transaction; False if someone else did."""
    now = utcnow()
    async with ctx.writing() as session:
        res = await session.execute(
            update(Task).where(Task.id == task_id, Task.remind_at == remind_at, DUE_REMINDERS)
            .values(reminded_at=now).execution_options(synchronize_session=False))
        if res.rowcount != 1:  # type: ignore[attr-defined]
            return False
        row = (await session.execute(
            select(Task.workspace_id, Task.title, Task.description, Task.due_at, Task.customer_id, User)
            .outerjoin(User, User.id == Task.assignee_id).where(Task.id == task_id))).one()
        workspace_id, title, description, due_at, customer_id, user = row
        if user is None or not user.active:
            return True  # nobody to remind; the claim keeps the next sweep from trying again
        customer = await session.scalar(select(Customer.name).where(Customer.id == customer_id)) if customer_id else None
        lang = "en" if user.language == "en" else "zh-CN"
        body = " ".join((description or "").split())[:200] or None
        n = Notification(workspace_id=workspace_id, user_id=user.id, kind="reminder",
                         title=reminder_title(title, due_at, user.timezone, lang)[:300], body=body,
                         link=f"/customers/{customer_id}" if customer_id else "/my-work", record_type="task",
                         record_id=task_id, actor_id=None, created_at=now)
        session.add(n)
        if mail_enabled(session):
            email_copy(session, n, key=f"reminder:{task_id}:{int(remind_at.timestamp())}",
                       lines=reminder_lines(due_at, user.timezone, lang, customer))
    return True


@periodic("reminders.due", every=lambda settings: settings.reminder_interval_seconds)
async def send_due_reminders(ctx: JobContext, startup: bool = False) -> dict[str, int]:
    """Remind every assignee whose task's reminder time has come (and, at start-up, what came while down)."""
    reminded = 0
    for _ in range(MAX_BATCHES):
        async with ctx.db.session() as session:
            # DUE_REMINDERS is literally the partial index's condition, so SQLite walks that small index
            due = (await session.execute(
                select(Task.id, Task.remind_at).where(DUE_REMINDERS, Task.remind_at <= utcnow())
                .order_by(Task.remind_at, Task.id).limit(BATCH))).all()
        for task_id, remind_at in due:
            assert remind_at is not None
            try:
                reminded += await remind(ctx, task_id, remind_at)
            except Exception:
                log.exception("reminder of task %s", task_id)
        if len(due) < BATCH:
            break
    if reminded:
        log.info("sent %s reminder(s)", reminded)
    return {"reminded": reminded}
