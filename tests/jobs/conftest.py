"""Real components for job tests: an SMTP server (aiosmtpd) on 127.0.0.1, queues in the test's own files."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from guanxi.config import Settings
from guanxi.db import Database
from guanxi.kit.jobs import GuanxiConsumer, JobContext, JobQueue
from guanxi.kit.models import utcnow
from guanxi.kit.outbox import JobOutbox
from guanxi.notifications.models import Notification
from tests.fixtures.factories import World, make_task


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """An SMTP server that keeps what it receives; it can be stopped and started again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        self.received.append((list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 OK"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpt, m in self.received if address in rcpt]


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox()
    box.start()
    yield box
    box.stop()


def job_settings(tmp_path: Path, database_url: str, port: int, **kw: Any) -> Settings:
    values: dict[str, Any] = {
        "secret_key": "test-secret", "data_dir": tmp_path, "database_url": database_url,
        "jobs_queue": f"t{uuid.uuid4().hex[:12]}", "smtp_host": "127.0.0.1", "smtp_port": port,
        "smtp_from": "星河 CRM <crm@xinghe-demo.cn>", "smtp_timeout": 5, "reminder_interval_seconds": 1,
        "jobs_retry_seconds": 0.2, "jobs_max_attempts": 5, "jobs_lease_seconds": 30,
        "public_url": "https://crm.example.cn", **kw}
    return Settings(**values)


@pytest.fixture
def settings_for(tmp_path: Path, database_url: str, inbox: Inbox) -> Callable[..., Settings]:
    return lambda **kw: job_settings(tmp_path, database_url, inbox.port, **kw)


@pytest.fixture
async def queue(settings_for: Callable[..., Settings], db: Database) -> AsyncIterator[JobQueue]:
    q = JobQueue(settings_for(), database_url=db.url)
    q.attach(db)
    yield q
    q.flush()
    q.close()


def context(queue: JobQueue, db: Database) -> JobContext:
    """What a worker thread gives a job, here on the test's own loop and database."""
    queue.attach(db)
    return JobContext(queue, db, queue.settings)


@contextmanager
def consuming(queue: JobQueue, workers: int = 2) -> Iterator[GuanxiConsumer]:
    c = queue.consumer(workers, embedded=True)
    c.start_embedded()
    try:
        yield c
    finally:
        c.stop_embedded(timeout=10)


async def until(check: Callable[[], Awaitable[bool] | bool], timeout: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if isinstance(got, Awaitable):
            got = await got
        if got:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)


async def drained(*queues: JobQueue) -> None:
    """Wait until no message waits or runs (scheduled retries aside)."""

    def idle() -> bool:
        return all(q.huey.pending_count() == 0 and not q.huey._tasks_in_flight for q in queues)

    await until(idle, what="an idle queue")
    await asyncio.sleep(0.1)
    await until(idle, what="an idle queue")


async def due_task(db: Database, w: World, who: str = "sales", minutes_ago: int = 1, **kw: Any) -> Any:
    """A task whose reminder time has come."""
    due = kw.pop("due_at", utcnow() + timedelta(hours=1))
    return await make_task(db, w, who, due_at=due, remind_before_minutes=kw.pop("remind_before_minutes", 61),
                           remind_at=kw.pop("remind_at", utcnow() - timedelta(minutes=minutes_ago)), **kw)


async def reminders_of(db: Database, task_id: int) -> list[Notification]:
    async with db.session() as s:
        return list(await s.scalars(select(Notification).where(
            Notification.kind == "reminder", Notification.record_type == "task", Notification.record_id == task_id)))


async def outbox_rows(db: Database, workspace_id: int) -> list[JobOutbox]:
    async with db.session() as s:
        return list(await s.scalars(select(JobOutbox).where(JobOutbox.workspace_id == workspace_id)
                                    .order_by(JobOutbox.id)))
