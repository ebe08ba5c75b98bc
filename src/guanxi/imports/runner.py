"""Running an import: batches committed together with their checkpoint, so a crash loses nothing and repeats nothing.

A run first claims the import with one conditional UPDATE (queued, or running with a lease that ran out — its
process died) and gets a new attempt number. Each batch then:

1. reads and cleans the next BATCH records (no lock held: this is most of the CPU work; for large files a worker
   process does it, batches ahead, see `pipeline.py`),
2. takes the writer turn (SQLite) and, in one transaction, looks up duplicates, writes the records, their
   identities, search documents, audit rows, domain events and failed rows, and moves the import's checkpoint
   and counters forward — on the condition that the import is still running under this attempt,
3. commits, and lets go of the writer turn, so the app's own requests get their turn between batches.

If the condition fails (cancelled, or taken over by another process after a lease ran out) the batch is rolled
back and the run stops. A process killed mid-batch leaves the last committed checkpoint: the next run skips
exactly the records counted there. `locked_by` names the host and pid of the running process, so a resume on the
same machine can tell a dead holder from a live one without waiting for the lease to run out.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from itertools import islice
from typing import Any

from sqlalchemy import or_, select, text, update

from guanxi.authz.records import principal_for
from guanxi.config import Settings
from guanxi.db import Database
from guanxi.imports import engine, files, pipeline
from guanxi.imports.models import Import
from guanxi.imports.service import codec_of, file_path, message
from guanxi.kit.jobs import writer_turn
from guanxi.kit.models import utcnow

log = logging.getLogger("guanxi.imports")

LEASE = timedelta(seconds=60)
IMPORT_CACHE_KB = 65536  # SQLite page cache of the importing connection while it writes a batch
NORMAL_CACHE_KB = 4096  # what db._sqlite_pragmas gives every connection


def holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def holder_dead(locked_by: str | None) -> bool:
    """True when the holder is a process of this machine that no longer runs."""
    if not locked_by or ":" not in locked_by:
        return False
    host, _, pid = locked_by.rpartition(":")
    if host != socket.gethostname()[:100 - len(pid) - 1] or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Stopped(Exception):
    """The import was cancelled or taken over: this run's last batch was rolled back."""


@dataclass
class Progress:
    processed: int
    total: int | None
    created: int
    updated: int
    skipped: int
    failed: int


async def claim(db: Database, import_id: int, *, take_over_dead: bool = True) -> int | None:
    """This run's attempt number, or None when the import is not ours to run (done, running elsewhere ...)."""
    now = utcnow()
    async with writer_turn(db), db.session() as session:
        imp = await session.get(Import, import_id)
        if imp is None:
            return None
        if take_over_dead and imp.status == "running" and holder_dead(imp.locked_by):
            imp.locked_until = now - timedelta(seconds=1)
            await session.flush()
        res = await session.execute(
            update(Import).where(Import.id == import_id, or_(
                Import.status == "queued",
                (Import.status == "running") & ((Import.locked_until.is_(None)) | (Import.locked_until < now))))
            .values(status="running", attempts=Import.attempts + 1, locked_until=now + LEASE, locked_by=holder())
            .execution_options(synchronize_session=False))
        if res.rowcount != 1:  # type: ignore[attr-defined]
            return None
        await session.execute(update(Import).where(Import.id == import_id, Import.started_at.is_(None))
                              .values(started_at=now).execution_options(synchronize_session=False))
        return int(await session.scalar(select(Import.attempts).where(Import.id == import_id)) or 0)


async def run_import(db: Database, settings: Settings, import_id: int, *,
                     on_progress: Callable[[Progress], None] | None = None, batch: int = engine.BATCH,
                     stop_after: int | None = None, timings: dict[str, float] | None = None) -> str | None:
    """Run (or resume) an import to its end; returns its final status, None when another process has it.

    `stop_after` (tests) stops after that many batches, as a crash would; `timings` (benchmark) collects the
    seconds spent reading and cleaning, waiting for the writer turn, writing, and committing.
    """
    spent = timings if timings is not None else {}
    for k in ("read_clean", "wait", "write", "commit", "read_clean_cpu", "write_cpu", "commit_cpu"):
        spent.setdefault(k, 0.0)
    attempt = await claim(db, import_id)
    if attempt is None:
        return None
    async with db.session() as session:
        imp = await session.get(Import, import_id)
        assert imp is not None
        p = await principal_for(session, imp.workspace_id, imp.created_by) if imp.created_by else None
        if p is None:
            await _finish(db, import_id, attempt, "failed", message("forbidden", imp.language))
            return "failed"
        ctx = await engine.load_context(session, p, imp.type, imp.language, imp.duplicate_mode, imp.headers,
                                        imp.mapping, imp.update_fields)
        imp_type = imp.type
        snapshot = {c: getattr(imp, c) for c in ("file_format", "delimiter", "headers", "checkpoint", "total_rows",
                                                  "processed", "created", "updated", "skipped", "failed", "language")}
        path, codec = file_path(settings, imp), codec_of(imp)
    if batch == engine.BATCH and snapshot["total_rows"]:  # about 20 progress steps for a small file
        batch = min(batch, max(500, snapshot["total_rows"] // 20))
    counts = {k: snapshot[k] for k in ("processed", "created", "updated", "skipped", "failed")}
    checkpoint = snapshot["checkpoint"]
    source = (path, snapshot["file_format"], codec, snapshot["delimiter"], len(snapshot["headers"]))
    worker: pipeline.Worker | None = None
    try:
        if (snapshot["total_rows"] or 0) - checkpoint >= settings.import_worker_min_rows:
            worker = pipeline.Worker(ctx, source, checkpoint, batch)
        source_batches = worker.batches() if worker is not None else _batches(ctx, source, checkpoint, batch)
        batches = 0
        while True:
            t_read, c_read = time.perf_counter(), time.thread_time()
            got = await anext(source_batches, None)
            if got is None:
                break
            n_read, rows = got
            t0, c0 = time.perf_counter(), time.thread_time()
            spent["read_clean"] += t0 - t_read
            spent["read_clean_cpu"] += c0 - c_read
            async with writer_turn(db), db.session() as session:
                t1, c1 = time.perf_counter(), time.thread_time()
                spent["wait"] += t1 - t0
                if db.kind == "sqlite":  # a batch touches many index pages: more cache for this connection
                    await session.execute(text(f"PRAGMA cache_size=-{IMPORT_CACHE_KB}"))
                await engine.resolve(session, ctx, rows)
                c = await engine.write(session, ctx, rows, import_id)
                counts["processed"] += len(rows)
                counts["created"] += c.created
                counts["updated"] += c.updated
                counts["skipped"] += c.skipped
                counts["failed"] += c.failed
                res = await session.execute(
                    update(Import).where(Import.id == import_id, Import.status == "running",
                                         Import.attempts == attempt)
                    .values(checkpoint=checkpoint + n_read, locked_until=utcnow() + LEASE, **counts)
                    .execution_options(synchronize_session=False))
                if res.rowcount != 1:  # type: ignore[attr-defined]
                    raise Stopped
                if db.kind == "sqlite":
                    await session.execute(text(f"PRAGMA cache_size=-{NORMAL_CACHE_KB}"))
                t2, c2 = time.perf_counter(), time.thread_time()
                spent["write"] += t2 - t1
                spent["write_cpu"] += c2 - c1
            spent["commit"] += time.perf_counter() - t2
            spent["commit_cpu"] += time.thread_time() - c2
            checkpoint += n_read
            if on_progress is not None:
                on_progress(Progress(total=snapshot["total_rows"], **counts))
            batches += 1
            if db.kind == "postgresql" and imp_type == "customers" and batches & (batches - 1) == 0:
                await _analyze(db)
            if stop_after is not None and batches >= stop_after:
                return "running"
    except Stopped:
        log.info("import %s stopped: cancelled or taken over", import_id)
        return None
    except Exception:
        log.exception("import %s failed", import_id)
        await _finish(db, import_id, attempt, "failed", message("import_failed", snapshot["language"]))
        return "failed"
    finally:
        if worker is not None:
            worker.close()
            spent["worker_cpu"] = spent.get("worker_cpu", 0.0) + worker.cpu
    await _finish(db, import_id, attempt, "done", None)
    return "done"


async def _analyze(db: Database) -> None:
    """Fresh planner statistics after the 1st, 2nd, 4th, 8th … batch (PostgreSQL).

    A large import into a new or small workspace grows `customer_identities` many times over before autovacuum
    looks at it; planned with the old numbers, the duplicate lookup (`value = ANY(5,000 values)`) filtered the
    whole identity range instead of walking the index: 15 s instead of 0.2 s per lookup at 300,000 identities."""
    async with db.session() as session:
        await session.execute(text("ANALYZE customer_identities"))
        await session.execute(text("ANALYZE customers"))


async def _batches(ctx: engine.Ctx, source: tuple[Any, ...], skip: int,
                   batch: int) -> AsyncIterator[tuple[int, list[engine.Row]]]:
    """(records read, cleaned rows) per batch, in this process (small files)."""
    path, file_format, codec, delimiter, n_headers = source
    records = files.records(path, file_format, codec, delimiter, n_headers, skip=skip)
    while True:
        chunk = list(islice(records, batch))
        if not chunk:
            return
        yield len(chunk), pipeline.clean_batch(ctx, chunk)
        if len(chunk) < batch:
            return


async def _finish(db: Database, import_id: int, attempt: int, status: str, error: dict[str, Any] | None) -> None:
    async with writer_turn(db), db.session() as session:
        await session.execute(update(Import).where(Import.id == import_id, Import.status == "running",
                                                   Import.attempts == attempt)
                              .values(status=status, error=error, finished_at=utcnow(), locked_until=None)
                              .execution_options(synchronize_session=False))


async def due_imports(db: Database, *, startup: bool = False) -> list[int]:
    """Imports waiting for a run: queued ones, and running ones whose process died or whose lease ran out."""
    now = utcnow()
    async with db.session() as session:
        rows = (await session.execute(
            select(Import.id, Import.status, Import.locked_until, Import.locked_by)
            .where(Import.status.in_(("queued", "running"))).order_by(Import.id).limit(100))).all()
    out = []
    for rid, status, locked_until, locked_by in rows:
        if status == "queued" or locked_until is None or locked_until < now or holder_dead(locked_by):
            out.append(rid)
    return out
