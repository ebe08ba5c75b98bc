"""Import shapes of the API (see docs/api-contract.md, "Imports")."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from guanxi.kit.schemas import WriteModel

ImportType = Literal["customers", "contacts", "interactions", "tasks"]
ImportStatus = Literal["uploaded", "queued", "running", "done", "failed", "cancelled"]
DuplicateMode = Literal["skip", "update", "create"]
# what "update" does to an existing record: 仅补充空白字段 (fill) or 用文件覆盖 (overwrite, the file's non-empty values)
UpdateFields = Literal["fill", "overwrite"]


class ImportField(BaseModel):
    key: str
    label: str
    required: bool
    type: str


class ImportError(BaseModel):
    code: str
    message: str


class ImportOut(BaseModel):
    id: int
    type: str
    status: ImportStatus
    filename: str
    size_bytes: int
    file_format: Literal["csv", "xlsx", "vcf"]
    encoding: str | None
    headers: list[str]
    sample: list[list[str]]
    mapping: dict[str, str | None]
    duplicate_mode: DuplicateMode
    update_fields: UpdateFields = "fill"
    total_rows: int | None
    processed: int
    created: int
    updated: int
    skipped: int
    failed: int
    error: ImportError | None
    created_by_name: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    has_failed_rows: bool
    # whether the mapping came from an earlier import of the same header (not guessed)
    mapping_remembered: bool = False


class ImportList(BaseModel):
    items: list[ImportOut]


class MappingIn(WriteModel):
    mapping: dict[str, str | None] = Field(max_length=200)
    duplicate_mode: DuplicateMode = "skip"
    # with duplicate_mode "update": fill only the existing record's empty fields (default), or overwrite them with
    # the file's non-empty values; an empty cell never clears anything, phones, emails and tags are always joined
    update_fields: UpdateFields = "fill"


class PreviewError(BaseModel):
    field: str
    code: str
    message: str


class PreviewDuplicate(BaseModel):
    reason: Literal["phone", "email", "name", "in_file"]
    existing_id: int | None
    existing_name: str | None
    line: int | None


class PreviewRow(BaseModel):
    line: int
    values: dict[str, str | None]
    errors: list[PreviewError]
    duplicate: PreviewDuplicate | None
    action: Literal["create", "update", "skip", "fail"]


class Preview(BaseModel):
    rows: list[PreviewRow]
