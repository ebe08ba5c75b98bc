"""An import: the uploaded file, its column mapping, its progress and checkpoint, and its failed rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from guanxi.kit.models import ID, Base, JSONType, UTCDateTime, utcnow

ACTIVE = text("status IN ('queued', 'running')")


class Import(Base):
    __tablename__ = "imports"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ID, ForeignKey("workspaces.id", ondelete="CASCADE"))
    created_by: Mapped[int | None] = mapped_column(ID, ForeignKey("users.id", ondelete="SET NULL"))
    type: Mapped[str] = mapped_column(String(20))  # customers contacts interactions tasks
    status: Mapped[str] = mapped_column(String(10), default="uploaded")
    filename: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    file_format: Mapped[str] = mapped_column(String(8))  # csv xlsx vcf
    encoding: Mapped[str | None] = mapped_column(String(20))
    delimiter: Mapped[str | None] = mapped_column(String(1))
    storage_path: Mapped[str] = mapped_column(String(300))  # relative to the imports directory
    headers: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # the same header (names and order) as an earlier import of this type: its confirmed mapping is offered again
    header_hash: Mapped[str] = mapped_column(String(64))
    sample: Mapped[list[list[str]]] = mapped_column(JSONType, default=list)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    mapping_confirmed: Mapped[bool] = mapped_column(default=False)
    mapping_remembered: Mapped[bool] = mapped_column(default=False)
    duplicate_mode: Mapped[str] = mapped_column(String(10), default="skip")
    update_fields: Mapped[str] = mapped_column(String(10), default="fill")  # fill | overwrite (see schemas)
    language: Mapped[str] = mapped_column(String(10), default="zh-CN")  # of the importer: row errors are in it
    total_rows: Mapped[int | None] = mapped_column(Integer)
    # data records (not file lines) committed so far: written in the same transaction as each batch, so a
    # resumed import starts exactly after the last committed record
    checkpoint: Mapped[int] = mapped_column(Integer, default=0)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # a running import renews this after every batch; one whose lease ran out lost its worker and is resumed
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_by: Mapped[str | None] = mapped_column(String(100))  # "host:pid" of the process running it
    attempts: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        Index("ix_imports_ws_id", "workspace_id", "id"),
        Index("ix_imports_ws_creator", "workspace_id", "created_by", "id"),
        Index("ix_imports_ws_type_header", "workspace_id", "type", "header_hash", "id"),
        Index("ix_imports_active", "locked_until", sqlite_where=ACTIVE, postgresql_where=ACTIVE),
    )


class ImportFailure(Base):
    """One row that could not be imported, with its original cells and why (in the importer's language)."""

    __tablename__ = "import_failures"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    import_id: Mapped[int] = mapped_column(ID, ForeignKey("imports.id", ondelete="CASCADE"))
    line: Mapped[int] = mapped_column(Integer)
    cells: Mapped[list[str]] = mapped_column(JSONType, default=list)
    error: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_import_failures_import", "import_id", "line"),)
