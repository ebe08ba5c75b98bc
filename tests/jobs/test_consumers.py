"""Where the consumer runs: inside the server (app lifespan), as `guanxi worker` processes, on Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import redis

from guanxi.app import create_app
from guanxi.config import Settings
from guanxi.kit.jobs import JobQueue
from guanxi.kit.models import utcnow
from tests.conftest import REQUIRE_ALL
from tests.fixtures.factories import call, make_world
from tests.jobs.conftest import consuming, drained, due_task, free_port, outbox_rows, reminders_of, until

pytestmark = pytest.mark.anyio

REDIS_URL = os.environ.get("GUANXI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
JOB_THREADS = ("Worker-", "Scheduler", "guanxi-jobs")


def job_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(JOB_THREADS) and t.is_alive()]


async def test_the_server_runs_the_consumer_and_stops_it_on_shutdown(db, settings_for, inbox):
    app = create_app(settings_for(jobs_in_process=True), database=db)
    w = await make_world(db)
    user = w.users["sales"]
    t = await due_task(db, w, "sales", title="服务器内的消费者")
    assert job_threads() == []
    async with app.router.lifespan_context(app):
        assert len(job_threads()) >= 3  # the workers, the scheduler, the health watcher
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            assert (await client.get("/api/health")).json()["jobs"] == {"backend": "sqlite", "in_process": True}
        await until(lambda: len(inbox.to(user.email)) >= 1, what="the reminder email")
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 5
    assert job_threads() == []
    assert len(inbox.to(user.email)) == 1 and len(await reminders_of(db, t.id)) == 1
    app.state.jobs.flush()


async def test_no_consumer_in_the_server_when_workers_run_it(db, settings_for):
    app = create_app(settings_for(jobs_in_process=False), database=db)
    async with app.router.lifespan_context(app):
        assert job_threads() == []
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            assert (await client.get("/api/health")).json()["jobs"] == {"backend": "sqlite", "in_process": False}


def _env(tmp_path, database_url, inbox, queue_name, **extra):
    return {**os.environ, "GUANXI_DATA_DIR": str(tmp_path), "GUANXI_DATABASE_URL": database_url,
            "GUANXI_SECRET_KEY": "test-secret", "GUANXI_JOBS_QUEUE": queue_name, "GUANXI_JOBS_IN_PROCESS": "false",
            "GUANXI_SMTP_HOST": "127.0.0.1", "GUANXI_SMTP_PORT": str(inbox.port),
            "GUANXI_SMTP_FROM": "crm@xinghe-demo.cn", "GUANXI_REMINDER_INTERVAL_SECONDS": "1",
            "GUANXI_LOG_LEVEL": "info", "PYTHONUNBUFFERED": "1", **extra}


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:  # a file, not a pipe: nobody has to keep reading it
        return subprocess.Popen([sys.executable, "-m", "guanxi.cli", *args], env=env, stdout=out,
                                stderr=subprocess.STDOUT)


async def test_guanxi_worker_process_beside_a_server_process(db, database_url, tmp_path, inbox):
    w = await make_world(db)
    sales = w.users["sales"]
    port = free_port()
    env = _env(tmp_path, database_url, inbox, f"w{os.getpid()}{port}")
    server = start(["serve", "--port", str(port)], env, tmp_path / "server.log")
    worker = start(["worker", "--workers", "2"], env, tmp_path / "worker.log")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            async def up() -> bool:
                try:
                    return (await client.get("/api/health")).status_code == 200
                except httpx.TransportError:
                    return False

            await until(up, timeout=60, what="the server")
            assert (await client.get("/api/health")).json()["jobs"] == {"backend": "sqlite", "in_process": False}
            # the manager gives the rep a task that is due in two minutes, with a reminder two minutes before
            r = await call(client, w, "manager", "POST", "/api/v1/tasks", json={
                "title": "拜访客户", "due_at": (utcnow() + timedelta(minutes=2)).isoformat(),
                "assignee_id": sales.id, "remind_before_minutes": 2})
            assert r.status_code == 201, r.text
            task_id = r.json()["id"]
            await until(lambda: len(inbox.to(sales.email)) >= 2, timeout=60, what="the assignment and the reminder")
            subjects = sorted(str(m["Subject"]) for m in inbox.to(sales.email))
            assert subjects[0].startswith(f"{w.users['manager'].name} 给你分配了待办：拜访客户")
            assert subjects[1].startswith("待办提醒：拜访客户（")
            r = await call(client, w, "sales", "GET", "/api/v1/notifications/unread-count")
            assert r.json()["count"] == 2
        assert len(await reminders_of(db, task_id)) == 1
        assert [r.status for r in await outbox_rows(db, w.workspace_id)] == ["done", "done"]

        worker.send_signal(signal.SIGINT)  # Ctrl-C: running jobs finish, then it stops
        worker.wait(timeout=20)
        out = (tmp_path / "worker.log").read_text()
        assert worker.returncode == 0, out
        assert "Guanxi worker: 2 thread(s) on the sqlite queue" in out and "reminders.due" in out
        assert "Worker stopped." in out
    finally:
        for p in (worker, server):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        JobQueue(Settings(data_dir=tmp_path, jobs_queue=env["GUANXI_JOBS_QUEUE"], secret_key="x")).flush()


@pytest.fixture
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if REQUIRE_ALL:
            pytest.fail(f"GUANXI_REQUIRE_ALL=1 but Redis at {REDIS_URL} does not answer: {exc}")
        pytest.skip(f"no Redis at {REDIS_URL}")
    return REDIS_URL


async def test_the_redis_backend(db, settings_for, inbox, redis_url):
    s = settings_for(jobs_backend="redis", redis_url=redis_url)
    a, b = JobQueue(s, database_url=db.url), JobQueue(s, database_url=db.url)  # two machines
    a.attach(db)
    r = redis.Redis.from_url(redis_url)
    lease = f"guanxi.scheduler.{s.jobs_queue}"
    w = await make_world(db)
    user = w.users["sales"]
    t = await due_task(db, w, "sales", title="Redis 队列")
    try:
        with consuming(a), consuming(b):
            await until(lambda: len(inbox.to(user.email)) >= 1, what="the email")
            assert r.get(lease) is not None and 0 < r.pttl(lease) <= 15_000  # one scheduler leads
            for q in (a, b):
                q.enqueue("reminders.due", True)
                q.enqueue("outbox.sweep", True)
            await drained(a, b)
            assert a.last_run("reminders.due") is not None
        assert r.get(lease) is None  # released on a clean stop
        assert len(inbox.to(user.email)) == 1 and len(await reminders_of(db, t.id)) == 1
        [row] = await outbox_rows(db, w.workspace_id)
        assert row.status == "done" and row.attempts == 1
    finally:
        a.flush()
        a.close()
        b.close()
    assert r.keys(f"*{s.jobs_queue}*") == []  # nothing of this run is left in Redis


def test_worker_refuses_to_start_without_its_queue_or_schema(tmp_path):
    from tests.test_cli import guanxi

    r = guanxi(tmp_path, "worker")
    assert r.returncode == 2 and "guanxi db upgrade" in r.stderr
    assert guanxi(tmp_path, "db", "upgrade").returncode == 0
    r = guanxi(tmp_path, "worker", env={"GUANXI_JOBS_BACKEND": "redis", "GUANXI_REDIS_URL": "redis://127.0.0.1:1/0"})
    assert r.returncode == 1 and "The redis job queue is not available" in r.stderr
    r = guanxi(tmp_path, "worker", env={"GUANXI_JOBS_BACKEND": "kafka"})
    assert r.returncode == 2 and "GUANXI_JOBS_BACKEND" in r.stderr and len(r.stderr.strip().splitlines()) == 1
