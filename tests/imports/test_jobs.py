"""Imports run as background jobs inside `guanxi serve`; the sweep resumes an import whose process died."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from sqlalchemy import update

from guanxi.app import create_app
from guanxi.imports import runner
from guanxi.imports.models import Import
from guanxi.kit.jobs import JobContext, JobQueue
from guanxi.kit.models import utcnow
from tests.fixtures.factories import call, make_world
from tests.imports.conftest import upload
from tests.jobs.conftest import consuming, job_settings

pytestmark = pytest.mark.anyio


async def test_the_server_runs_an_import_with_live_progress(db, database_url, tmp_path):
    settings = job_settings(tmp_path, database_url, 1, jobs_in_process=True)
    app = create_app(settings, database=db)
    w = await make_world(db)
    data = ("客户名称,手机\n" + "".join(f"客户{i},139{i:08d}\n" for i in range(12_000))).encode()
    async with app.router.lifespan_context(app), \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        imp = (await upload(client, w, "admin", "a.csv", data)).json()
        r = await call(client, w, "admin", "POST", f"/api/v1/imports/{imp['id']}/run")
        assert r.status_code == 202
        seen = []
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            out = (await call(client, w, "admin", "GET", f"/api/v1/imports/{imp['id']}")).json()
            seen.append((out["status"], out["processed"]))
            if out["status"] == "done":
                break
            # the app answers while the import runs: it gives up the writer between batches
            r = await call(client, w, "sales", "POST", "/api/v1/customers",
                           json={"kind": "person", "name": f"并发{len(seen)}"})
            assert r.status_code == 201
            await asyncio.sleep(0.05)
        assert out["status"] == "done" and out["created"] == 12_000, out
        assert any(s == "running" and 0 < n < 12_000 for s, n in seen), seen  # progress as batches commit
    app.state.jobs.flush()


async def test_the_sweep_resumes_an_import_whose_process_died(db, database_url, tmp_path):
    settings = job_settings(tmp_path, database_url, 1)
    app = create_app(settings, database=db)
    w = await make_world(db)
    data = ("客户名称\n" + "".join(f"客户{i}\n" for i in range(300))).encode()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        imp = (await upload(client, w, "admin", "a.csv", data)).json()
        await call(client, w, "admin", "POST", f"/api/v1/imports/{imp['id']}/run")
    assert await runner.run_import(db, settings, imp["id"], batch=100, stop_after=1) == "running"
    # as if its process had died on this machine (a pid that cannot exist)
    async with db.session() as s:
        await s.execute(update(Import).where(Import.id == imp["id"]).values(locked_by="nowhere-else:1"))
    assert await runner.due_imports(db) == []  # another machine's lease still runs
    async with db.session() as s:
        await s.execute(update(Import).where(Import.id == imp["id"]).values(locked_until=utcnow()))
    assert await runner.due_imports(db) == [imp["id"]]
    queue = JobQueue(settings, database_url=db.url)
    try:
        from guanxi.imports.tasks import sweep

        assert await sweep(JobContext(queue, db, settings)) == {"resumed": 1}
        with consuming(queue):
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                async with db.session() as s:
                    row = await s.get(Import, imp["id"])
                if row.status == "done":
                    break
                await asyncio.sleep(0.1)
        assert (row.status, row.created, row.processed, row.attempts) == ("done", 300, 300, 2)
    finally:
        queue.flush()
        queue.close()
