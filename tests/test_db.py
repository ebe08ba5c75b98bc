"""Database plumbing: SQLite writers queue across server processes instead of busy-waiting."""

from __future__ import annotations

import asyncio

import pytest

from guanxi.db import Database

pytestmark = pytest.mark.anyio


async def test_sqlite_writers_queue_across_processes(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'q.db'}"
    a, b = Database(url), Database(url)  # two workers' engines: each has its own in-process lock
    order: list[str] = []
    try:
        async with a.writers.hold():
            waiting = asyncio.create_task(_hold(b, order))
            await asyncio.sleep(0.05)
            assert not waiting.done()  # the other worker waits for the file lock
            order.append("a")
        await asyncio.wait_for(waiting, 2)
        assert order == ["a", "b"]
        cancelled = asyncio.create_task(_hold(b, order))  # a waiter that is cancelled leaves the lock free
        async with a.writers.hold():
            await asyncio.sleep(0.01)
            cancelled.cancel()
        await asyncio.wait_for(_hold(b, order), 2)
        assert order[-1] == "b"
    finally:
        await a.dispose()
        await b.dispose()


async def _hold(db: Database, order: list[str]) -> None:
    async with db.writers.hold():
        order.append("b")


async def test_statements_run_on_the_event_loop_thread(tmp_path):
    import threading

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    try:
        async with db.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            seen = []
            await driver._execute(lambda: seen.append(threading.get_ident()))
            assert seen == [threading.get_ident()]
    finally:
        await db.dispose()
