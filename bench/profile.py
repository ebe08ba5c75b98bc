#!/usr/bin/env python
"""Profile one scenario in-process (ASGI, no network, no server) with pyinstrument.

    python bench/profile.py --database-url URL --scenario search_pinyin [--requests 50]

Prints the wall time per request (median) and pyinstrument's call tree, so the Python side of a
scenario can be told apart from its SQL (bench/run.py's sql_p50_ms).  Writes run in a rolled-back
transaction, like run.py's SQL capture.  Needs pyinstrument (`pip install pyinstrument`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# this file's name hides the standard library's `profile`, which cProfile imports: load those first
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
import cProfile
import pstats

sys.path.insert(0, str(HERE))

import run as bench


async def backend_cpu(raw: bench.Raw, kind: str) -> dict[int, float]:
    """CPU seconds (user + system, from /proc) of the PostgreSQL backends connected to this database, other than
    our own raw connection: the app's pool. {} when not PostgreSQL or /proc is not readable (server elsewhere)."""
    if kind != "postgresql":
        return {}
    pids = [r[0] for r in await raw.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return {}
        out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


async def main_async(args: argparse.Namespace) -> int:
    try:
        from pyinstrument import Profiler
    except ImportError:
        raise SystemExit("pip install pyinstrument") from None
    kind, async_url, raw_url = bench.urls(args.database_url)
    rng = random.Random(args.seed)
    raw = bench.Raw(kind, raw_url)
    await raw.open()
    picks = await bench.pick_values(raw, rng, args.requests * 2)
    cap = bench.Capture(kind, async_url)
    await cap.client.login()
    deep = await bench.deep_cursors(cap.client, 20, 10) if args.scenario == "list_deep_filter_sort" else ["x"]
    tl = await bench.timeline_customer(cap.client, raw, 1) if args.scenario == "timeline" else None
    sc = bench.Scenarios(picks, deep, rng, tl)
    fn = getattr(sc, args.scenario)
    cap.rollback = args.scenario in ("create", "update")
    for i in range(5):  # warm-up
        await fn(cap.client, 1000 + i)
    times: list[float] = []
    cpus: list[float] = []
    cpu0 = time.process_time()  # CPU seconds of this process: stays honest on a busy machine, where wall time does not
    profiler = Profiler(interval=0.0005, async_mode="enabled")
    cpu_profile = None
    if args.cpu_profile:  # deterministic, timed by CPU: on a busy machine it still shows where the CPU goes
        cpu_profile = cProfile.Profile(time.process_time)
        cpu_profile.enable()
    elif not args.no_profile:
        profiler.start()
    pg0 = await backend_cpu(raw, kind)
    for i in range(args.requests):
        t0, c0 = time.perf_counter(), time.process_time()
        await fn(cap.client, i)
        times.append((time.perf_counter() - t0) * 1000)
        cpus.append((time.process_time() - c0) * 1000)
    cpu_ms = (time.process_time() - cpu0) * 1000 / args.requests
    pg1 = await backend_cpu(raw, kind)
    pg_ms = sum(pg1.get(pid, 0.0) - v for pid, v in pg0.items()) * 1000 / args.requests if pg0 else None
    cpus.sort()
    if cpu_profile is not None:
        cpu_profile.disable()
    elif not args.no_profile:
        profiler.stop()
    await cap.close()
    await raw.close()
    times.sort()
    print(
        f"{args.scenario} on {kind}: median {statistics.median(times):.1f} ms per request in-process, "
        f"p90 {times[int(len(times) * 0.9)]:.1f} (min {times[0]:.1f}, max {times[-1]:.1f}) over {len(times)} requests; "
        f"CPU {cpu_ms:.1f} ms per request, median {statistics.median(cpus):.1f} (client and server together)"
        + (f"; PostgreSQL backends {pg_ms:.1f} ms CPU per request" if pg_ms is not None else "")
    )
    if cpu_profile is not None:
        pstats.Stats(cpu_profile).sort_stats(args.cpu_profile).print_stats(150)
    elif not args.no_profile:
        print(profiler.output_text(unicode=True, color=False, show_all=False, short_mode=False))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--scenario", required=True, choices=list(bench.SCENARIOS))
    ap.add_argument("--requests", type=int, default=50)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--no-profile", action="store_true", help="only time the requests (no profiler overhead)")
    ap.add_argument("--cpu-profile", choices=("cumulative", "tottime"),
                    help="cProfile timed by CPU instead of pyinstrument, sorted by this column")
    return asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
