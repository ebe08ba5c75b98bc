"""An export that runs as a background job: what was asked, how far it got, and where its file is."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from guanxi.kit.models import ID, Base, UTCDateTime, utcnow

HAS_FILE = text("storage_path IS NOT NULL")


class ExportJob(Base):
    __tablename__ = "export_jobs"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ID, ForeignKey("workspaces.id", ondelete="CASCADE"))
    # only its creator may see and download it; the job runs with their rights as they are when it runs
    user_id: Mapped[int] = mapped_column(ID, ForeignKey("users.id", ondelete="CASCADE"))
    list: Mapped[str] = mapped_column(String(20))  # customers contacts interactions tasks audit
    format: Mapped[str] = mapped_column(String(10))
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)  # q, filter, sort, columns, params
    language: Mapped[str] = mapped_column(String(10), default="zh-CN")
    ip: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), default="queued")  # queued running done failed expired
    processed: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int | None] = mapped_column(BigInteger)
    total_capped: Mapped[bool] = mapped_column(default=False)
    filename: Mapped[str | None] = mapped_column(String(200))
    storage_path: Mapped[str | None] = mapped_column(String(300))  # relative to the exports directory
    size: Mapped[int | None] = mapped_column(BigInteger)
    error_code: Mapped[str | None] = mapped_column(String(60))
    error: Mapped[str | None] = mapped_column(String(1000))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_export_jobs_user", "user_id", "id"),
        # what the expiry sweep walks: only exports that still have a file
        Index("ix_export_jobs_expiry", "expires_at", sqlite_where=HAS_FILE, postgresql_where=HAS_FILE),
    )
