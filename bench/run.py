#!/usr/bin/env python
"""Measure the customers API over HTTP against a running server, and the same SQL on the raw driver.

    python bench/run.py --base-url http://127.0.0.1:PORT --database-url URL --database sqlite|postgresql \
        --customers N [--requests 200] [--concurrency 4] [--rss-log FILE]

1. Logs in as the bench admin (cookies kept, X-CSRF-Token from the guanxi_csrf cookie on writes).
2. Picks realistic query values from the data itself (raw driver): 2-character name fragments and pinyin
   initials of real names, 4-6 digits of real phones, random existing ids; walks ~20 pages of a filtered,
   sorted list to get deep cursors.
3. Per scenario: warm-up requests, then --requests timed requests with --concurrency in flight (httpx,
   async); p50/p95/p99 latency and requests/s.
4. SQL: the same requests are replayed once in-process through the application (ASGI, no network) while
   every statement it sends is captured (writes run in a transaction that is rolled back); the captured
   statements are then timed with the raw driver (sqlite3 / asyncpg).  sql_p50_ms is the median, over
   requests, of the summed time of all statements of one request.
5. server_rss_mb: the peak RSS of the server's process tree while the scenario ran, from the sampler log that
   bench/all.sh writes (--rss-log: lines "<unix time> <rss kB>").
Results are merged into bench/results/latest.json (same scenario + database replaced) and printed as Markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import sqlite3
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from guanxi.kit import search

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "latest.json"
ADMIN = ("bench-admin@example.com", "bench-pass-123")
API = "/api/v1"

# scenario → (p95 target in ms, what it does)
SCENARIOS: dict[str, tuple[float, str]] = {
    "list_page1": (50, "GET /customers?limit=50 — first page, default sort (-updated_at), with total"),
    "list_deep_filter_sort": (
        50,
        (
            "GET /customers?filter=stage:eq:loyal&sort=name&cursor=… — pages 21-60 of a "
            "filtered list sorted by name (keyset cursor)"
        ),
    ),
    "search_name": (50, "GET /customers?q=<2 Chinese characters of a real name> — relevance-ranked search"),
    "search_pinyin": (50, "GET /customers?q=<pinyin initials of a real name>"),
    "search_phone": (50, "GET /customers?q=<4-6 digits of a real phone>"),
    "get": (50, "GET /customers/{random existing id}"),
    "create": (80, "POST /customers — a new company with a phone, an e-mail, tags and custom fields"),
    "update": (80, "PATCH /customers/{id} with If-Match — stage and notes (ETag read beforehand, not timed)"),
    "timeline": (
        50,
        "GET /customers/{id}/timeline?limit=50&cursor=… — random pages of a customer with 10,000 timeline entries",
    ),
}
TIMELINE_ENTRIES = 10_000
CHANNELS = ("phone", "visit", "wechat", "meeting", "email")
STAGES = ("potential", "first_purchase", "repeat", "loyal", "at_risk", "lost")
GENERIC = (
    "有限公司",
    "有限责任",
    "股份",
    "集团",
    "分公司",
    "公司",
    "科技",
    "网络",
    "信息",
    "技术",
    "管理",
    "服务",
    "中心",
    "市",
    "省",
    "区",
)


# ---------------------------------------------------------------------------------------------- helpers


def pct(values: list[float], p: float) -> float:
    """Linear-interpolated percentile of a non-empty list."""
    s = sorted(values)
    if len(s) == 1:
        return s[0]
    k = (len(s) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def urls(url: str) -> tuple[str, str, str]:
    """(kind, async app URL, raw URL: sqlite path or libpq URL)."""
    u = make_url(url)
    if u.drivername.startswith("sqlite"):
        path = str(Path(u.database or "").resolve())
        return "sqlite", f"sqlite+aiosqlite:///{path}", path
    return (
        "postgresql",
        u.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False),
        u.set(drivername="postgresql").render_as_string(hide_password=False),
    )


def cjk_windows(name: str, size: int) -> list[str]:
    out: list[str] = []
    for run in re.findall(r"[\u3400-\u9fff]+", name):
        for i in range(len(run) - size + 1):
            w = run[i : i + size]
            if not any(w in g or g in w for g in GENERIC):
                out.append(w)
    return out


# ---------------------------------------------------------------------------------------------- data picks


class Raw:
    """The raw driver (sqlite3 / asyncpg), for picking values and timing captured SQL."""

    def __init__(self, kind: str, raw: str) -> None:
        self.kind, self.raw = kind, raw
        self.conn: Any = None

    async def open(self) -> None:
        if self.kind == "sqlite":
            self.conn = sqlite3.connect(self.raw, isolation_level=None, check_same_thread=False)
            # the app's pragmas (guanxi.db._sqlite_pragmas)
            for pragma in (
                "journal_mode=WAL",
                "synchronous=NORMAL",
                "foreign_keys=ON",
                "busy_timeout=10000",
                "cache_size=-16384",
                "mmap_size=67108864",
                "temp_store=MEMORY",
            ):
                self.conn.execute(f"PRAGMA {pragma}")
        else:
            import asyncpg

            self.conn = await asyncpg.connect(self.raw)

    async def close(self) -> None:
        if self.kind == "sqlite":
            self.conn.close()
        else:
            await self.conn.close()

    async def fetch(self, sql: str, *params: Any) -> list[Any]:
        """Portable query with ? placeholders."""
        if self.kind == "sqlite":
            return self.conn.execute(sql, params).fetchall()
        n = iter(range(1, 1000))
        return [tuple(r) for r in await self.conn.fetch(re.sub(r"\?", lambda _: f"${next(n)}", sql), *params)]


async def pick_values(raw: Raw, rng: random.Random, n: int) -> dict[str, Any]:
    ws = (await raw.fetch("SELECT id FROM workspaces WHERE slug = ?", "bench"))[0][0]
    lo, hi = (await raw.fetch("SELECT min(id), max(id) FROM customers WHERE workspace_id = ?", ws))[0]
    sample = sorted(rng.sample(range(lo, hi + 1), min(hi - lo + 1, max(600, n * 4))))
    rows: list[Any] = []
    for i in range(0, len(sample), 500):
        part = sample[i : i + 500]
        rows += await raw.fetch(
            f"SELECT id, name, phones FROM customers WHERE workspace_id = ? AND deleted_at IS NULL "
            f"AND id IN ({','.join('?' * len(part))})",
            ws,
            *part,
        )
    rng.shuffle(rows)
    ids = [r[0] for r in rows]
    names = [r[1] for r in rows]
    phones = [p for r in rows for p in (json.loads(r[2]) if isinstance(r[2], str) else r[2])]
    frag2 = [rng.choice(w) for w in (cjk_windows(nm, 2) for nm in names) if w]
    initials = []
    for nm in names:
        windows = cjk_windows(nm, 3) or cjk_windows(nm, 2)
        if windows:
            ini = search.pinyin_of(rng.choice(windows))[1]
            if len(ini) >= 2:
                initials.append(ini)
    digits = []
    for ph in phones:
        d = re.sub(r"\D", "", ph)
        size = rng.randint(4, 6)
        start = rng.randrange(0, len(d) - size + 1)
        digits.append(d[start : start + size])
    return {"workspace_id": ws, "ids": ids, "frag2": frag2, "initials": initials, "digits": digits}


def warm_files(kind: str, raw_url: str) -> None:
    """Read the database files once, so every scenario starts from a warm OS page cache (as a server that
    has been running for a while would).  PostgreSQL: only when its data directory is readable here."""
    t0 = time.perf_counter()
    files: list[Path] = []
    if kind == "sqlite":
        files = [Path(raw_url), Path(raw_url + "-wal")]
    else:
        try:
            import psycopg

            with psycopg.connect(raw_url) as conn:
                datadir = Path(conn.execute("SHOW data_directory").fetchone()[0])
                rels = conn.execute(
                    "SELECT pg_relation_filepath(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i', 't') "
                    "AND pg_relation_filepath(c.oid) IS NOT NULL"
                ).fetchall()
            for (rel,) in rels:
                files += sorted(datadir.glob(rel + "*"))
        except Exception as exc:  # noqa: BLE001 - not local, or no permission: skip
            print(f"  (not warming the PostgreSQL files: {exc})")
            return
    size = 0
    for f in files:
        try:
            with f.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    size += len(chunk)
        except OSError:
            continue
    print(
        f"  warmed the OS page cache: {size / 2**20:,.0f} MB in {time.perf_counter() - t0:.1f} s", flush=True
    )


# ---------------------------------------------------------------------------------------------- HTTP


class Client:
    def __init__(self, base_url: str, concurrency: int, transport: Any = None) -> None:
        limits = httpx.Limits(max_connections=concurrency + 2, max_keepalive_connections=concurrency + 2)
        self.http = httpx.AsyncClient(
            base_url=base_url,
            timeout=120,
            limits=limits,
            transport=transport,
            headers={"Accept-Language": "zh-CN"},
        )
        self.mark: Callable[[], None] = lambda: None  # called where the timed part of a request starts

    async def login(self) -> None:
        r = await self.http.post(f"{API}/auth/login", json={"login": ADMIN[0], "password": ADMIN[1]})
        if r.status_code != 200:
            raise SystemExit(f"login failed: {r.status_code} {r.text[:300]}")

    def csrf(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.http.cookies.get("guanxi_csrf") or ""}

    async def close(self) -> None:
        await self.http.aclose()


Request = Callable[[Client, int], Awaitable[tuple[float, int, dict[str, Any]]]]


async def timed(coro: Awaitable[httpx.Response]) -> tuple[float, httpx.Response]:
    t0 = time.perf_counter()
    r = await coro
    return time.perf_counter() - t0, r


class Scenarios:
    """The request of each scenario for request number i (deterministic given the picks)."""

    def __init__(self, picks: dict[str, Any], deep_cursors: list[str], rng: random.Random,
                 timeline: tuple[int, list[str | None]] | None = None) -> None:
        self.p = picks
        self.deep = deep_cursors
        self.timeline_customer, self.timeline_cursors = timeline or (0, [None])
        self.rng = rng
        self.created: list[int] = []
        # ids for updates: each request gets its own customer so concurrent PATCHes never conflict
        self.update_ids = list(picks["ids"])
        rng.shuffle(self.update_ids)

    def pick(self, key: str, i: int) -> Any:
        values = self.p[key]
        return values[i % len(values)]

    async def list_page1(self, c: Client, i: int) -> tuple[float, int, dict[str, Any]]:
        dt, r = await timed(c.http.get(f"{API}/customers", params={"limit": 50}))
        return dt, r.status_code, {}

    async def list_deep_filter_sort(self, c: Client, i: int) -> tuple[float, int, dict[str, Any]]:
        params = {
            "filter": "stage:eq:loyal",
            "sort": "name",
            "limit": 50,
            "cursor": self.deep[i % len(self.deep)],
        }
        dt, r = await timed(c.http.get(f"{API}/customers", params=params))
        return dt, r.status_code, {}

    async def _search(self, c: Client, q: str) -> tuple[float, int, dict[str, Any]]:
        dt, r = await timed(c.http.get(f"{API}/customers", params={"q": q, "limit": 50}))
        body = r.json() if r.status_code == 200 else {}
        return dt, r.status_code, {"matches": body.get("total", 0), "capped": body.get("total_capped", False)}

    async def search_name(self, c: Client, i: int) -> tuple[float, int, dict[str, Any]]:
        return await self._search(c, self.pick("frag2", i))

    async def search_pinyin(self, c: Client, i: int) -> tuple[float, int, dict[str, Any]]:
        return await self._search(c, self.pick("initials", i))

    async def search_phone(self, c: Client, i: int) -> tuple[float, int, dict[str, Any]]:
        return await self._search(c, self.pick("digits", i))

    async def get(self, c: Client, i: int) -> tuple[float, int, dict[str, Any]]:
        dt, r = await timed(c.http.get(f"{API}/customers/{self.pick('ids', i * 7919)}"))
        return dt, r.status_code, {}

    def new_customer(self, i: int) -> dict[str, Any]:
        rng = random.Random(f"{self.p['workspace_id']}-{i}-{time.time_ns()}")
        brand = "".join(
            rng.choice("华瑞金鼎恒信丰博远德润盛天泽海纳众联致汇通启明新航同创嘉禾宏达") for _ in range(2)
        )
        mobile = f"{rng.choice(('135', '138', '139', '158', '186', '188'))}{rng.randrange(10**8):08d}"
        return {
            "kind": "company",
            "name": f"上海{brand}基准测试科技有限公司{rng.randrange(10**6)}",
            "industry": "互联网",
            "size": "21-100",
            "province": "上海市",
            "city": "上海市",
            "district": "浦东新区",
            "address": f"张江路{rng.randint(1, 999)}号",
            "phones": [mobile],
            "emails": [f"info{rng.randrange(10**8)}@bench-test.com"],
            "source": "web",
            "stage": "potential",
            "grade": "C",
            "tags": ["展会线索"],
            "custom": {"intent": "high", "budget": 120000, "products": ["saas"]},
            "notes": "基准测试创建的客户。",
        }

    async def create(self, c: Client, i: int) -> tuple[float, int, dict[str, Any]]:
        dt, r = await timed(c.http.post(f"{API}/customers", json=self.new_customer(i), headers=c.csrf()))
        if r.status_code == 201:
            self.created.append(r.json()["id"])
        return dt, r.status_code, {}

    async def update(self, c: Client, i: int) -> tuple[float, int, dict[str, Any]]:
        cid = self.update_ids[i % len(self.update_ids)]
        got = await c.http.get(f"{API}/customers/{cid}")
        if got.status_code != 200:
            return 0.0, got.status_code, {}
        stage = STAGES[(STAGES.index(got.json()["stage"]) + 1) % len(STAGES)]
        body = {"stage": stage, "notes": f"基准测试更新 #{i} {datetime.now(UTC):%H:%M:%S.%f}"}
        headers = c.csrf() | {"If-Match": got.headers["etag"]}
        c.mark()
        dt, r = await timed(c.http.patch(f"{API}/customers/{cid}", json=body, headers=headers))
        return dt, r.status_code, {}


    async def timeline(self, c: Client, i: int) -> tuple[float, int, dict[str, Any]]:
        cursor = self.timeline_cursors[(i * 7919) % len(self.timeline_cursors)]
        params: dict[str, Any] = {"limit": 50} | ({"cursor": cursor} if cursor else {})
        dt, r = await timed(c.http.get(f"{API}/customers/{self.timeline_customer}/timeline", params=params))
        return dt, r.status_code, {}


async def timeline_walk(c: Client, customer_id: int, limit: int = 50) -> tuple[list[str | None], int]:
    """Every page's cursor of the customer's timeline (None = the first page), and the number of entries."""
    cursors: list[str | None] = [None]
    entries = 0
    while True:
        params: dict[str, Any] = {"limit": limit} | ({"cursor": cursors[-1]} if cursors[-1] else {})
        r = await c.http.get(f"{API}/customers/{customer_id}/timeline", params=params)
        r.raise_for_status()
        entries += len(r.json()["items"])
        nxt = r.json()["next_cursor"]
        if nxt is None:
            return cursors, entries
        cursors.append(nxt)


async def timeline_customer(c: Client, raw: Raw, concurrency: int) -> tuple[int, list[str | None]]:
    """The bench workspace's first customer, given TIMELINE_ENTRIES timeline entries through the API once
    (interactions, a field change every 10th) and kept in the database for later runs."""
    rows = await raw.fetch("SELECT min(c.id) FROM customers c JOIN workspaces w ON w.id = c.workspace_id "
                           "WHERE w.slug = 'bench' AND c.deleted_at IS NULL")
    cid = int(rows[0][0])
    missing = TIMELINE_ENTRIES - (await timeline_walk(c, cid, 200))[1]
    if missing > 0:
        print(f"  timeline: adding ~{missing:,} entries to customer {cid} through the API (once)", flush=True)
        started = datetime(2024, 1, 1, tzinfo=UTC)
        todo = iter(range(missing))

        async def worker() -> None:
            for n in todo:
                if n % 10 == 9:
                    got = await c.http.get(f"{API}/customers/{cid}")
                    stage = STAGES[(STAGES.index(got.json()["stage"]) + 1) % len(STAGES)]
                    await c.http.patch(f"{API}/customers/{cid}", json={"stage": stage},
                                       headers=c.csrf() | {"If-Match": got.headers["etag"]})
                    continue
                at = started.timestamp() + n * 3600
                body = {"customer_id": cid, "channel": CHANNELS[n % len(CHANNELS)], "direction": "outbound",
                        "occurred_at": datetime.fromtimestamp(at, UTC).isoformat(), "duration_minutes": 15,
                        "subject": f"第{n + 1}次跟进", "summary": "沟通了项目进度与报价，客户希望下周安排演示。",
                        "outcome": "客户有意向", "next_step": "发送报价单"}
                r = await c.http.post(f"{API}/interactions", json=body, headers=c.csrf())
                if r.status_code >= 400 and r.status_code != 412:
                    raise SystemExit(f"timeline setup: {r.status_code} {r.text[:200]}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    # fresh statistics for the tables just filled, as autovacuum / the migrations' ANALYZE give a running system
    for table in ("interactions", "domain_events", "tasks", "customers"):
        await raw.fetch(f"ANALYZE {table}")
    cursors, entries = await timeline_walk(c, cid)
    print(f"  timeline: customer {cid} has {entries:,} entries ({len(cursors)} pages of 50)", flush=True)
    return cid, cursors


async def deep_cursors(c: Client, skip_pages: int, pages: int) -> list[str]:
    """Follow next_cursor skip_pages pages into the filtered, sorted list; return the cursors after that."""
    cursor: str | None = None
    out: list[str] = []
    for n in range(skip_pages + pages):
        params: dict[str, Any] = {"filter": "stage:eq:loyal", "sort": "name", "limit": 50}
        if cursor:
            params["cursor"] = cursor
        r = await c.http.get(f"{API}/customers", params=params)
        r.raise_for_status()
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
        if n + 1 >= skip_pages:
            out.append(cursor)
    if not out:
        raise SystemExit("the filtered list is too short for the deep-page scenario")
    return out


async def run_http(
    c: Client, fn: Request, n: int, concurrency: int, warmup: int, on_start: Callable[[], None] = lambda: None
) -> dict[str, Any]:
    async def drive(
        indices: list[int], record: bool, lat: list[float], infos: list[dict[str, Any]], errors: list[str]
    ) -> None:
        it = iter(indices)

        async def worker() -> None:
            for i in it:
                dt, status, info = await fn(c, i)
                if status >= 400 or status == 0:
                    errors.append(str(status))
                    continue
                if record:
                    lat.append(dt * 1000)
                    infos.append(info)

        await asyncio.gather(*(worker() for _ in range(concurrency)))

    scratch: list[Any] = []
    await drive(list(range(10_000, 10_000 + warmup)), False, [], [], scratch)
    lat: list[float] = []
    infos: list[dict[str, Any]] = []
    errors: list[str] = []
    on_start()
    t0 = time.time()
    p0 = time.perf_counter()
    await drive(list(range(n)), True, lat, infos, errors)
    wall = time.perf_counter() - p0
    return {"lat": lat, "infos": infos, "errors": errors, "wall": wall, "t0": t0, "t1": time.time()}


# ---------------------------------------------------------------------------------------------- SQL capture


class Capture:
    """The application in-process, with every statement it sends recorded per request."""

    def __init__(self, kind: str, async_url: str) -> None:
        from sqlalchemy import event

        from guanxi.app import create_app
        from guanxi.config import Settings
        from guanxi.db import Database

        outer = self

        class CaptureDatabase(Database):
            @asynccontextmanager
            async def session(self):  # type: ignore[no-untyped-def]
                async with self.sessionmaker() as s:
                    try:
                        yield s
                        if outer.rollback:
                            await s.rollback()
                        else:
                            await s.commit()
                    except BaseException:
                        await s.rollback()
                        raise

        self.rollback = False
        self.recording: list[tuple[str, Any, bool]] | None = None
        self.db = CaptureDatabase(async_url)

        def on_execute(
            conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
        ) -> None:
            if self.recording is not None:
                self.recording.append((statement, parameters, executemany))

        event.listen(self.db.engine.sync_engine, "before_cursor_execute", on_execute)
        app = create_app(
            Settings(database_url=async_url, secret_key="bench", log_level="warning"), database=self.db
        )
        self.client = Client("http://bench.local", 1, transport=httpx.ASGITransport(app=app))
        self.client.mark = lambda: self.recording.clear() if self.recording is not None else None

    async def request(self, fn: Request, i: int) -> tuple[list[tuple[str, Any, bool]], dict[str, Any]]:
        self.recording = []
        try:
            _, status, info = await fn(self.client, i)
        finally:
            stmts, self.recording = self.recording, None
        if status >= 400:
            raise RuntimeError(f"captured request failed with {status}")
        return stmts, info

    async def close(self) -> None:
        await self.client.close()
        await self.db.dispose()


async def replay(
    raw: Raw, stmts: list[tuple[str, Any, bool]], write: bool, created_id: int | None = None
) -> float:
    """Seconds to run the statements back to back on the raw driver (writes: in a rolled-back transaction).

    A captured create inserted a customer whose id was rolled back; on PostgreSQL the replayed INSERT gets
    another id from the sequence, so later parameters equal to the captured id are mapped to the new one
    (SQLite re-uses the rolled-back rowid, so the map stays empty there)."""
    id_map: dict[int, int] = {}

    def mapped(params: Any) -> Any:
        if not id_map or params is None:
            return params
        if isinstance(params, dict):
            return {k: id_map.get(v, v) if type(v) is int else v for k, v in params.items()}
        return type(params)(id_map.get(v, v) if type(v) is int else v for v in params)

    def note_insert(sql: str, rows: list[Any]) -> None:
        if (
            write
            and created_id is not None
            and sql.startswith("INSERT INTO customers ")
            and rows
            and rows[0][0] != created_id
        ):
            id_map[created_id] = rows[0][0]

    if raw.kind == "sqlite":
        conn = raw.conn
        if write:
            conn.execute("BEGIN")
        t0 = time.perf_counter()
        try:
            for sql, params, many in stmts:
                if many:
                    conn.executemany(sql, [mapped(p) for p in params])
                else:
                    rows = conn.execute(sql, mapped(params) if params is not None else ()).fetchall()
                    note_insert(sql, rows)
            return time.perf_counter() - t0
        finally:
            if write:
                conn.execute("ROLLBACK")
    conn = raw.conn
    tr = conn.transaction() if write else None
    if tr:
        await tr.start()
    t0 = time.perf_counter()
    try:
        for sql, params, many in stmts:
            if many:
                await conn.executemany(sql, [mapped(tuple(p)) for p in params])
            else:
                rows = await conn.fetch(sql, *(mapped(tuple(params)) if params else ()))
                note_insert(sql, rows)
        return time.perf_counter() - t0
    finally:
        if tr:
            await tr.rollback()


async def measure_sql(
    raw: Raw, cap: Capture, sc: Scenarios, name: str, samples: int, repeat: int
) -> dict[str, Any]:
    fn: Request = getattr(sc, name)
    write = name in ("create", "update")
    captured: list[tuple[list[tuple[str, Any, bool]], int | None]] = []
    cap.rollback = True
    try:
        for i in range(samples):
            before = len(sc.created)
            stmts, _ = await cap.request(fn, i)
            created = (
                sc.created.pop() if len(sc.created) > before else None
            )  # rolled back: nothing to clean up
            captured.append((stmts, created))
    finally:
        cap.rollback = False
    times: list[float] = []
    per_stmt: dict[str, list[float]] = {}
    for _ in range(repeat):
        for stmts, created in captured:
            times.append(await replay(raw, stmts, write, created) * 1000)
    # the costliest single statement (for diagnosis), timed alone on the first captured request
    if not write:
        for sql, params, many in captured[0][0]:
            t = await replay(raw, [(sql, params, many)], False) * 1000
            per_stmt.setdefault(sql, []).append(t)
    SQL_DUMP.setdefault(
        name, [{"sql": sql, "params": params, "executemany": many} for sql, params, many in captured[0][0]]
    )
    out: dict[str, Any] = {
        "sql_p50_ms": round(statistics.median(times), 2),
        "sql_statements": round(statistics.mean(len(s) for s, _ in captured), 1),
    }
    if per_stmt:
        slowest = max(per_stmt.items(), key=lambda kv: max(kv[1]))
        out["sql_slowest_statement"] = re.sub(r"\s+", " ", slowest[0])[:400]
        out["sql_slowest_ms"] = round(max(slowest[1]), 2)
    return out


SQL_DUMP: dict[str, Any] = {}


def app_version() -> str:
    """The application's git commit (+ "-dirty" when src/ has uncommitted changes), for the record."""
    import subprocess

    root = HERE.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# ---------------------------------------------------------------------------------------------- CPU

TICK = os.sysconf("SC_CLK_TCK")


def tree_pids(pid: int) -> list[int]:
    out, queue = [], [pid]
    while queue:
        p = queue.pop()
        out.append(p)
        for f in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                queue += [int(x) for x in f.read_text().split()]
            except OSError:
                pass
    return out


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return 0.0


def cpu_snapshot(server_pid: int | None) -> tuple[float, float, float, float]:
    """(wall, machine busy CPU s, server tree CPU s, this process's CPU s)."""
    parts = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    ticks = [int(x) for x in parts]
    busy = (sum(ticks[:8]) - ticks[3] - ticks[4]) / TICK  # all but idle and iowait
    server = sum(proc_cpu(p) for p in tree_pids(server_pid)) if server_pid else 0.0
    return time.perf_counter(), busy, server, time.process_time()


def cpu_usage(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> dict[str, float]:
    """Average cores used during the interval: by the server, by this client, by everything else."""
    wall = max(b[0] - a[0], 1e-9)
    busy, server, client = b[1] - a[1], b[2] - a[2], b[3] - a[3]
    return {
        "server_cpu_cores": round(server / wall, 2),
        "client_cpu_cores": round(client / wall, 2),
        "other_cpu_cores": round(max(0.0, busy - server - client) / wall, 2),
    }


# ---------------------------------------------------------------------------------------------- RSS


def rss_peak(log: Path | None, t0: float, t1: float) -> float | None:
    if not log or not log.exists():
        return None
    samples = []
    for line in log.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                samples.append((float(parts[0]), int(parts[1])))
            except ValueError:
                continue
    inside = [kb for t, kb in samples if t0 <= t <= t1]
    if not inside:  # a very short scenario: the nearest sample
        near = min(samples, key=lambda s: min(abs(s[0] - t0), abs(s[0] - t1)), default=None)
        inside = [near[1]] if near else []
    return round(max(inside) / 1024, 1) if inside else None


# ---------------------------------------------------------------------------------------------- output


def merge(entries: list[dict[str, Any]], results: Path = RESULTS) -> list[dict[str, Any]]:
    results.parent.mkdir(parents=True, exist_ok=True)
    old: list[dict[str, Any]] = []
    if results.exists():
        try:
            old = json.loads(results.read_text())
        except json.JSONDecodeError:
            old = []
    keys = {(e["scenario"], e["database"]) for e in entries}
    merged = [e for e in old if (e.get("scenario"), e.get("database")) not in keys] + entries
    order = list(SCENARIOS)
    merged.sort(
        key=lambda e: (
            e["database"] != "sqlite",
            e["database"],
            order.index(e["scenario"]) if e["scenario"] in order else 99,
        )
    )
    results.write_text(json.dumps(merged, ensure_ascii=False, indent=2) + "\n")
    results.with_suffix(".md").write_text(table(merged) + "\n")
    return merged


def table(entries: list[dict[str, Any]]) -> str:
    head = (
        "| scenario | database | customers | p50 ms | p95 ms | p99 ms | rps | sql p50 ms | server RSS MB "
        "| target p95 | ok |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|:-:|\n"
    )
    rows = []
    for e in entries:
        rows.append(
            f"| {e['scenario']} | {e['database']} | {e['customers']:,} | {e['p50_ms']} | {e['p95_ms']} | "
            f"{e['p99_ms']} | {e['rps']} | {e.get('sql_p50_ms', '')} | {e.get('server_rss_mb') or ''} | "
            f"{e.get('target_p95_ms', '')} | {'✅' if e.get('meets_target') else '❌'} |"
        )
    return head + "\n".join(rows)


# ---------------------------------------------------------------------------------------------- main


async def main_async(args: argparse.Namespace) -> int:
    kind, async_url, raw_url = urls(args.database_url)
    if kind != args.database:
        raise SystemExit(f"--database {args.database} but the URL is {kind}")
    rng = random.Random(args.seed)
    if args.warm:
        warm_files(kind, raw_url)
    raw = Raw(kind, raw_url)
    await raw.open()
    picks = await pick_values(raw, rng, args.requests + args.warmup)
    print(
        f"[{kind}] picked {len(picks['ids'])} ids, {len(picks['frag2'])} name fragments "
        f"(e.g. {picks['frag2'][:4]}), {len(picks['initials'])} initials (e.g. {picks['initials'][:4]}), "
        f"{len(picks['digits'])} phone fragments (e.g. {picks['digits'][:4]})",
        flush=True,
    )

    wanted = [s for s in SCENARIOS if not args.scenarios or s in args.scenarios.split(",")]
    results: dict[str, dict[str, Any]] = {}
    if args.sql_only:  # no server needed: the in-process app walks the deep cursors too
        cap = Capture(kind, async_url)
        await cap.client.login()
        tl = await timeline_customer(cap.client, raw, 1) if "timeline" in wanted else None
        sc = Scenarios(picks, await deep_cursors(cap.client, args.deep_skip, args.deep_pages), rng, tl)
        for name in wanted:
            results[name] = {"scenario": name}
            results[name].update(await measure_sql(raw, cap, sc, name, args.sql_samples, args.sql_repeat))
            print(f"  {name:24s} {json.dumps(results[name], ensure_ascii=False)}", flush=True)
        await cap.close()
        await raw.close()
        dump = HERE / "var" / f"sql-{kind}.json"
        dump.write_text(json.dumps(SQL_DUMP, ensure_ascii=False, indent=1, default=str))
        print(f"captured statements of one request per scenario: {dump} (nothing merged into latest.json)")
        return 0
    commit = app_version()
    c = Client(args.base_url, args.concurrency)
    await c.login()
    deep = await deep_cursors(c, args.deep_skip, args.deep_pages)
    tl = await timeline_customer(c, raw, args.concurrency) if "timeline" in wanted else None
    sc = Scenarios(picks, deep, rng, tl)
    load = os.getloadavg()[0]
    for name in wanted:
        cpu0: list[Any] = []
        run = await run_http(
            c,
            getattr(sc, name),
            args.requests,
            args.concurrency,
            args.warmup,
            on_start=lambda cpu0=cpu0: cpu0.append(cpu_snapshot(args.server_pid)),
        )
        cpu = cpu_usage(cpu0[0], cpu_snapshot(args.server_pid))
        lat = run["lat"]
        if not lat:
            raise SystemExit(f"{name}: every request failed ({run['errors'][:5]})")
        target = SCENARIOS[name][0]
        entry: dict[str, Any] = {
            "scenario": name,
            "database": kind,
            "customers": args.customers,
            "p50_ms": round(pct(lat, 50), 1),
            "p95_ms": round(pct(lat, 95), 1),
            "p99_ms": round(pct(lat, 99), 1),
            "rps": round(len(lat) / run["wall"], 1),
            "sql_p50_ms": None,
            "server_rss_mb": rss_peak(Path(args.rss_log) if args.rss_log else None, run["t0"], run["t1"]),
            "target_p95_ms": target,
            "requests": len(lat),
            "errors": len(run["errors"]),
            "concurrency": args.concurrency,
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "load_avg_1m_before": round(load, 2),
            "app_commit": commit,
            **cpu,
        }
        entry["meets_target"] = entry["p95_ms"] <= target and not run["errors"]
        if name.startswith("search"):
            matches = [i.get("matches", 0) for i in run["infos"]]
            entry["matches_median"] = statistics.median(matches)
            entry["matches_capped_share"] = round(
                sum(1 for i in run["infos"] if i.get("capped")) / len(lat), 2
            )
            entry["matches_2000_share"] = round(sum(1 for m in matches if m >= 2000) / len(lat), 2)
        results[name] = entry
        print(
            f"  {name:24s} p50 {entry['p50_ms']:7.1f}  p95 {entry['p95_ms']:7.1f}  p99 {entry['p99_ms']:7.1f} ms  "
            f"{entry['rps']:6.1f} req/s  rss {entry['server_rss_mb']} MB  errors {entry['errors']}  "
            f"cpu server {cpu['server_cpu_cores']} client {cpu['client_cpu_cores']} "
            f"other {cpu['other_cpu_cores']}",
            flush=True,
        )
        load = os.getloadavg()[0]

    # clean up what the create scenario added (not timed): recycle bin, then purge
    for cid in sc.created:
        await c.http.delete(f"{API}/customers/{cid}", headers=c.csrf())
        await c.http.delete(f"{API}/customers/{cid}/purge", headers=c.csrf())
    sc.created.clear()
    await c.close()

    if not args.no_sql:
        cap = Capture(kind, async_url)
        await cap.client.login()
        for name in wanted:
            sql = await measure_sql(raw, cap, sc, name, args.sql_samples, args.sql_repeat)
            results[name].update(sql)
            slow = (
                f"; slowest {sql['sql_slowest_ms']} ms: {sql['sql_slowest_statement'][:150]}"
                if "sql_slowest_ms" in sql
                else ""
            )
            print(
                f"  {name:24s} sql p50 {sql['sql_p50_ms']:7.2f} ms over {sql['sql_statements']} statements{slow}",
                flush=True,
            )
        await cap.close()
        dump = HERE / "var" / f"sql-{kind}.json"
        dump.parent.mkdir(exist_ok=True)
        dump.write_text(json.dumps(SQL_DUMP, ensure_ascii=False, indent=1, default=str))
        print(f"  captured statements of one request per scenario: {dump}")
    await raw.close()

    if args.no_save:
        print()
        print(table(list(results.values())))
        return 0
    merged = merge(list(results.values()), Path(args.results))
    print()
    print(table([e for e in merged if e["database"] == kind]))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--database", required=True, choices=("sqlite", "postgresql"))
    ap.add_argument("--customers", type=int, required=True, help="N, for the record")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--deep-skip", type=int, default=20, help="pages to follow before the deep cursors")
    ap.add_argument(
        "--deep-pages", type=int, default=40, help="deep cursors to time (pages after --deep-skip)"
    )
    ap.add_argument(
        "--sql-samples", type=int, default=20, help="requests captured per scenario for sql_p50_ms"
    )
    ap.add_argument("--sql-repeat", type=int, default=3)
    ap.add_argument("--no-sql", action="store_true", help="skip the SQL capture and replay")
    ap.add_argument(
        "--sql-only",
        action="store_true",
        help="only capture and time the SQL, in-process (no server, --base-url is ignored)",
    )
    ap.add_argument("--rss-log", default=None, help="the server RSS sampler log written by all.sh")
    ap.add_argument(
        "--server-pid", type=int, default=None, help="to report the server's CPU use per scenario"
    )
    ap.add_argument("--scenarios", default="", help="comma-separated subset")
    ap.add_argument("--no-save", action="store_true", help="print the table, leave the results file alone")
    ap.add_argument(
        "--results", default=str(RESULTS), help="results file to merge into (default: %(default)s)"
    )
    ap.add_argument("--warm", action="store_true", help="read the database files first (warm OS page cache)")
    ap.add_argument("--seed", type=int, default=7)
    return asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
