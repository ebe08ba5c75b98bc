"""Shapes of the job status API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel


class PeriodicJob(BaseModel):
    name: str
    every_seconds: float
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None
    last_error: str | None = None
    last_result: dict[str, Any] | None = None


class OutboxCounts(BaseModel):
    pending: int = 0  # waiting for their first try or for a retry
    running: int = 0
    failed: int = 0  # gave up after GUANXI_JOBS_MAX_ATTEMPTS


class FailedJob(BaseModel):
    id: int
    job: str
    subject: str | None
    recipient_id: int | None
    recipient_name: str | None
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class JobsStatus(BaseModel):
    backend: Literal["sqlite", "redis"]
    queue: str
    in_process: bool
    available: bool  # the queue's storage answered
    queued: int | None  # messages waiting for a worker
    scheduled: int | None  # messages waiting for their time (retries)
    periodic: list[PeriodicJob]
    # the caller's workspace only
    outbox: OutboxCounts
    reminders_due: int  # reminders whose time has come that no sweep has claimed yet
    failed: list[FailedJob]  # the latest, newest first
