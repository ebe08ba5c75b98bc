#!/usr/bin/env python
"""Import benchmark: a realistic N-row Chinese customer CSV imported into a fresh database by the import engine.

    python bench/import_bench.py [--rows 1000000] [--gb-rows 100000] [--database-url URL] [--batch 5000]

1. A fresh database (SQLite under bench/var/import/ unless --database-url is given; PostgreSQL databases are
   dropped and re-created), migrated, with the demo company's users, teams, custom fields and channels made by
   the app's own services (bench/generate.py `create_workspace`).
2. The CSV files (cached under bench/var/import/ per row count and seed): customers from bench/generate.py's
   generator (the demo's distributions of names, cities, phones, emails, stages, grades, tags, custom fields
   and owners) written as a person would export them from another system — Chinese headers (客户名称, 手机,
   邮箱, 城市, 客户阶段, 负责人 …), labels rather than keys (忠诚客户, 老客户介绍, 是/否), owners by name.
   About 2 % of the rows repeat an earlier customer (its phone, or its name written with a space or in
   full-width in the same city), about 1 % are bad (invalid phone or email, no name, a date that is none, an
   unknown stage or owner). The main file is UTF-8 with BOM; a second, smaller file of other customers is
   GB18030.
3. Each file is imported the way the job does it: the upload checks (`files.inspect_file`), the guessed
   mapping, then `runner.run_import` — batches of validation, duplicate checks against the database and within
   the file, customers, identities, search index, one audit row and one domain event per record, checkpoint.

Prints one JSON object (rows/s, peak RSS of this process, counts) and appends it to bench/results/import.jsonl.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import multiprocessing as mp
import os
import platform
import random
import resource
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate as g

from guanxi.customers.service import SOURCE_LABELS
from guanxi.demo import data as demo

HEADERS = ["客户名称", "客户类型", "行业", "规模", "省份", "城市", "区县", "地址", "手机", "邮箱", "微信", "网址", "获客渠道",
           "客户阶段", "客户等级", "标签", "负责人", "成立日期", "备注", "预算", "意向度", "关注产品", "年框客户", "下次拜访",
           "客户成功经理"]
STAGE_LABELS = {"potential": "潜在客户", "first_purchase": "首次购买", "repeat": "重复购买", "loyal": "忠诚客户",
                "at_risk": "流失风险", "lost": "流失"}
SOURCES = {k: v[0] for k, v in SOURCE_LABELS.items()} | {s["key"]: s["label"] for s in demo.CUSTOM_SOURCES}
OPTION_LABELS = {f["key"]: {o["value"]: o["label"] for o in f["options"]} for f in demo.CUSTOM_FIELDS}
BAD = ("phone", "email", "name", "date", "stage", "owner")
_CTX: dict[str, Any] = {}


def _init(ctx: dict[str, Any]) -> None:
    _CTX.update(ctx)


def _chunk(spec: tuple[int, int, int]) -> list[list[str]]:
    """CSV rows for customers [start, start + count): deterministic per chunk."""
    index, start, count = spec
    ctx = _CTX
    gen = g.Gen(ctx, ctx["seed"] * 1_000_003 + index)
    rng = random.Random(ctx["seed"] * 7 + index)
    names = ctx["user_names"]
    by_id = {v[0]: names[k] for k, v in ctx["users"].items()}
    out: list[list[str]] = []
    recent: list[list[str]] = []
    for cid in range(start, start + count):
        row, _, _, _ = gen.customer(cid)
        custom = row["custom"]
        cells = [
            row["name"], "企业客户" if row["kind"] == "company" else "个人客户", row["industry"] or "",
            row["size"] or "", row["province"] or "", row["city"] or "", row["district"] or "", row["address"] or "",
            "; ".join(row["phones"]), "; ".join(row["emails"]), row["wechat"] or "", row["website"] or "",
            SOURCES.get(row["source"], ""), STAGE_LABELS[row["stage"]], row["grade"] or "", "，".join(row["tags"]),
            by_id.get(row["owner_id"], ""), row["birthday"].isoformat() if row["birthday"] else "",
            (row["notes"] or "")[:300], custom.get("budget", ""),
            OPTION_LABELS["intent"].get(custom.get("intent", ""), ""),
            "、".join(OPTION_LABELS["products"][p] for p in custom.get("products", [])),
            {True: "是", False: "否"}.get(custom.get("annual_contract"), ""), custom.get("next_visit", ""),
            by_id.get(custom.get("account_manager"), ""),
        ]
        r = rng.random()
        if recent and r < 0.02:  # the same customer again: same phone, or its name in another spelling
            earlier = list(rng.choice(recent))
            if rng.random() < 0.5:
                earlier[0] = earlier[0][:1] + " " + earlier[0][1:]
                earlier[8] = ""
                earlier[9] = ""
            else:
                earlier[0] = earlier[0].translate(_FULLWIDTH) + "（分部）"
            cells = earlier
        elif r < 0.03:
            bad = BAD[int(r * 10_000) % len(BAD)]
            if bad == "phone":
                cells[8] = "12345"
            elif bad == "email":
                cells[9] = "not-an-email@"
            elif bad == "name":
                cells[0] = ""
            elif bad == "date":
                cells[17] = "2023-13-45"
            elif bad == "stage":
                cells[13] = "未知阶段"
            else:
                cells[16] = "不存在的同事"
        if len(recent) < 2000:
            recent.append(cells)
        elif rng.random() < 0.01:
            recent[rng.randrange(len(recent))] = cells
        out.append(cells)
    return out


_FULLWIDTH = {i: i + 0xFEE0 for i in range(0x21, 0x7F)}


def make_csv(path: Path, rows: int, first_id: int, encoding: str, ctx: dict[str, Any]) -> None:
    if path.exists():
        return
    tmp = path.with_suffix(".part")
    step = 10_000
    specs = [(first_id // step + i, first_id + i * step, min(step, rows - i * step))
             for i in range((rows + step - 1) // step)]
    started = time.perf_counter()
    with open(tmp, "w", encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(HEADERS)
        with mp.get_context("fork").Pool(max(1, (os.cpu_count() or 2)), initializer=_init, initargs=(ctx,)) as pool:
            for n, chunk in enumerate(pool.imap(_chunk, specs), 1):
                w.writerows(chunk)
                if n % 20 == 0:
                    print(f"  generated {n * step:,} rows ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    tmp.rename(path)


async def setup(url: str) -> dict[str, Any]:
    from guanxi.migrate import upgrade

    await asyncio.to_thread(upgrade, url)
    info = await g.create_workspace(g.target(url), "importbench")
    return info


async def run_import(url: str, data_dir: Path, csv_path: Path, admin_id: int, workspace_id: int,
                     batch: int) -> dict[str, Any]:
    from sqlalchemy import func, select, text

    from guanxi.authz.records import principal_for
    from guanxi.config import Settings
    from guanxi.customers.models import Customer
    from guanxi.db import Database
    from guanxi.imports import engine, runner, service
    from guanxi.imports.models import Import

    settings = Settings(secret_key="bench", data_dir=data_dir, database_url=url, import_max_mb=4096)
    db = Database(url)
    try:
        async with db.session() as session:
            p = await principal_for(session, workspace_id, admin_id)
        assert p is not None
        target = settings.imports_dir / str(workspace_id) / csv_path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(csv_path, target)
        t0 = time.perf_counter()
        info = await asyncio.to_thread(service.files.inspect_file, target, csv_path.name, "customers")
        checked = time.perf_counter() - t0
        async with db.session() as session:
            imp = await service.create_import(session, p, settings, target, target.stat().st_size, info,
                                              csv_path.name, "customers")
            imp.status = "queued"
            import_id = imp.id
            unmapped = [h for h, k in imp.mapping.items() if not k]
        last = [time.perf_counter()]

        def progress(pr: runner.Progress) -> None:
            if pr.processed % 100_000 < batch:
                now = time.perf_counter()
                print(f"  {pr.processed:,}/{pr.total:,} rows, {now - t1:.1f} s", file=sys.stderr)
                last[0] = now

        t1, cpu1 = time.perf_counter(), time.process_time()
        timings: dict[str, float] = {}
        status = await runner.run_import(db, settings, import_id, on_progress=progress, batch=batch, timings=timings)
        took, main_cpu = time.perf_counter() - t1, time.process_time() - cpu1
        cpu = main_cpu + timings.get("worker_cpu", 0.0)  # the import's worker process (large files) counts too
        async with db.session() as session:
            imp2 = await session.get(Import, import_id)
            assert imp2 is not None
            customers = await session.scalar(select(func.count()).select_from(Customer)
                                             .where(Customer.workspace_id == workspace_id))
            sample = await session.scalar(select(Customer.name).where(Customer.workspace_id == workspace_id)
                                          .order_by(Customer.id.desc()).limit(1))
            found = None
            if db.kind == "sqlite" and sample:
                found = await session.scalar(text("SELECT count(*) FROM customer_fts WHERE customer_fts MATCH :m"),
                                             {"m": f'"{sample[:4]}"*'})
        return {"status": status, "rows": info.total_rows, "encoding": info.encoding, "check_seconds": round(checked, 2),
                "import_seconds": round(took, 2), "rows_per_s": round((info.total_rows or 0) / took),
                # other work on a shared machine slows the wall clock; CPU time says what the import itself costs
                "cpu_seconds": round(cpu, 2), "rows_per_cpu_s": round((info.total_rows or 0) / max(cpu, 1e-9)),
                "main_cpu_seconds": round(main_cpu, 2), "worker_cpu_seconds": round(timings.get("worker_cpu", 0.0), 2),
                "load_average": os.getloadavg()[0],
                "created": imp2.created, "updated": imp2.updated, "skipped": imp2.skipped, "failed": imp2.failed,
                "customers_in_workspace": customers, "search_hits_for_last_name": found,
                "unmapped_headers": unmapped, "batch": batch, "engine_batch_default": engine.BATCH,
                "phase_seconds": {k: round(v, 2) for k, v in timings.items()}}
    finally:
        await db.dispose()


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--gb-rows", type=int, default=100_000, help="rows of the GB18030 file (0: none)")
    ap.add_argument("--database-url", default="", help="default: a fresh SQLite file under bench/var/import/")
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args()

    var = HERE / "var" / "import"
    var.mkdir(parents=True, exist_ok=True)
    url = args.database_url
    if not url:
        db_path = var / f"guanxi-{args.rows}.db"  # a run of another size may go on beside this one
        for suffix in ("", "-wal", "-shm", "-writers.lock"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite+aiosqlite:///{db_path}"
    else:
        t = g.target(url)
        if t.kind == "postgresql":
            g.reset_database(t)
            url = t.async_url
    data_dir = var / f"data-{args.rows}"
    shutil.rmtree(data_dir, ignore_errors=True)
    setup_info = asyncio.run(setup(url))
    ctx = {"users": setup_info["users"], "now": datetime(2026, 11, 23, 12, tzinfo=UTC), "kind": "sqlite",
           "contact_p": 0.0, "name_pinyin": False, "name_sort": False, "name_fold": False, "workspace_id": setup_info["workspace_id"], "seed": args.seed,
           "user_names": {u["key"]: u["name"] for u in demo.USERS}}
    main_csv = var / f"customers-{args.rows}-{args.seed}.csv"
    print(f"generating {main_csv.name} …", file=sys.stderr)
    make_csv(main_csv, args.rows, 1, "utf-8", ctx)
    gb_csv = var / f"customers-gb18030-{args.gb_rows}-{args.seed}.csv"
    if args.gb_rows:
        make_csv(gb_csv, args.gb_rows, 50_000_000, "gb18030", ctx)
    rss_before = peak_rss_mb()
    print(f"importing {main_csv.name} ({main_csv.stat().st_size / 1e6:.0f} MB) …", file=sys.stderr)
    result: dict[str, Any] = {
        "benchmark": "import", "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": "postgresql" if url.startswith("postgresql") else "sqlite",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "file_mb": round(main_csv.stat().st_size / 1e6, 1),
    }
    result["main"] = asyncio.run(run_import(url, data_dir, main_csv, setup_info["admin_id"],
                                            setup_info["workspace_id"], args.batch))
    result["peak_rss_mb"] = peak_rss_mb()
    result["rss_before_import_mb"] = rss_before
    if args.gb_rows:
        print(f"importing {gb_csv.name} …", file=sys.stderr)
        result["gb18030"] = asyncio.run(run_import(url, data_dir, gb_csv, setup_info["admin_id"],
                                                   setup_info["workspace_id"], args.batch))
        result["peak_rss_mb_after_gb18030"] = peak_rss_mb()
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if not args.no_save:
        results = HERE / "results"
        results.mkdir(exist_ok=True)
        with open(results / "import.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(result, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
