"""Job status for a workspace admin. Queue-wide numbers come from the queue; rows only from their workspace."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from guanxi.accounts.models import User
from guanxi.activities.models import DUE_REMINDERS, Task
from guanxi.authz.core import Principal
from guanxi.jobs import schemas as s
from guanxi.kit.jobs import JobQueue, status_of
from guanxi.kit.models import utcnow
from guanxi.kit.outbox import JobOutbox

log = logging.getLogger("guanxi.jobs")
FAILED_SHOWN = 20


async def status(session: AsyncSession, p: Principal, queue: JobQueue) -> s.JobsStatus:
    p.require_admin()
    try:
        q = await asyncio.to_thread(status_of, queue)
        available = True
    except Exception:
        log.exception("job queue status")
        q = {"queued": None, "scheduled": None, "periodic": []}
        available = False
    counts = dict((await session.execute(
        select(JobOutbox.status, func.count()).where(
            JobOutbox.workspace_id == p.workspace_id, JobOutbox.status.in_(("pending", "running", "failed")))
        .group_by(JobOutbox.status))).all())
    due = await session.scalar(select(func.count()).select_from(Task).where(
        DUE_REMINDERS, Task.remind_at <= utcnow(), Task.workspace_id == p.workspace_id)) or 0
    failed = list(await session.scalars(
        select(JobOutbox).where(JobOutbox.workspace_id == p.workspace_id, JobOutbox.status == "failed")
        .order_by(JobOutbox.id.desc()).limit(FAILED_SHOWN)))
    ids = {r.payload.get("user_id") for r in failed if isinstance(r.payload.get("user_id"), int)}
    names = dict((await session.execute(select(User.id, User.name).where(
        User.id.in_(sorted(ids)), User.workspace_id == p.workspace_id))).all()) if ids else {}

    def name_of(uid: object) -> str | None:
        return names.get(uid) if isinstance(uid, int) else None

    return s.JobsStatus(
        backend=queue.backend, queue=queue.name, in_process=queue.settings.jobs_in_process, available=available,
        queued=q["queued"], scheduled=q["scheduled"], periodic=[s.PeriodicJob(**r) for r in q["periodic"]],
        outbox=s.OutboxCounts(**{k: int(v) for k, v in counts.items()}), reminders_due=int(due),
        failed=[s.FailedJob(id=r.id, job=r.job, subject=r.payload.get("subject"),
                            recipient_id=r.payload.get("user_id"), recipient_name=name_of(r.payload.get("user_id")),
                            attempts=r.attempts, last_error=r.last_error, created_at=r.created_at,
                            updated_at=r.updated_at) for r in failed])
