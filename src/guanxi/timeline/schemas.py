"""Timeline shapes of the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class TimelineEntry(BaseModel):
    id: int  # the domain event's id: entries are newest first by it
    at: datetime
    kind: str  # interaction, task_created, task_done, note, field_change, stage_change, ... or a record type
    event: str  # the domain event kind: "customer.updated"
    actor_id: int | None
    actor_name: str | None
    title: str
    summary: str | None = None
    link: str | None = None  # a UI path
    record_type: str
    record_id: int | None
    restricted: bool = False  # the record was deleted or is out of the caller's scope: no data is shown
    payload: dict[str, Any] = {}


class TimelinePage(BaseModel):
    items: list[TimelineEntry]
    next_cursor: str | None = None


class TimelineKind(BaseModel):
    name: str
    label: str
    groups: list[str]
