"""`guanxi import`, run as a user runs it: the report, the failed rows file, and kill -9 in the middle then --resume."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from guanxi.audit.models import AuditEntry
from guanxi.customers.models import Customer, CustomerIdentity
from guanxi.imports.models import Import, ImportFailure
from tests.fixtures.factories import make_world

pytestmark = pytest.mark.anyio


def cli(tmp_path: Path, database_url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "guanxi.cli", "import", *args]


def env(tmp_path: Path, database_url: str, worker: bool = False) -> dict[str, str]:
    return {**os.environ, "GUANXI_DATA_DIR": str(tmp_path), "GUANXI_DATABASE_URL": database_url,
            "GUANXI_SECRET_KEY": "test", "COLUMNS": "120",
            "GUANXI_IMPORT_WORKER_MIN_ROWS": "0" if worker else "1000000000"}


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8-sig") -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))


async def test_cli_import_report_and_failed_rows(db, database_url, tmp_path):
    w = await make_world(db)
    path = tmp_path / "客户.csv"
    write_csv(path, [["客户名称", "手机", "负责人"], ["星河科技", "13812345678", w.users["sales"].name],
                     ["", "12", ""], ["星河科技", "13812345678", ""]], "gb18030")
    args = [str(path), "--workspace", w.slug, "--user", w.users["admin"].email]
    r = await asyncio.to_thread(subprocess.run, cli(tmp_path, database_url, *args), capture_output=True, text=True,
                                env=env(tmp_path, database_url), timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "done: created 1, updated 0, skipped 1, failed 1 (of 3 rows)" in r.stdout
    failed_file = Path(r.stdout.split("Failed rows and why: ")[1].split()[0])
    assert failed_file.read_text(encoding="utf-8-sig").splitlines() == ["客户名称,手机,负责人,行号,错误原因",
                                                                       ",12,,3,客户名称: 必填; 电话: 不是有效的电话号码"]
    async with db.session() as s:
        c = await s.scalar(select(Customer).where(Customer.workspace_id == w.workspace_id))
        assert c.owner_id == w.users["sales"].id
    # the second time the mapping is remembered; duplicates update
    r = await asyncio.to_thread(subprocess.run, cli(tmp_path, database_url, *args, "--duplicates", "update"),
                                capture_output=True, text=True, env=env(tmp_path, database_url), timeout=300)
    assert r.returncode == 0 and "skipped 2" in r.stdout, r.stdout + r.stderr  # nothing changed: skipped
    # a mapping given as JSON, a user without the right, a bad file, an unknown workspace
    r = await asyncio.to_thread(subprocess.run, cli(tmp_path, database_url, *args, "--mapping",
                                                    '{"客户名称": "name", "手机": null, "负责人": null}'),
                                capture_output=True, text=True, env=env(tmp_path, database_url), timeout=300)
    assert r.returncode == 0, r.stderr
    r = await asyncio.to_thread(subprocess.run, cli(tmp_path, database_url, str(path), "--workspace", w.slug,
                                                    "--user", w.users["readonly"].email),
                                capture_output=True, text=True, env=env(tmp_path, database_url), timeout=300)
    assert r.returncode == 1 and "forbidden" in r.stderr
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0")
    r = await asyncio.to_thread(subprocess.run, cli(tmp_path, database_url, str(bad), "--workspace", w.slug,
                                                    "--user", w.users["admin"].email),
                                capture_output=True, text=True, env=env(tmp_path, database_url), timeout=300)
    assert r.returncode == 1 and "unsupported_file_type" in r.stderr
    r = await asyncio.to_thread(subprocess.run, cli(tmp_path, database_url, str(path), "--workspace", "nope",
                                                    "--user", "x@y.cn"),
                                capture_output=True, text=True, env=env(tmp_path, database_url), timeout=300)
    assert r.returncode == 1 and "no active user" in r.stderr


def children(pid: int) -> set[int]:
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.add(int(stat.parent.name))
    return out


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("worker", [False, True], ids=["in-process", "worker-process"])
async def test_kill_9_in_the_middle_then_resume(db, database_url, tmp_path, worker):
    """A real crash: the CLI is killed with SIGKILL after some batches committed; --resume finishes the import
    and every row is there exactly once. With the worker process (large files) too: it ends by itself when the
    CLI is killed, and the resumed run starts a new one."""
    started = time.perf_counter()
    w = await make_world(db)
    n = 6000
    rows = [["客户名称", "手机", "邮箱"]]
    for i in range(n):
        if i % 500 == 7:
            rows.append(["", "12", ""])  # bad rows fail
        elif i % 300 == 11:
            rows.append([f"客户{i - 1:05d}", f"139{i - 1:08d}", ""])  # the row before, again: skipped
        else:
            rows.append([f"客户{i:05d}", f"139{i:08d}", f"c{i}@example.com"])
    path = tmp_path / "big.csv"
    write_csv(path, rows)
    # the test waits on the database, not on the process
    proc = subprocess.Popen(cli(tmp_path, database_url, str(path), "--workspace", w.slug,  # noqa: ASYNC220
                                "--user", w.users["admin"].email, "--batch", "100"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env(tmp_path, database_url, worker))
    checkpoint = 0
    import_id = None
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        async with db.session() as s:
            row = (await s.execute(select(Import.id, Import.checkpoint)
                                   .where(Import.workspace_id == w.workspace_id))).first()
        if row is not None:
            import_id, checkpoint = row
            if checkpoint >= 1000:
                break
        await asyncio.sleep(0.02)
    assert proc.poll() is None, f"the import ended before it could be killed: {proc.stderr.read()!r}"  # type: ignore[union-attr]
    helpers = children(proc.pid)
    assert bool(helpers) == worker
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    gone_by = time.monotonic() + 15
    while time.monotonic() < gone_by and any(alive(pid) for pid in helpers):
        await asyncio.sleep(0.1)
    assert not [pid for pid in helpers if alive(pid)], "the worker outlived the import"
    async with db.session() as s:
        imp = await s.get(Import, import_id)
        assert imp.status == "running" and 1000 <= imp.checkpoint < n and imp.checkpoint % 100 == 0
        before = await s.scalar(select(func.count()).select_from(Customer).where(Customer.workspace_id == w.workspace_id))
        assert before == imp.created  # what was committed is counted, nothing more
    r = await asyncio.to_thread(subprocess.run, cli(tmp_path, database_url, "--resume", str(import_id)),
                                capture_output=True, text=True, env=env(tmp_path, database_url, worker), timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "resuming after row" in r.stdout
    bad = sum(1 for i in range(n) if i % 500 == 7)
    dup = sum(1 for i in range(n) if i % 300 == 11 and i % 500 != 7)
    async with db.session() as s:
        imp = await s.get(Import, import_id)
        await s.refresh(imp)
        assert (imp.status, imp.processed, imp.checkpoint) == ("done", n, n)
        assert (imp.created, imp.skipped, imp.failed, imp.updated) == (n - bad - dup, dup, bad, 0)
        ws = Customer.workspace_id == w.workspace_id
        total = await s.scalar(select(func.count()).select_from(Customer).where(ws))
        distinct = await s.scalar(select(func.count(func.distinct(Customer.name))).where(ws))
        assert total == distinct == imp.created  # no row twice, no row lost
        phones = await s.scalar(select(func.count()).select_from(CustomerIdentity).where(
            CustomerIdentity.workspace_id == w.workspace_id, CustomerIdentity.kind == "phone"))
        assert phones == total
        audits = await s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.workspace_id == w.workspace_id, AuditEntry.record_type == "customer"))
        assert audits == total
        lines = (await s.execute(select(func.count(), func.count(func.distinct(ImportFailure.line)))
                                 .where(ImportFailure.import_id == import_id))).one()
        assert lines == (bad, bad)
    print(f"kill -9 and resume of {n} rows took {time.perf_counter() - started:.1f} s")
