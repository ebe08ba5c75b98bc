"""Rows per CPU second and peak RSS of the .xlsx writer alone (kit.export.encode), on synthetic customer rows.

    python bench/xlsx_writer.py 100000

No database: it isolates the writer from the list queries that an export job also runs.
"""

from __future__ import annotations

import asyncio
import resource
import sys
import tempfile
import time
from collections.abc import AsyncIterator

from guanxi.kit.export import encode

HEADER = [f"列{i}" for i in range(22)]


def row(i: int) -> list[str]:
    return [f"星河科技{i}有限公司", "企业客户", "制造业", "100-499", "上海", "上海", "浦东新区", f"张江路{i}号",
            "138 0013 8000; 021 5555 1234", f"li{i}@example.cn", "wx_li", "https://xinghe.cn", "展会", "意向客户",
            "A", "重点客户, 展会线索", "张伟", "华东销售部", "2026-11-20 10:00", "2026-11-21 11:00", "#N/A", "=1+1"]


async def main(n: int) -> None:
    async def pages() -> AsyncIterator[list[list[str]]]:
        for start in range(0, n, 1000):
            yield [row(i) for i in range(start, min(n, start + 1000))]
            await asyncio.sleep(0)

    t0, c0 = time.perf_counter(), time.process_time()
    size = 0
    with tempfile.TemporaryFile() as f:
        async for chunk in encode("xlsx", "客户", HEADER, pages()):
            f.write(chunk)
            size += len(chunk)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f'{{"rows": {n}, "cpu_s": {cpu:.2f}, "rows_per_cpu_s": {n / cpu:.0f}, "wall_s": {wall:.2f}, '
          f'"size_mb": {size / 1e6:.1f}, "peak_rss_mb": {rss:.0f}}}')


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000))
