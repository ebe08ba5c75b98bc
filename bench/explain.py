#!/usr/bin/env python
"""Show the query plans of the SQL that bench/run.py captured (bench/var/sql-<database>.json).

    python bench/explain.py --database-url URL [--scenario list_deep_filter_sort] [--analyze]

SQLite: EXPLAIN QUERY PLAN plus the statement's time on sqlite3.  PostgreSQL: EXPLAIN (ANALYZE, BUFFERS)
with --analyze (reads only; writes are skipped), plain EXPLAIN otherwise, on asyncpg with the captured
parameters.  Statements shorter than --min-ms (timed once) are listed without their plan.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

HERE = Path(__file__).resolve().parent


def short(sql: str) -> str:
    sql = re.sub(
        r"SELECT customers\.kind, .*? FROM customers",
        "SELECT customers.* FROM customers",
        sql,
        flags=re.DOTALL,
    )
    sql = re.sub(r"(\$\d+::BIGINT, ){8,}", "$…, ", sql)
    sql = re.sub(r"(\?, ){8,}", "?, …, ", sql)
    return re.sub(r"\s+", " ", sql).strip()


async def main_async(args: argparse.Namespace) -> int:
    u = make_url(args.database_url)
    kind = "sqlite" if u.drivername.startswith("sqlite") else "postgresql"
    captured = json.loads((HERE / "var" / f"sql-{kind}.json").read_text())
    if kind == "sqlite":
        conn: Any = sqlite3.connect(str(Path(u.database or "").resolve()))
        for pragma in ("cache_size=-16384", "mmap_size=67108864", "temp_store=MEMORY"):
            conn.execute(f"PRAGMA {pragma}")
    else:
        import asyncpg

        conn = await asyncpg.connect(u.set(drivername="postgresql").render_as_string(hide_password=False))
    for scenario, stmts in captured.items():
        if args.scenario and scenario != args.scenario:
            continue
        print(f"\n===== {scenario}")
        for st in stmts:
            sql, params, many = st["sql"], st["params"], st["executemany"]
            is_read = sql.lstrip().upper().startswith("SELECT")
            if many or not is_read:
                print(f"\n-- (write, not run) {short(sql)[:300]}")
                continue
            if kind == "sqlite":
                t0 = time.perf_counter()
                conn.execute(sql, params or ()).fetchall()
                ms = (time.perf_counter() - t0) * 1000
                print(f"\n-- {ms:.2f} ms  {short(sql)[:600]}")
                if ms >= args.min_ms:
                    for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params or ()):
                        print(f"     {row[3]}")
            else:
                t0 = time.perf_counter()
                await conn.fetch(sql, *(params or ()))
                ms = (time.perf_counter() - t0) * 1000
                print(f"\n-- {ms:.2f} ms  {short(sql)[:600]}")
                if ms >= args.min_ms:
                    explain = "EXPLAIN (ANALYZE, BUFFERS) " if args.analyze else "EXPLAIN "
                    for row in await conn.fetch(explain + sql, *(params or ())):
                        print(f"     {row[0]}")
    if kind == "sqlite":
        conn.close()
    else:
        await conn.close()
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--scenario", default="")
    ap.add_argument("--analyze", action="store_true", help="PostgreSQL: EXPLAIN (ANALYZE, BUFFERS)")
    ap.add_argument("--min-ms", type=float, default=1.0, help="show plans of statements at least this slow")
    return asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
