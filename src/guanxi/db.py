"""Engines and sessions. Services never commit: `session_scope` commits or rolls back once."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import aiosqlite
import orjson
from sqlalchemy import event, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, NullPool


def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets readers run beside the writer; NORMAL sync is durable across app crashes in WAL mode.
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        "busy_timeout=10000",
        "cache_size=-4096",  # per connection; the OS page cache holds the rest of the file
        "mmap_size=0",  # a mapped file counted once per pooled connection pushed the server past its memory budget
        "temp_store=MEMORY",
    ):
        cur.execute(f"PRAGMA {pragma}")
    cur.close()


class InlineSQLite(aiosqlite.Connection):
    """An aiosqlite connection whose statements run on the event loop's own thread.

    aiosqlite hands every call (execute, fetch, commit, cursor close …) to a worker thread and back; a
    request makes ~20 such calls and each hop cost ~0.5 ms of GIL hand-over, far more than the indexed
    statements themselves (0.1–5 ms). Readers never wait in WAL mode and this process queues its own
    writers (`Database.write_lock`), so running inline only blocks the loop while SQLite works.
    The worker thread is still used to open and close the connection.
    """

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)


def _inline_sqlite_creator(url: str) -> Callable[[], Any]:
    path = make_url(url).database or ":memory:"

    async def connect() -> InlineSQLite:
        conn = InlineSQLite(partial(sqlite3.connect, path, timeout=10, check_same_thread=False), 64)
        conn._thread.daemon = True
        await conn
        return conn

    return connect


class WriterQueue:
    """SQLite has one writer: queue this server's writers instead of letting SQLite's busy handler sleep.

    An asyncio lock orders the writers of one process; an advisory file lock beside the database orders the
    worker processes (GUANXI_WORKERS > 1). The busy handler backs off in steps of up to 100 ms, so a queue is
    both fairer and faster; statements also run on the event loop (InlineSQLite), which must never sleep there.
    """

    def __init__(self, db_path: str | None) -> None:
        self._local = asyncio.Lock()
        self._path = f"{db_path}-writers.lock" if db_path and db_path != ":memory:" else None
        self._fd: int | None = None

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        async with self._local:
            if self._path is None:
                yield
                return
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            while True:  # polling keeps the wait cancellable and off the event loop's critical path
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:  # another worker process is writing
                    await asyncio.sleep(0.002)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str, *, null_pool: bool = False) -> None:
        self.url = url
        self.kind = "postgresql" if url.startswith("postgresql") else "sqlite"
        kwargs: dict[str, Any] = {}
        if null_pool:
            kwargs["poolclass"] = NullPool
        elif self.kind == "postgresql":
            # no pre-ping: it costs a round trip per request; a dropped connection invalidates the pool instead
            kwargs.update(pool_size=10, max_overflow=10, pool_recycle=1800)
        else:
            kwargs.update(pool_size=5, max_overflow=3)
        if self.kind == "sqlite":
            kwargs["async_creator"] = _inline_sqlite_creator(url)
        # JSON columns (phones, emails, tags, custom …) are decoded for every listed row: orjson is ~5x faster
        self.engine: AsyncEngine = create_async_engine(url, json_deserializer=orjson.loads, **kwargs)
        if self.kind == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self.writers = WriterQueue(make_url(url).database if self.kind == "sqlite" else None)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits when the block ends, rolls back on any error."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()
        self.writers.close()
