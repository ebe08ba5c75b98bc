"""Business rules of exports: direct downloads, export jobs and their files. Never commits.

Every export goes through one writer (`kit.export.encode`) over one source (`exports.sources`): a direct
download streams it, a job and `guanxi export` write it to a file. A job runs with its creator's principal as
it is when the job runs: a user disabled, or whose role lost the export permission, meanwhile gets a failed
job with the reason, not a file.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from guanxi.audit import service as audit
from guanxi.authz.core import Principal
from guanxi.exports import schemas as s
from guanxi.exports.models import ExportJob
from guanxi.exports.sources import Source, Spec, open_source
from guanxi.kit import outbox
from guanxi.kit.errors import FieldError, Problem, not_found, validation_error
from guanxi.kit.export import encode
from guanxi.kit.i18n import t
from guanxi.kit.models import utcnow

DIRECT_MAX_ROWS = 100_000  # a direct download; anything bigger is a job (docs/api-contract.md)
JOB_COUNT_CAP = 10_000_000  # a job counts this far for its progress bar; it writes every row regardless
FORMATS = ("csv", "xlsx")
MEDIA = {"csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
RECENT = 20


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise validation_error([FieldError("format", "invalid_option")])


def file_name(src: Source, fmt: str, when: datetime) -> str:
    return f"{src.sheet}_{when.astimezone(src.tz).date().isoformat()}.{fmt}"


def export_label(src: Source) -> str:
    return f"{src.title[1]} export" if src.en else f"{src.title[0]}导出"


def record(session: AsyncSession, p: Principal, src: Source, fmt: str, rows: int, *, job_id: int | None = None,
           via: str | None = None) -> None:
    """The audit entry of one export: which list, format, filters and how many rows left."""
    filters: dict[str, Any] = {"q": src.spec.q, "filter": src.spec.filter, "sort": src.spec.sort}
    if src.spec.params:
        filters["params"] = src.spec.params
    if src.spec.columns:
        filters["columns"] = src.spec.columns
    changes: list[dict[str, Any]] = [{"field": "list", "new": src.key}, {"field": "format", "new": fmt},
                                     {"field": "filters", "new": filters}, {"field": "rows", "new": rows}]
    if job_id is not None:
        changes.append({"field": "export_job", "new": job_id})
    if via:
        changes.append({"field": "via", "new": via})
    audit.record(session, workspace_id=p.workspace_id, action="export", record_type=src.record_type, record_id=None,
                 label=export_label(src), changes=changes, user_id=p.user_id, user_name=p.name, ip=p.ip)


def spec_of(body: s.ExportCreate) -> Spec:
    return Spec(list=body.list, q=body.q, filter=list(body.filter), sort=body.sort, columns=body.columns,
                params=dict(body.params))


# ------------------------------------------------------------------ direct downloads


async def prepare_direct(session: AsyncSession, p: Principal, spec: Spec, fmt: str, *, en: bool) -> tuple[Source, int]:
    """Permission, format, filters and size, all checked before the first byte is sent."""
    check_format(fmt)
    src = await open_source(session, p, spec, en=en)
    total, capped = await src.count(session, DIRECT_MAX_ROWS)
    if capped:
        raise Problem(422, "export_too_large", errors=[FieldError("filter", "export_too_large")],
                      limit=DIRECT_MAX_ROWS)
    return src, total


def stream(session: AsyncSession, src: Source, fmt: str,
           on_page: Callable[[int], Awaitable[None]] | None = None) -> AsyncIterator[bytes]:
    return encode(fmt, src.sheet, src.header(), src.pages(session), on_page)


# ------------------------------------------------------------------ jobs


def job_out(j: ExportJob) -> s.ExportJob:
    return s.ExportJob(
        id=j.id, list=j.list, format=j.format, status=j.status, processed=j.processed,  # type: ignore[arg-type]
        total=j.total, total_capped=j.total_capped, filename=j.filename, size=j.size, error_code=j.error_code,
        error=j.error, created_at=j.created_at, started_at=j.started_at, finished_at=j.finished_at,
        expires_at=j.expires_at, download_url=f"/api/v1/exports/{j.id}/download" if j.status == "done" else None)


async def create_job(session: AsyncSession, p: Principal, body: s.ExportCreate, *, en: bool) -> ExportJob:
    """Check what can be checked now (permission, filters, columns), then queue the job after commit."""
    if p.api_scopes is not None and "write" not in p.api_scopes:
        raise Problem(403, "api_key_read_only")
    spec = spec_of(body)
    src = await open_source(session, p, spec, en=en)
    total, capped = await src.count(session, 10_000)  # a first estimate; the job counts further
    now = utcnow()
    j = ExportJob(workspace_id=p.workspace_id, user_id=p.user_id, list=spec.list, format=body.format,
                  spec=spec.plain(), language="en" if en else "zh-CN", ip=p.ip, status="queued", processed=0,
                  total=total, total_capped=capped, filename=file_name(src, body.format, now), attempts=0,
                  created_at=now, updated_at=now)
    session.add(j)
    await session.flush()
    outbox.add(session, "export", {"export_id": j.id}, workspace_id=p.workspace_id)
    return j


async def list_mine(session: AsyncSession, p: Principal, limit: int = RECENT) -> list[ExportJob]:
    return list(await session.scalars(
        select(ExportJob).where(ExportJob.user_id == p.user_id, ExportJob.workspace_id == p.workspace_id)
        .order_by(ExportJob.id.desc()).limit(limit)))


async def get_mine(session: AsyncSession, p: Principal, export_id: int) -> ExportJob:
    """Only its creator sees an export; anyone else gets the same 404 as for an id that does not exist."""
    j = await session.scalar(select(ExportJob).where(
        ExportJob.id == export_id, ExportJob.user_id == p.user_id, ExportJob.workspace_id == p.workspace_id))
    if j is None:
        raise not_found()
    return j


MODULE_OF = {"customers": "customers", "contacts": "customers", "interactions": "activities", "tasks": "tasks",
             "audit": "audit"}


async def download_path(session: AsyncSession, p: Principal, export_id: int, root: Path) -> tuple[ExportJob, Path]:
    j = await get_mine(session, p, export_id)
    p.require(MODULE_OF[j.list], "export")  # a role that lost the right since cannot fetch the file either
    if j.status == "expired":
        raise Problem(410, "export_expired")
    if j.status != "done" or not j.storage_path:
        raise Problem(409, "export_not_ready")
    path = root / j.storage_path
    if not path.is_file():
        raise Problem(410, "export_expired")
    return j, path


def storage_path_for(j: ExportJob) -> str:
    return f"{j.workspace_id}/{uuid.uuid4().hex}.{j.format}"


def remove_file(root: Path, rel: str | None) -> None:
    if not rel:
        return
    path = (root / rel).resolve()
    if root.resolve() in path.parents and path.is_file():
        path.unlink()


async def write_file(session: AsyncSession, src: Source, fmt: str, dest: Path,
                     on_page: Callable[[int], Awaitable[None]] | None = None) -> int:
    """Write the whole export to `dest` (through a .part file, so a half-written file is never served)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        with part.open("wb") as f:
            async for chunk in stream(session, src, fmt, on_page):
                f.write(chunk)
        os.replace(part, dest)
    finally:
        if part.exists():
            part.unlink()
    return dest.stat().st_size


def failure(code: str, language: str) -> str:
    return t(code, language)[:1000]


def expires(now: datetime, keep_days: float) -> datetime:
    return now + timedelta(days=keep_days)
