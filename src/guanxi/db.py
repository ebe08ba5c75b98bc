"""Engines and sessions. Services never commit: `session_scope` commits or rolls back once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
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
        "cache_size=-8192",
        "mmap_size=0",  # a mapped file counted once per pooled connection pushed the server past its memory budget
        "temp_store=MEMORY",
    ):
        cur.execute(f"PRAGMA {pragma}")
    cur.close()


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str, *, null_pool: bool = False) -> None:
        self.url = url
        self.kind = "postgresql" if url.startswith("postgresql") else "sqlite"
        kwargs: dict[str, Any] = {}
        if null_pool:
            kwargs["poolclass"] = NullPool
        elif self.kind == "postgresql":
            kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        else:
            kwargs.update(pool_size=5, max_overflow=3)
        if self.kind == "sqlite":
            kwargs["connect_args"] = {"timeout": 10}
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.kind == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        # SQLite has one writer: queueing writers here is fair and cheap, busy-timeout retries are neither
        self.write_lock = asyncio.Lock()

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
