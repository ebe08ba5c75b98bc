"""Background jobs of exports: writing an export job's file, and deleting files past their keep time.

`POST /exports` writes the job row and its outbox row in one transaction; `outbox.run` hands the row to
`run_export`, which claims the job with one conditional UPDATE (a duplicated message does nothing), rebuilds
its creator's principal, writes the file through the same writer as a direct download, updates the progress
after every page, then in one transaction marks it done, writes the audit entry and notifies the creator.
Any failure marks the job failed with a reason in the creator's language (no retry: they can start it again).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update

from guanxi.authz.deps import principal_of_user
from guanxi.exports import service
from guanxi.exports.models import HAS_FILE, ExportJob
from guanxi.exports.sources import Spec, open_source
from guanxi.kit import outbox
from guanxi.kit.errors import Problem
from guanxi.kit.jobs import JobContext, periodic
from guanxi.kit.models import utcnow
from guanxi.kit.outbox import JobOutbox, Skip
from guanxi.notifications.models import Notification
from guanxi.notifications.tasks import email_copies

log = logging.getLogger("guanxi.jobs")
SWEEP_BATCH = 500


class Gone(Exception):
    """The job was taken over or removed while this worker wrote it."""


def _title(ok: bool, j: ExportJob, rows: int) -> str:
    if j.language == "en":
        return f"Export ready: {j.filename} ({rows:,} rows)" if ok else f"Export failed: {j.filename}"
    return f"导出完成：{j.filename}（{rows:,} 行）" if ok else f"导出失败：{j.filename}"


@outbox.handler("export")
async def run_export(ctx: JobContext, row: JobOutbox) -> str | None:
    export_id = int(row.payload["export_id"])
    now = utcnow()
    stale = now - timedelta(seconds=ctx.settings.jobs_lease_seconds)  # a worker that died while it wrote
    async with ctx.writing() as session:
        res = await session.execute(
            update(ExportJob).where(ExportJob.id == export_id, or_(
                ExportJob.status == "queued", and_(ExportJob.status == "running", ExportJob.updated_at < stale)))
            .values(status="running", started_at=now, updated_at=now, processed=0,
                    attempts=ExportJob.attempts + 1).execution_options(synchronize_session=False))
        if res.rowcount != 1:  # type: ignore[attr-defined]
            raise Skip("the export is not waiting to run")
        j = await session.get(ExportJob, export_id)
    assert j is not None
    root = ctx.settings.exports_dir
    rel = service.storage_path_for(j)
    try:
        async with ctx.db.session() as session:
            p = await principal_of_user(session, j.user_id, ip=j.ip)
            if p is None or p.workspace_id != j.workspace_id:
                raise Problem(403, "export_user_inactive")
            service.check_format(j.format)
            src = await open_source(session, p, Spec.of(j.list, j.spec), en=j.language == "en")
            total, capped = await src.count(session, service.JOB_COUNT_CAP)
            await _progress(ctx, j.id, 0, total=total, capped=capped)

            async def on_page(done: int) -> None:
                await _progress(ctx, j.id, done)

            size = await service.write_file(session, src, j.format, root / rel, on_page)
            async with ctx.writing() as w:
                done_at = utcnow()
                current = await w.scalar(select(ExportJob.processed).where(ExportJob.id == j.id,
                                                                          ExportJob.status == "running"))
                if current is None:
                    raise Gone
                rows = int(current)
                await w.execute(update(ExportJob).where(ExportJob.id == j.id).values(
                    status="done", storage_path=rel, size=size, total=rows, total_capped=False, finished_at=done_at,
                    updated_at=done_at, expires_at=service.expires(done_at, ctx.settings.export_keep_days))
                    .execution_options(synchronize_session=False))
                service.record(w, p, src, j.format, rows, job_id=j.id)
                _notify(w, j, ok=True, rows=rows)
        return None
    except Gone:
        service.remove_file(root, rel)
        raise Skip("the export was taken over by another worker") from None
    except Exception as exc:
        service.remove_file(root, rel)
        if isinstance(exc, Problem):
            code = "export_forbidden" if exc.code in ("forbidden", "not_found") else exc.code
            message = exc.errors[0]["message"] if exc.errors and code == "validation_failed" else None
            message = service.failure(code, j.language) + (f"（{message}）" if message else "")
        else:
            log.exception("export %s failed", j.id)
            code, message = "export_failed", service.failure("export_failed", j.language)
        async with ctx.writing() as w:
            res = await w.execute(update(ExportJob).where(ExportJob.id == j.id, ExportJob.status == "running").values(
                status="failed", error_code=code, error=message, finished_at=utcnow(), updated_at=utcnow())
                .execution_options(synchronize_session=False))
            if res.rowcount == 1:  # type: ignore[attr-defined]
                _notify(w, j, ok=False, rows=0, reason=message)
        return f"{code}: {message}"


async def _progress(ctx: JobContext, export_id: int, done: int, **extra: Any) -> None:
    """Rows written so far (and the count, once known); a job no longer running stops the writer."""
    values: dict[str, Any] = {"processed": done, "updated_at": utcnow()}
    if "total" in extra:
        values.update(total=extra["total"], total_capped=extra["capped"])
    async with ctx.writing() as w:
        res = await w.execute(update(ExportJob).where(ExportJob.id == export_id, ExportJob.status == "running")
                              .values(**values).execution_options(synchronize_session=False))
        if res.rowcount != 1:  # type: ignore[attr-defined]
            raise Gone


def _notify(session: Any, j: ExportJob, *, ok: bool, rows: int, reason: str | None = None) -> None:
    """The creator's bell: the export is ready (the link opens 导出记录 with its download), or why it failed."""
    n = Notification(workspace_id=j.workspace_id, user_id=j.user_id, kind="export_done" if ok else "export_failed",
                     title=_title(ok, j, rows)[:300], body=reason, link=f"/exports?id={j.id}", record_type="export",
                     record_id=j.id, actor_id=None, created_at=utcnow())
    session.add(n)
    email_copies(session, [n])


@periodic("exports.sweep", every=lambda settings: settings.export_sweep_seconds)
async def sweep(ctx: JobContext, startup: bool = False) -> dict[str, int]:
    """Delete the files of exports past their keep time (GUANXI_EXPORT_KEEP_DAYS); the rows stay as history."""
    root = ctx.settings.exports_dir
    removed = 0
    while True:
        async with ctx.db.session() as session:
            due = (await session.execute(
                select(ExportJob.id, ExportJob.storage_path).where(HAS_FILE, ExportJob.expires_at <= utcnow())
                .order_by(ExportJob.expires_at).limit(SWEEP_BATCH))).all()
        if not due:
            break
        async with ctx.writing() as w:
            await w.execute(update(ExportJob).where(ExportJob.id.in_([i for i, _ in due])).values(
                status="expired", storage_path=None, updated_at=utcnow()).execution_options(synchronize_session=False))
        for _, rel in due:  # after the commit: a file is never gone while its row still offers it
            try:
                service.remove_file(root, rel)
            except OSError:
                log.exception("could not delete export file %s", rel)
        removed += len(due)
        if len(due) < SWEEP_BATCH:
            break
    if removed:
        log.info("deleted %s expired export file(s)", removed)
    return {"expired": removed}
