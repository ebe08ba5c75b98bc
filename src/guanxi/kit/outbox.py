"""The job outbox: work for the queue, written in the same transaction as the change that calls for it.

`add()` puts a row in the caller's unit of work and, once it commits, sends the queue a message naming the row
(a rollback sends nothing). `outbox.run` claims the row with one conditional UPDATE (so a duplicated message or
a second consumer does nothing), runs its handler outside any transaction, and records the outcome: done,
skipped, retried later with a doubling delay (attempts and last_error stay visible), or failed after
GUANXI_JOBS_MAX_ATTEMPTS. `outbox.sweep` sends messages again for rows whose message was lost: a crash between
commit and send, a queue that lost its data, or a worker that died while it held the row (its lease ran out).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, and_, event, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from guanxi.kit.jobs import JobContext, job, jobs_of, periodic
from guanxi.kit.models import ID, Base, UTCDateTime, utcnow

log = logging.getLogger("guanxi.jobs")

OPEN = text("status IN ('pending', 'running')")
FAILED = text("status = 'failed'")
REDISPATCH_AFTER = timedelta(seconds=60)  # a pending row this late lost its message
SWEEP_EVERY = 60.0
MAX_DELAY = 3600.0
BATCH = 500


class JobOutbox(Base):
    __tablename__ = "job_outbox"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int | None] = mapped_column(ID, ForeignKey("workspaces.id", ondelete="CASCADE"))
    job: Mapped[str] = mapped_column(String(40))  # the handler: "email"
    # one row per piece of work that must happen once ("reminder:<task>:<remind_at>"); NULL when any number may
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending running done skipped failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_job_outbox_open", "next_attempt_at", sqlite_where=OPEN, postgresql_where=OPEN),
        Index("ix_job_outbox_ws_status", "workspace_id", "status", "id"),
    )


Handler = Callable[[JobContext, JobOutbox], Awaitable[str | None]]
HANDLERS: dict[str, Handler] = {}


class Skip(Exception):
    """Raised by a handler when the work no longer applies (the recipient left, has no address ...)."""


def handler(name: str) -> Callable[[Handler], Handler]:
    """Register the function that carries out outbox rows of one kind; it raises to have the row retried."""

    def register(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn

    return register


def add(session: AsyncSession, job_name: str, payload: dict[str, Any], *, workspace_id: int | None,
        key: str | None = None) -> JobOutbox:
    """An outbox row in the caller's transaction; its message goes to the queue after commit."""
    now = utcnow()
    row = JobOutbox(workspace_id=workspace_id, job=job_name, key=key, payload=payload, status="pending", attempts=0,
                    next_attempt_at=now, created_at=now, updated_at=now)
    session.add(row)
    rows: list[JobOutbox] | None = session.info.get("outbox_rows")
    if rows is None:
        rows = session.info["outbox_rows"] = []
        _listen(session, rows)
    rows.append(row)
    return row


def _listen(session: AsyncSession, rows: list[JobOutbox]) -> None:
    """After each commit of this session: send the messages of its new rows. A rollback forgets them."""

    def on_commit(_: Any) -> None:
        pending, rows[:] = list(rows), []
        queue = jobs_of(session)
        if queue is not None and pending:
            try:
                queue.dispatch("outbox.run", [(r.id,) for r in pending])
            except Exception:
                log.exception("could not send outbox messages; the sweep will")

    def on_rollback(_: Any) -> None:
        rows.clear()

    event.listen(session.sync_session, "after_commit", on_commit)
    event.listen(session.sync_session, "after_rollback", on_rollback)


def retry_delay(settings: Any, attempts: int) -> float:
    return float(min(MAX_DELAY, settings.jobs_retry_seconds * 2 ** max(0, attempts - 1)))


@job("outbox.run")
async def run(ctx: JobContext, row_id: int) -> str | None:
    """Claim one row, carry it out, record what happened. Returns the row's new status (None: not ours)."""
    now = utcnow()
    due = or_(and_(JobOutbox.status == "pending", JobOutbox.next_attempt_at <= now),
              and_(JobOutbox.status == "running", JobOutbox.locked_until < now))  # its worker died
    async with ctx.writing() as session:
        res = await session.execute(
            update(JobOutbox).where(JobOutbox.id == row_id, due)
            .values(status="running", attempts=JobOutbox.attempts + 1, updated_at=now,
                    locked_until=now + timedelta(seconds=ctx.settings.jobs_lease_seconds))
            .execution_options(synchronize_session=False))
        if res.rowcount != 1:  # type: ignore[attr-defined]
            return None  # done already, claimed by another worker, or not due yet
        row = await session.get(JobOutbox, row_id)
    assert row is not None
    fn = HANDLERS.get(row.job)
    status, error, delay = "done", None, None
    try:
        if fn is None:
            raise LookupError(f"no handler for {row.job!r}")
        note = await fn(ctx, row)
        error = note
    except Skip as exc:
        status, error = "skipped", str(exc)[:1000]
    except Exception as exc:  # noqa: BLE001 - any failure is retried, and shown
        error = f"{type(exc).__name__}: {exc}"[:1000]
        if row.attempts >= ctx.settings.jobs_max_attempts:
            status = "failed"
            log.warning("outbox %s (%s) failed after %s attempts: %s", row.id, row.job, row.attempts, error)
        else:
            status, delay = "pending", retry_delay(ctx.settings, row.attempts)
            log.info("outbox %s (%s) attempt %s failed, again in %.0fs: %s", row.id, row.job, row.attempts,
                     delay, error)
    done = utcnow()
    values: dict[str, Any] = {"status": status, "last_error": error, "locked_until": None, "updated_at": done}
    if delay is not None:
        values["next_attempt_at"] = done + timedelta(seconds=delay)
    else:
        values["done_at"] = done
    async with ctx.writing() as session:
        # only while the claim is still ours: a lease that ran out may have been taken over
        await session.execute(update(JobOutbox).where(JobOutbox.id == row.id, JobOutbox.status == "running",
                                                      JobOutbox.attempts == row.attempts)
                              .values(**values).execution_options(synchronize_session=False))
    if delay is not None:
        try:
            ctx.queue.enqueue("outbox.run", row.id, delay=delay)
        except Exception:
            log.exception("could not schedule the retry of outbox %s; the sweep will", row.id)
    return status


@periodic("outbox.sweep", every=lambda settings: SWEEP_EVERY)
async def sweep(ctx: JobContext, startup: bool = False) -> dict[str, int]:
    """Send again the messages of rows that are due but were not taken: at start-up every due row."""
    now = utcnow()
    late = now - (timedelta(0) if startup else REDISPATCH_AFTER)
    async with ctx.db.session() as session:
        ids = list(await session.scalars(
            select(JobOutbox.id).where(OPEN, or_(
                and_(JobOutbox.status == "pending", JobOutbox.next_attempt_at <= late),
                and_(JobOutbox.status == "running", JobOutbox.locked_until < now)))
            .order_by(JobOutbox.next_attempt_at).limit(BATCH)))
    for row_id in ids:
        ctx.queue.enqueue("outbox.run", row_id)
    if ids:
        log.info("outbox sweep sent %s message(s) again", len(ids))
    return {"redispatched": len(ids)}
