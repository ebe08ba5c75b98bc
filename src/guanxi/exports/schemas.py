"""Export shapes of the API."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ListKey = Literal["customers", "contacts", "interactions", "tasks", "audit"]
Format = Literal["csv", "xlsx"]
Status = Literal["queued", "running", "done", "failed", "expired"]


class ExportCreate(BaseModel):
    """Which list, with the same search, filters and sort as its list endpoint."""

    model_config = ConfigDict(extra="forbid")
    list: ListKey
    format: Format = "csv"
    q: str | None = Field(default=None, max_length=100, description="customers: the list's search")
    filter: builtins.list[str] = Field(default_factory=builtins.list, max_length=50,
                                       description="customers: field:op:value filters")
    sort: str | None = Field(default=None, max_length=60)
    columns: builtins.list[str] | None = Field(default=None, max_length=200, description="column keys; all when empty")
    params: dict[str, Any] = Field(
        default_factory=dict, description="the list endpoint's own query parameters: customer_id (contacts, "
        "interactions, tasks), user_id, channel, occurred_from, occurred_to (interactions), assignee_id, status, "
        "due_from, due_to, bucket, mine (tasks), record_type, action, user_id (audit)")


class ExportJob(BaseModel):
    id: int
    list: ListKey
    format: Format
    status: Status
    processed: int
    total: int | None  # rows to write (capped when total_capped)
    total_capped: bool
    filename: str | None
    size: int | None
    error_code: str | None
    error: str | None  # in the creator's language
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None
    download_url: str | None  # set once done


class ExportColumn(BaseModel):
    key: str
    label: str


class ExportLimits(BaseModel):
    direct_max_rows: int  # a direct download refuses bigger lists (export_too_large)
    job_threshold: int  # the UI starts a job instead of a direct download above this many rows
    keep_days: int  # an export job's file is deleted after this many days
