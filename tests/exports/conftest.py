"""Export tests run the real job consumer on the app's own queue (a SQLite Huey in the test's directory)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from guanxi.app import create_app
from guanxi.audit.models import AuditEntry
from guanxi.config import Settings
from guanxi.db import Database
from guanxi.notifications.models import Notification

BOM = "\ufeff".encode()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(secret_key="test-secret", data_dir=tmp_path, max_body_mb=1, jobs_queue=f"t{uuid.uuid4().hex[:12]}",
                    jobs_retry_seconds=0.2, jobs_lease_seconds=30)


@pytest.fixture
async def app(db: Database, settings: Settings):  # type: ignore[no-untyped-def]
    a = create_app(settings, database=db)
    yield a
    a.state.jobs.flush()
    a.state.jobs.close()


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith(BOM)
    return list(csv.reader(io.StringIO(body[len(BOM):].decode("utf-8"), newline="")))


async def exports_audited(db: Database, workspace_id: int) -> list[AuditEntry]:
    async with db.session() as s:
        return list(await s.scalars(select(AuditEntry).where(
            AuditEntry.workspace_id == workspace_id, AuditEntry.action == "export").order_by(AuditEntry.id)))


def changes(entry: AuditEntry) -> dict[str, object]:
    return {c["field"]: c.get("new") for c in entry.changes["items"]}


async def notifications_of(db: Database, user_id: int) -> list[Notification]:
    async with db.session() as s:
        return list(await s.scalars(select(Notification).where(Notification.user_id == user_id)
                                    .order_by(Notification.id)))
