"""The floor of an import on SQLite: what SQLite itself spends writing the rows an import writes, with none of the
app's Python.

It takes a database that `bench/import_bench.py` filled (by default the 1,000,000-row one) and replays its
imported customers, batch after batch in id order, into a new database with the same schema, through the plain
`sqlite3` module: one `executemany` per table per batch of 5,000 customers and one commit per batch, as the
import's writer does, with the import's connection settings (WAL, synchronous=NORMAL, foreign keys on, a 64 MB
page cache). The values are read from the source database before each timed step, so only SQLite's work (and
the driver's binding of the values) is timed.

Variants (each a full replay into its own new database):

* `today`    — what an import writes now: the duplicate lookup of the batch's phones, emails and names, the
               customers, their identities, the FTS5 search documents, one audit row and one event per customer.
* `no-audit` — the same without the audit rows and the events.
* `trigram`  — customers, identities and the lookup, with an FTS5 trigram table on the plain search text
               (folded name, pinyin, phone digits, emails) instead of today's search documents: the cheapest search
               index measured for SQLite (bench/README, "Next").
* `trigram+audit` — `trigram` with the audit rows and events: the cheapest design that stores everything an
               import must store while the CRM stays usable (every index kept up to date as the rows arrive).
* `minimum`  — customers, identities and the lookup only: no search index, no audit, no event.
* `rebuild`  — what `minimum` stores, written into tables without their secondary indexes, which are then built
               once at the end (`CREATE INDEX`, sorted): a bulk load into a database nobody else uses meanwhile.
* `offline`  — the most favourable SQLite can do with what an import must store: the customers, identities,
               audit rows and events written into tables without secondary indexes, then the indexes built and the
               trigram search table filled at the end. Only possible while nobody else uses the database.
* `bare`     — the customers alone into a table without its secondary indexes: what the row itself costs.

With `--python` it first measures the least Python an import does per row whatever it checks: reading the CSV
file into cells (`imports.files.records`, as the import's worker does) and handing the raw cells of each batch from
one process to the other (pickling and unpickling them; the worker hands over cleaned rows, which cost more).

For each variant it prints one JSON line: µs per customer for each step (CPU of this process, which is SQLite's work;
and wall), the total, and the ceiling it implies for a single writer (1,000,000 / total µs rows per second). The
import's target is 20,000 rows/s: 50 µs per row for everything, on two cores.

    .venv/bin/python bench/import_floor.py                       # all variants, 1,000,000 customers
    .venv/bin/python bench/import_floor.py --rows 100000 --variants today,minimum
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIG = ("customers", "customer_identities", "audit_log", "domain_events")
STEPS = ("lookup", "customers", "identities", "search", "audit", "events", "commit", "indexes")
VARIANTS = {
    "today": {"lookup", "customers", "identities", "search", "audit", "events"},
    "no-audit": {"lookup", "customers", "identities", "search"},
    "trigram": {"lookup", "customers", "identities", "trigram"},
    "trigram+audit": {"lookup", "customers", "identities", "trigram", "audit", "events"},
    "minimum": {"lookup", "customers", "identities"},
    "rebuild": {"customers", "identities", "bare", "rebuild"},
    "offline": {"customers", "identities", "audit", "events", "bare", "rebuild", "trigram", "late"},
    "bare": {"customers", "bare"},
}


CACHE_MB = 64  # the import's connection (runner.IMPORT_CACHE_KB)


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, uri=True)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", f"cache_size=-{CACHE_MB * 1024}",
                   "mmap_size=0", "temp_store=MEMORY"):
        db.execute(f"PRAGMA {pragma}")
    return db


def new_target(src: Path, dst: Path, variant: set[str]) -> tuple[sqlite3.Connection, list[str]]:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{dst}{suffix}").unlink(missing_ok=True)
    db = connect(dst)
    db.execute("ATTACH DATABASE ? AS src", (f"file:{src}?mode=ro",))
    schema = db.execute("SELECT type, name, tbl_name, sql FROM src.sqlite_master WHERE sql IS NOT NULL "
                        "ORDER BY type = 'index', rowid").fetchall()
    shadow = {n for t, n, _, _ in schema if n.startswith("customer_fts_")}
    later = []  # indexes left out ("bare", "rebuild")
    db.execute("PRAGMA foreign_keys=OFF")  # the small tables are copied in any order
    db.execute("BEGIN")
    for kind, name, table, sql in schema:
        if name in shadow or name.startswith("sqlite_"):
            continue
        unindexed = ("customers", "customer_identities") + (("audit_log", "domain_events") if "late" in variant else ())
        if kind == "index" and "bare" in variant and table in unindexed:
            later.append(sql)
            continue
        if kind == "table" and name == "customer_fts" and "trigram" in variant:
            sql = "CREATE VIRTUAL TABLE customer_fts USING fts5(doc, tokenize='trigram')"
        db.execute(sql)
    small = [n for k, n, _, _ in schema if k == "table" and n not in BIG and n not in shadow
             and not n.startswith("sqlite_") and n != "customer_fts"]
    for name in small:
        db.execute(f"INSERT INTO main.{name} SELECT * FROM src.{name}")
    db.execute("COMMIT")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("DETACH DATABASE src")
    return db, later


def search_text(row: dict) -> str:
    phones = " ".join(p.lstrip("+").removeprefix("86") for p in json.loads(row["phones"] or "[]"))
    emails = " ".join(json.loads(row["emails"] or "[]"))
    return " ".join(x for x in (row["name_fold"], row["name_pinyin"], phones, emails) if x)


def replay(src: Path, dst: Path, name: str, rows: int, batch: int) -> dict:
    variant = VARIANTS[name]
    db, later = new_target(src, dst, variant)
    s = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    s.row_factory = sqlite3.Row
    ids = [r[0] for r in s.execute("SELECT id FROM customers ORDER BY id LIMIT ?", (rows,))]
    cols = [r[1] for r in s.execute("PRAGMA table_info(customers)")]
    icols = [r[1] for r in s.execute("PRAGMA table_info(customer_identities)") if r[1] != "id"]
    acols = [r[1] for r in s.execute("PRAGMA table_info(audit_log)") if r[1] != "id"]
    ecols = [r[1] for r in s.execute("PRAGMA table_info(domain_events)") if r[1] != "id"]
    ins = {
        "customers": f"INSERT INTO customers ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})",
        "identities": f"INSERT INTO customer_identities ({','.join(icols)}) VALUES ({','.join('?' * len(icols))})",
        "search": "INSERT INTO customer_fts(rowid, doc) VALUES (?, ?)",
        "audit": f"INSERT INTO audit_log ({','.join(acols)}) VALUES ({','.join('?' * len(acols))})",
        "events": f"INSERT INTO domain_events ({','.join(ecols)}) VALUES ({','.join('?' * len(ecols))})",
    }
    lookup = ("SELECT i.value, min(i.customer_id) FROM customer_identities i JOIN customers c ON c.id = i.customer_id "
              "WHERE i.workspace_id = ? AND i.kind = ? AND i.value IN (SELECT value FROM json_each(?)) "
              "AND c.deleted_at IS NULL GROUP BY i.value")
    def find(ws: int, kind: str, vals: list[str]) -> list:  # as the import sends them: one JSON array
        return db.execute(lookup, (ws, kind, json.dumps(sorted(set(vals))))).fetchall()

    cpu = dict.fromkeys(STEPS, 0.0)
    wall = dict.fromkeys(STEPS, 0.0)

    def timed(step: str, fn, *args):
        c0, w0 = time.process_time(), time.perf_counter()
        out = fn(*args)
        cpu[step] += time.process_time() - c0
        wall[step] += time.perf_counter() - w0
        return out

    done = 0
    pending: list[tuple[int, str]] = []  # "late" search documents
    for i in range(0, len(ids), batch):
        lo, hi = ids[i], ids[min(i + batch, len(ids)) - 1]
        crows = s.execute("SELECT * FROM customers WHERE id BETWEEN ? AND ? ORDER BY id", (lo, hi)).fetchall()
        irows = s.execute(f"SELECT {','.join(icols)} FROM customer_identities WHERE customer_id BETWEEN ? AND ? "
                          "ORDER BY id", (lo, hi)).fetchall()
        values = [tuple(r) for r in crows]
        idents = [tuple(r) for r in irows]
        wanted: dict[str, list[str]] = {}
        for r in irows:
            wanted.setdefault(r["kind"], []).append(r["value"])
        ws = crows[0]["workspace_id"]
        db.execute("BEGIN")
        if "lookup" in variant:
            for kind, vals in sorted(wanted.items()):
                timed("lookup", find, ws, kind, vals)
        timed("customers", db.executemany, ins["customers"], values)
        if "identities" in variant:
            timed("identities", db.executemany, ins["identities"], idents)
        if "search" in variant:
            docs = s.execute("SELECT id, c0 FROM customer_fts_content WHERE id BETWEEN ? AND ? ORDER BY id",
                             (lo, hi)).fetchall()
            timed("search", db.executemany, ins["search"], docs)
        if "trigram" in variant:
            docs = [(r["id"], search_text(r)) for r in crows]
            if "late" in variant:
                pending += docs
            else:
                timed("search", db.executemany, ins["search"], docs)
        if "audit" in variant:
            arows = s.execute(f"SELECT {','.join(acols)} FROM audit_log WHERE record_type = 'customer' AND "
                              "action = 'create' AND record_id BETWEEN ? AND ? ORDER BY id", (lo, hi)).fetchall()
            timed("audit", db.executemany, ins["audit"], [tuple(r) for r in arows])
        if "events" in variant:
            erows = s.execute(f"SELECT {','.join(ecols)} FROM domain_events WHERE record_type = 'customer' AND "
                              "kind = 'customer.created' AND record_id BETWEEN ? AND ? ORDER BY id",
                              (lo, hi)).fetchall()
            timed("events", db.executemany, ins["events"], [tuple(r) for r in erows])
        timed("commit", db.execute, "COMMIT")
        done += len(values)
    if "rebuild" in variant:
        db.execute("BEGIN")
        for sql in later:
            timed("indexes", db.execute, sql)
        if pending:
            timed("search", db.executemany, ins["search"], pending)
        timed("commit", db.execute, "COMMIT")
        timed("commit", db.execute, "PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    s.close()
    total_cpu = sum(cpu.values())
    total_wall = sum(wall.values())
    us = {k: round(v / done * 1e6, 1) for k, v in cpu.items() if wall[k]}
    return {"variant": name, "customers": done, "batch": batch,
            "cpu_us_per_row": us, "cpu_us_total": round(total_cpu / done * 1e6, 1),
            "wall_us_per_row": {k: round(v / done * 1e6, 1) for k, v in wall.items() if v},
            "wall_us_total": round(total_wall / done * 1e6, 1),
            "ceiling_rows_per_s_cpu": round(done / total_cpu) if total_cpu else None,
            "ceiling_rows_per_s_wall": round(done / total_wall) if total_wall else None,
            "cache_mb": CACHE_MB, "database_mb": round(os.path.getsize(dst) / 1e6), "load_avg": os.getloadavg()[0],
            "sqlite": sqlite3.sqlite_version}


def python_floor(csv_path: Path, batch: int) -> dict:
    import pickle
    from itertools import islice

    sys.path.insert(0, str(HERE.parent / "src"))
    from guanxi.imports import files

    with open(csv_path, encoding="utf-8-sig", newline="") as f:
        n_headers = len(next(iter(__import__("csv").reader(f))))
    rows = read = hand = 0.0
    records = files.records(csv_path, "csv", "utf-8-sig", ",", n_headers)
    while True:
        c0 = time.process_time()
        chunk = list(islice(records, batch))
        c1 = time.process_time()
        if not chunk:
            break
        pickle.loads(pickle.dumps(chunk, pickle.HIGHEST_PROTOCOL))
        c2 = time.process_time()
        read += c1 - c0
        hand += c2 - c1
        rows += len(chunk)
    return {"python": "read and hand over", "rows": int(rows), "read_us_per_row": round(read / rows * 1e6, 1),
            "handover_us_per_row": round(hand / rows * 1e6, 1), "load_avg": os.getloadavg()[0]}


def main() -> None:
    global CACHE_MB
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", type=Path, default=HERE / "var" / "import" / "guanxi-1000000.db")
    ap.add_argument("--rows", type=int, default=1_000_000, help="customers to replay (the first by id)")
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--cache-mb", type=int, default=CACHE_MB, help="SQLite page cache of the writing connection")
    ap.add_argument("--python", type=Path, nargs="?", const=HERE / "var" / "import" / "customers-1000000-20261123.csv",
                    help="also measure reading and handing over this CSV file (default: the import bench's)")
    ap.add_argument("--out", type=Path, default=HERE / "var" / "import" / "floor.db")
    args = ap.parse_args()
    CACHE_MB = args.cache_mb
    if not args.source.exists():
        sys.exit(f"{args.source}: no such database; run bench/import_bench.py first")
    if args.python:
        print(json.dumps(python_floor(args.python, args.batch)), flush=True)
    for name in filter(None, args.variants.split(",")):
        if name not in VARIANTS:
            sys.exit(f"unknown variant {name!r}; one of {', '.join(VARIANTS)}")
        print(json.dumps(replay(args.source, args.out, name, args.rows, args.batch), ensure_ascii=False), flush=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{args.out}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
