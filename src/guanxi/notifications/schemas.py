"""Notification shapes of the API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class Notification(BaseModel):
    id: int
    kind: str
    title: str
    body: str | None
    link: str | None
    record_type: str | None
    record_id: int | None
    actor_id: int | None
    actor_name: str | None = None
    created_at: datetime
    read_at: datetime | None


class UnreadCount(BaseModel):
    count: int
    capped: bool = False  # true when there are more than `count`


class ReadAll(BaseModel):
    updated: int
