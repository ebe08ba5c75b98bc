"""Background jobs on Huey: an embedded SQLite queue (var/jobs.db) by default, Redis for many machines.

A job is an async function `fn(ctx, *args)` registered with `@job("name")`, or `@periodic("name", every)` for
work the scheduler starts every few seconds. Jobs run in the consumer's worker threads; each thread has its own
event loop and its own `Database` (SQLite statements run on the loop thread that owns the connection, so a
connection is never shared across threads), and a job opens its own units of work (`ctx.writing()`), which
commit when they end.

The queue only carries messages. What must not be lost is a row in the main database (the outbox, or the task
a reminder is due for) written in the same transaction as the change; a message is sent after commit, and the
periodic sweeps find anything whose message never arrived. So a lost or duplicated message is harmless:
every job claims its row with one conditional UPDATE before it acts.

The consumer runs inside `guanxi serve` (GUANXI_JOBS_IN_PROCESS, the default) or as `guanxi worker`. Only one
scheduler at a time starts periodic jobs: a file lock beside jobs.db (one machine) or a Redis lease (many).
"""

from __future__ import annotations

import asyncio
import fcntl
import importlib
import logging
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey
from huey.consumer import Consumer, ConsumerStopped, Scheduler
from sqlalchemy.ext.asyncio import AsyncSession

from guanxi.config import Settings
from guanxi.db import Database

log = logging.getLogger("guanxi.jobs")

# modules whose import registers jobs (like guanxi.models for tables)
JOB_MODULES = ("guanxi.kit.outbox", "guanxi.notifications.tasks", "guanxi.activities.tasks", "guanxi.imports.tasks")


@dataclass(frozen=True)
class JobSpec:
    name: str
    fn: Callable[..., Awaitable[Any]]
    every: Callable[[Settings], float] | None = None  # periodic: seconds between runs


REGISTRY: dict[str, JobSpec] = {}


def job(name: str) -> Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]:
    """Register `async fn(ctx, *args)` as a job; args must be plain values (they travel through the queue)."""

    def register(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        REGISTRY[name] = JobSpec(name, fn)
        return fn

    return register


def periodic(name: str, every: Callable[[Settings], float]) -> Callable[[Callable[..., Awaitable[Any]]],
                                                                        Callable[..., Awaitable[Any]]]:
    """Register `async fn(ctx, startup: bool)`, started every `every(settings)` seconds (and once at start-up)."""

    def register(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        REGISTRY[name] = JobSpec(name, fn, every)
        return fn

    return register


def writer_turn(db: Database) -> AbstractAsyncContextManager[Any]:
    """Wait for this database's writer queue (SQLite has one writer; the queue's file lock also orders the
    consumer's threads, which each have their own Database, against the server's requests)."""
    return db.writers.hold() if db.kind == "sqlite" else nullcontext()


@asynccontextmanager
async def writing(db: Database) -> AsyncIterator[AsyncSession]:
    """A short unit of work that writes: it takes its turn, commits when the block ends, rolls back on error."""
    async with writer_turn(db), db.session() as session:
        yield session


@dataclass
class JobContext:
    """What a running job gets: the queue (to send follow-up jobs), its thread's database, the settings."""

    queue: JobQueue
    db: Database
    settings: Settings

    def writing(self) -> AbstractAsyncContextManager[AsyncSession]:
        return writing(self.db)


def jobs_of(session: AsyncSession) -> JobQueue | None:
    """The queue a unit of work dispatches its outbox rows to after commit (None: the sweep will)."""
    queue = session.info.get("jobs")
    return queue if isinstance(queue, JobQueue) else None


class JobQueue:
    """One Huey queue with Guanxi's jobs registered on it; cheap to create, the storage opens on first use."""

    def __init__(self, settings: Settings, *, database_url: str | None = None, name: str | None = None) -> None:
        self.settings = settings
        self.database_url = database_url or settings.resolved_database_url()
        self.name = name or settings.jobs_queue
        self.backend = settings.jobs_backend
        self._huey: Huey | None = None
        self._tasks: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._local = threading.local()  # a worker thread's event loop and Database

    # ------------------------------------------------------------------ the Huey instance

    @property
    def huey(self) -> Huey:
        with self._lock:
            if self._huey is None:
                self._huey = self._make_huey()
            return self._huey

    def _make_huey(self) -> Huey:
        for module in JOB_MODULES:
            importlib.import_module(module)
        h: Huey
        if self.backend == "redis":
            h = RedisHuey(self.name, url=self.settings.redis_url, results=False, utc=True)
        else:
            path = self.settings.jobs_db_path
            path.parent.mkdir(parents=True, exist_ok=True)
            h = SqliteHuey(self.name, filename=str(path), results=False, utc=True, timeout=10)
        for spec in REGISTRY.values():
            self._tasks[spec.name] = h.task(name=spec.name)(self._runner(spec))
        h.on_shutdown("guanxi-close-thread-db")(self._close_thread)
        return h

    def _runner(self, spec: JobSpec) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            return self.run_here(spec.name, *args, **kwargs)

        run.__name__ = spec.name.replace(".", "_")
        return run

    def attach(self, db: Database) -> None:
        """Units of work on `db` send their outbox rows to this queue after they commit."""
        db.sessionmaker.configure(info={"jobs": self})

    # ------------------------------------------------------------------ sending

    def enqueue(self, name: str, *args: Any, delay: float | None = None) -> None:
        task = self._task(name)
        if delay and delay > 0:
            task.schedule(args=args, delay=delay)
        else:
            task(*args)

    def _task(self, name: str) -> Any:
        self.huey  # noqa: B018 - builds the registry
        return self._tasks[name]

    def dispatch(self, name: str, args: list[tuple[Any, ...]]) -> None:
        """Send messages after a commit without holding up the caller; a failure is logged (the sweep recovers)."""

        def send() -> None:
            for a in args:
                try:
                    self.enqueue(name, *a)
                except Exception:
                    log.exception("could not enqueue %s%s; the outbox sweep will", name, a)

        if getattr(self._local, "loop", None) is not None:
            send()  # a worker thread: blocking here holds up no one
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            send()
            return
        loop.run_in_executor(None, send)

    # ------------------------------------------------------------------ running

    def run_here(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Run a job in this (worker) thread, on the thread's own event loop and Database."""
        spec = REGISTRY[name]
        st = self._local
        if getattr(st, "loop", None) is None:
            st.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(st.loop)
            st.db = Database(self.database_url)
            self.attach(st.db)
        started = datetime.now(UTC)
        error: str | None = None
        result: Any = None
        try:
            result = st.loop.run_until_complete(spec.fn(JobContext(self, st.db, self.settings), *args, **kwargs))
            return result
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            raise
        finally:
            if spec.every is not None:
                self._record_run(name, started, error, result)

    def _close_thread(self) -> None:
        st = self._local
        loop, db = getattr(st, "loop", None), getattr(st, "db", None)
        if loop is None:
            return
        try:
            if db is not None:
                loop.run_until_complete(db.dispose())
        finally:
            loop.close()
            st.loop = st.db = None

    def _record_run(self, name: str, started: datetime, error: str | None, result: Any) -> None:
        try:
            self.huey.put(f"guanxi.run.{name}", {
                "started_at": started.isoformat(), "finished_at": datetime.now(UTC).isoformat(),
                "error": error, "result": result if isinstance(result, dict) else None})
        except Exception:
            log.exception("could not record the run of %s", name)

    def last_run(self, name: str) -> dict[str, Any] | None:
        value = self.huey.get(f"guanxi.run.{name}", peek=True)
        return value if isinstance(value, dict) else None

    def periodic_jobs(self) -> list[JobSpec]:
        self.huey  # noqa: B018 - imports the job modules
        return sorted((s for s in REGISTRY.values() if s.every is not None), key=lambda s: s.name)

    def counts(self) -> tuple[int, int]:
        """Messages waiting to run now, and scheduled for later (retries)."""
        return int(self.huey.pending_count()), int(self.huey.scheduled_count())

    # ------------------------------------------------------------------ consuming

    def consumer(self, workers: int | None = None, *, embedded: bool = False) -> GuanxiConsumer:
        return GuanxiConsumer(self, workers=workers or self.settings.jobs_workers, embedded=embedded)

    def lease(self) -> Lease:
        if self.backend == "redis":
            return RedisLease(self.huey.storage.conn, f"guanxi.scheduler.{self.name}")
        return FileLease(f"{self.settings.jobs_db_path}.{self.name}.scheduler.lock")

    def flush(self) -> None:
        """Drop every message and stored value of this queue (tests, and `guanxi worker --flush`)."""
        h = self.huey
        h.storage.flush_all()
        if self.backend == "redis":
            h.storage.conn.delete(f"guanxi.scheduler.{self.name}")

    def close(self) -> None:
        if self._huey is not None and hasattr(self._huey.storage, "close"):
            self._huey.storage.close()


# ------------------------------------------------------------------ which scheduler starts periodic jobs


class Lease:
    def held(self) -> bool:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError


class FileLease(Lease):
    """SQLite backend: every consumer is on this machine; an advisory lock dies with its process."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = None

    def held(self) -> bool:
        if self.fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class RedisLease(Lease):
    """Redis backend: consumers on many machines; the lease lapses when its holder stops renewing it."""

    TTL_MS = 15_000

    def __init__(self, conn: Any, key: str) -> None:
        self.conn, self.key, self.token = conn, key, uuid.uuid4().hex
        self._renew = conn.register_script(_RENEW)
        self._release = conn.register_script(_RELEASE)

    def held(self) -> bool:
        try:
            if self.conn.set(self.key, self.token, nx=True, px=self.TTL_MS):
                return True
            return bool(self._renew(keys=[self.key], args=[self.token, self.TTL_MS]))
        except Exception:
            log.exception("scheduler lease")
            return False

    def release(self) -> None:
        try:
            self._release(keys=[self.key], args=[self.token])
        except Exception:
            log.exception("scheduler lease")


class GuanxiScheduler(Scheduler):  # type: ignore[misc]
    """Huey's scheduler (delayed messages, retries) that also starts Guanxi's periodic jobs while it leads."""

    def __init__(self, queue: JobQueue, stop_flag: Any, interval: int) -> None:
        super().__init__(queue.huey, stop_flag, interval, periodic=False)
        self.queue = queue
        self.lease = queue.lease()
        self.next_run: dict[str, float] = {}

    def loop(self, now: Any = None) -> None:
        try:
            if self.lease.held():
                self.start_due_jobs()
        except Exception:
            self._logger.exception("starting periodic jobs")
        super().loop(now)

    def start_due_jobs(self) -> None:
        mono = time.monotonic()
        for spec in self.queue.periodic_jobs():
            due = self.next_run.get(spec.name)
            if due is not None and due > mono:
                continue
            assert spec.every is not None
            self.next_run[spec.name] = mono + spec.every(self.queue.settings)
            self.queue.enqueue(spec.name, due is None)  # the first run after start-up recovers what was left

    def shutdown(self) -> None:
        self.lease.release()


class GuanxiConsumer(Consumer):  # type: ignore[misc]
    """Huey's consumer with Guanxi's scheduler; embedded in the server it leaves signal handling to uvicorn."""

    def __init__(self, queue: JobQueue, *, workers: int, embedded: bool) -> None:
        self.queue, self.embedded = queue, embedded
        # a non-blocking backend (SQLite) is polled at most a second apart once idle
        super().__init__(queue.huey, workers=workers, periodic=False, initial_delay=0.05, backoff=1.5,
                         max_delay=1.0, scheduler_interval=1, worker_type="thread", check_worker_health=True,
                         health_check_interval=10)
        self._watcher: threading.Thread | None = None

    def _create_scheduler(self) -> GuanxiScheduler:
        return GuanxiScheduler(self.queue, self.stop_flag, self.scheduler_interval)

    def _set_signal_handlers(self) -> None:
        if not self.embedded:
            super()._set_signal_handlers()

    # ------------------------------------------------------------------ embedded in the server

    def start_embedded(self) -> None:
        self.start()
        self._watcher = threading.Thread(target=self._watch, name="guanxi-jobs-health", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        ts: float | None = time.monotonic()
        while True:
            try:
                ts = self.loop(ts)  # restarts a worker or the scheduler that died
            except ConsumerStopped:
                return

    def stop_embedded(self, timeout: float = 10.0) -> None:
        """Let running jobs finish (up to `timeout` seconds), then stop; unfinished work is found again later."""
        self.shutdown_timeout = timeout
        self.stop(graceful=True)
        if self._watcher is not None:
            self._watcher.join(timeout)


def status_of(queue: JobQueue) -> dict[str, Any]:
    """The queue's own state (blocking: call it in a thread from async code)."""
    pending, scheduled = queue.counts()
    runs = []
    for spec in queue.periodic_jobs():
        assert spec.every is not None
        last = queue.last_run(spec.name) or {}
        runs.append({"name": spec.name, "every_seconds": spec.every(queue.settings),
                     "last_started_at": last.get("started_at"), "last_finished_at": last.get("finished_at"),
                     "last_error": last.get("error"), "last_result": last.get("result")})
    return {"backend": queue.backend, "queue": queue.name, "in_process": queue.settings.jobs_in_process,
            "queued": pending, "scheduled": scheduled, "periodic": runs}
