"""Time and peak memory of one export job over a whole (bench) workspace, run in this process.

    python bench/export_job.py --database-url sqlite:///bench/var/sqlite/guanxi.db [--list customers] [--format csv]

The job is created through the service (as `POST /exports` does) and carried out by `outbox.run`, exactly as a
worker thread would; the file goes to a temporary data directory and is deleted afterwards unless --keep.
Prints one JSON line: rows, seconds, rows per second, file size, and the process's peak RSS before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from guanxi.accounts.models import User, Workspace
from guanxi.authz.deps import principal_of_user
from guanxi.config import Settings
from guanxi.db import Database
from guanxi.exports import service, tasks  # noqa: F401 - registers the "export" outbox handler
from guanxi.exports.models import ExportJob
from guanxi.exports.schemas import ExportCreate
from guanxi.kit import outbox
from guanxi.kit.jobs import JobContext, JobQueue, writing
from guanxi.kit.outbox import JobOutbox


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run(args: argparse.Namespace) -> dict[str, object]:
    data_dir = Path(tempfile.mkdtemp(prefix="guanxi-export-bench-"))
    settings = Settings(database_url=args.database_url, data_dir=data_dir, secret_key="bench")
    url = settings.resolved_database_url()
    db = Database(url)
    queue = JobQueue(settings, database_url=url)  # not attached: nothing is sent to a queue, we run the row here
    try:
        async with db.session() as s:
            ws = await s.scalar(select(Workspace.id).where(Workspace.slug == args.workspace_slug))
            uid = await s.scalar(select(User.id).where(User.workspace_id == ws, func.lower(User.email) == args.user))
            p = await principal_of_user(s, uid, ip="bench") if uid else None
        if p is None:
            raise SystemExit(f"no user {args.user} in workspace {args.workspace_slug}")
        async with writing(db) as s:
            job = await service.create_job(s, p, ExportCreate(list=args.list, format=args.format, sort=args.sort),
                                           en=False)
            job_id = job.id
        async with db.session() as s:
            row_id = await s.scalar(select(JobOutbox.id).where(JobOutbox.job == "export")
                                    .order_by(JobOutbox.id.desc()).limit(1))
        before = peak_rss_mb()
        started = time.perf_counter()
        status = await outbox.run(JobContext(queue, db, settings), row_id)
        seconds = time.perf_counter() - started
        async with db.session() as s:
            j = await s.get(ExportJob, job_id)
        assert j is not None
        result = {"list": args.list, "format": args.format, "database": db.kind, "outbox_status": status,
                  "job_status": j.status, "error": j.error, "rows": j.processed, "seconds": round(seconds, 1),
                  "rows_per_second": round(j.processed / seconds) if seconds else None,
                  "file_mb": round((j.size or 0) / 1024 / 1024, 1), "peak_rss_mb_before": round(before, 1),
                  "peak_rss_mb": round(peak_rss_mb(), 1)}
        if args.keep and j.storage_path:
            result["file"] = str(settings.exports_dir / j.storage_path)
        return result
    finally:
        await db.dispose()
        queue.close()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--workspace-slug", default="bench")
    ap.add_argument("--user", default="bench-admin@example.com")
    ap.add_argument("--list", default="customers", choices=["customers", "contacts", "interactions", "tasks", "audit"])
    ap.add_argument("--format", default="csv", choices=["csv", "xlsx"])
    ap.add_argument("--sort", default=None)
    ap.add_argument("--keep", action="store_true", help="keep the file and print where it is")
    print(json.dumps(asyncio.run(run(ap.parse_args())), ensure_ascii=False))


if __name__ == "__main__":
    main()
