"""Duplicates and merge at scale: the 查重合并 page, merge and undo, against a bench database (see generate.py).

    python bench/dedupe.py --database-url sqlite:///bench/var/sqlite/guanxi.db [--requests 40]

In-process (ASGI, one request at a time), so the numbers are the server's own time per request without the
network or queueing. Also times the per-request GROUP BY that the kept duplicate_groups table replaces.
Prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

import httpx
from sqlalchemy import text

from guanxi.app import create_app
from guanxi.config import Settings
from guanxi.db import Database

PASSWORD = "bench-pass-123"
USERS = {"admin": "bench-admin@example.com", "manager": "lina@bench.example.com", "sales": "zhangwei@bench.example.com",
         "sales_narrow": "daniel@bench.example.com"}  # owners of 22 % and 5 % of the bench customers


def async_url(url: str) -> str:
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url.removeprefix("postgresql://")
    return url


def stats(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    return {"n": len(s), "p50_ms": round(statistics.median(s), 2), "p95_ms": round(s[int(0.95 * (len(s) - 1))], 2),
            "max_ms": round(s[-1], 2)}


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--requests", type=int, default=40)
    args = ap.parse_args()
    db = Database(async_url(args.database_url))
    app = create_app(Settings(database_url=async_url(args.database_url), secret_key="bench", log_level="warning",
                              jobs_in_process=False), database=db)
    out: dict[str, Any] = {"database": db.kind}
    async with db.session() as s:
        out["customers"] = await s.scalar(text("SELECT count(*) FROM customers"))
        out["groups"] = dict((await s.execute(text(
            "SELECT entity || ':' || kind, count(*) FROM duplicate_groups GROUP BY entity, kind"))).all())
        t0 = time.perf_counter()
        naive = (await s.execute(text(
            "SELECT count(*) FROM (SELECT kind, value FROM customer_identities WHERE workspace_id = "
            "(SELECT min(id) FROM workspaces) GROUP BY kind, value HAVING count(*) > 1) g"))).scalar()
        out["naive_group_by"] = {"groups": naive, "ms": round((time.perf_counter() - t0) * 1000, 1)}

    clients: dict[str, httpx.AsyncClient] = {}
    for who, email in USERS.items():
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench.local/api/v1",
                              timeout=120)
        r = await c.post("/auth/login", json={"login": email, "password": PASSWORD})
        r.raise_for_status()
        c.headers["X-CSRF-Token"] = c.cookies.get("guanxi_csrf") or ""
        clients[who] = c

    async def timed(who: str, method: str, url: str, **kw: Any) -> tuple[float, httpx.Response]:
        t = time.perf_counter()
        r = await clients[who].request(method, url, **kw)
        ms = (time.perf_counter() - t) * 1000
        assert r.status_code < 400, r.text
        return ms, r

    async def pages(who: str, url: str, n_pages: int) -> tuple[list[float], list[int], list[dict[str, Any]]]:
        """Follow the cursor; time every page; groups per page."""
        times, sizes, items, cursor = [], [], [], None
        for _ in range(n_pages):
            ms, r = await timed(who, "GET", url + (f"&cursor={cursor}" if cursor else ""))
            body = r.json()
            times.append(ms)
            sizes.append(len(body["items"]))
            items += body["items"]
            cursor = body["next_cursor"]
            if not cursor:
                break
        return times, sizes, items

    for who in USERS:
        await pages(who, "/duplicates/customers?limit=20", 1)  # warm
        first = [(await timed(who, "GET", "/duplicates/customers?limit=20"))[0] for _ in range(args.requests)]
        walk, sizes, _ = await pages(who, "/duplicates/customers?limit=20", 30)
        out[f"customers_page1_{who}"] = stats(first)
        out[f"customers_walk30_{who}"] = {**stats(walk), "pages": len(walk), "groups": sum(sizes),
                                          "empty_pages": sum(1 for x in sizes if x == 0)}
    contacts = [(await timed("admin", "GET", "/duplicates/contacts?limit=20"))[0] for _ in range(args.requests)]
    out["contacts_page1_admin"] = stats(contacts)

    _, _, items = await pages("admin", "/duplicates/customers?limit=50", 4)
    pairs = [g for g in items if len(g["members"]) == 2][: args.requests]
    one = [(await timed("admin", "GET", f"/duplicates/customers?customer_id={g['members'][0]['id']}"))[0]
           for g in pairs]
    out["customers_for_one"] = stats(one)
    merges, undos, moved = [], [], []
    for g in pairs[: max(5, args.requests // 4)]:
        a, b = g["members"]
        # a customer can be in more than one pair, and undo moves its version on: read them fresh (untimed)
        a = (await clients["admin"].get(f"/customers/{a['id']}")).json()
        b = (await clients["admin"].get(f"/customers/{b['id']}")).json()
        ms, r = await timed("admin", "POST", "/customers/merge", json={
            "survivor_id": a["id"], "merged_ids": [b["id"]],
            "versions": {str(a["id"]): a["version"], str(b["id"]): b["version"]}})
        merges.append(ms)
        moved.append(r.json()["moved"])
        ms, _ = await timed("admin", "POST", f"/customers/merges/{r.json()['merge_id']}/undo")
        undos.append(ms)
    out["merge"] = {**stats(merges), "moved_example": moved[0] if moved else None}
    out["undo"] = stats(undos)
    for c in clients.values():
        await c.aclose()
    await db.dispose()
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
