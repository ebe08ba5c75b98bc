"""A large import's reading, cleaning and row building in a second process, so that a second core works on it
while the import's own process writes the previous batch.

The worker (a `spawn` process: the import runs in the CLI, or in a job thread of `guanxi serve`, and a fork of a
threaded server is unsafe) reads the file from the checkpoint on, cleans each batch with `engine.clean_row` and
builds every valid customer's row (`engine.prepare_customer`: pinyin, sort key, search document, identities,
audit changes), and hands the batch over through a queue of two. It does not touch the database: duplicates,
ids, writing and the checkpoint stay with the importing process, batch after batch in file order, so a crash
of either process leaves exactly the last committed checkpoint, as without the worker. A worker whose parent
died (`kill -9`) stops on its own.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing as mp
import os
import queue
import time
from collections.abc import AsyncIterator
from itertools import islice
from pathlib import Path
from typing import Any

from guanxi.imports import engine, files

log = logging.getLogger("guanxi.imports")

DEPTH = 2  # batches cleaned ahead of the writer

Batch = tuple[int, list[engine.Row]]  # (records read, cleaned rows)


def clean_batch(ctx: engine.Ctx, chunk: list[tuple[int, list[str]]]) -> list[engine.Row]:
    rows = [engine.clean_row(ctx, line, cells) for line, cells in chunk]
    if ctx.type == "customers":
        slim = ctx.mode != "update"  # no later error and no merge needs more of a valid row than its name
        for r in rows:
            if not r.errors:
                r.prep = engine.prepare_customer(ctx, r)
                if slim:  # less to hand over between the processes
                    r.cells, r.values = [], {"name": r.values["name"]}
    return rows


def _put(out: Any, item: Any, parent: int) -> None:
    while True:
        try:
            out.put(item, timeout=1.0)
            return
        except queue.Full:
            if os.getppid() != parent:
                # the importing process is gone (kill -9): nobody reads the queue, and a normal exit would wait
                # for its feeder thread to write into a pipe that nobody empties
                os._exit(0)


def _work(ctx: engine.Ctx, source: tuple[Any, ...], skip: int, batch: int, out: Any, parent: int) -> None:
    path, file_format, codec, delimiter, n_headers = source
    # The app's modules and the context are here for good: the cyclic collector need not walk them again after
    # every few thousand new objects (a third of the handover's cost), and a batch's rows are no cycles.
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)
    try:
        records = files.records(Path(path), file_format, codec, delimiter, n_headers, skip=skip)
        while True:
            chunk = list(islice(records, batch))
            if not chunk:
                break
            rows = clean_batch(ctx, chunk)
            _put(out, ("rows", len(chunk), rows, time.process_time()), parent)
            if len(chunk) < batch:
                break
        _put(out, ("end", 0, [], time.process_time()), parent)
    except Exception as exc:  # noqa: BLE001  # reported to the importing process, which fails the import
        _put(out, ("error", 0, repr(exc), time.process_time()), parent)


class Worker:
    """The worker of one run: `batches()` yields (records read, rows) in file order; `close()` ends it."""

    def __init__(self, ctx: engine.Ctx, source: tuple[Any, ...], skip: int, batch: int) -> None:
        mpc = mp.get_context("spawn")
        self.queue: Any = mpc.Queue(DEPTH)
        self.proc = mpc.Process(target=_work, args=(ctx, tuple(str(x) if isinstance(x, Path) else x for x in source),
                                                     skip, batch, self.queue, os.getpid()),
                                name="guanxi-import-worker", daemon=True)
        self.proc.start()
        self.cpu = 0.0  # the worker's CPU seconds so far
        # While the batches come in, the collector leaves what the process held before alone: a full collection
        # walked the whole app (SQLAlchemy, the models …) every batch, ~10 % of the importing process's CPU.
        # Objects are only kept from being collected until `close`; nothing else changes.
        gc.freeze()

    def _get(self) -> tuple[str, int, Any, float]:
        while True:
            try:
                return self.queue.get(timeout=1.0)  # type: ignore[no-any-return]
            except queue.Empty:
                if not self.proc.is_alive():
                    try:  # it may have put its last batch just before it ended
                        return self.queue.get(timeout=0.5)  # type: ignore[no-any-return]
                    except queue.Empty:
                        raise RuntimeError(f"import worker ended with exit code {self.proc.exitcode}") from None

    async def batches(self) -> AsyncIterator[tuple[int, list[engine.Row]]]:
        while True:
            kind, n, rows, cpu = await asyncio.to_thread(self._get)
            self.cpu = cpu
            if kind == "error":
                raise RuntimeError(f"import worker failed: {rows}")
            if kind == "end":
                return
            yield n, rows

    def close(self) -> None:
        gc.unfreeze()
        if self.proc.is_alive():
            self.proc.terminate()
        self.proc.join(5)
        self.queue.close()
        self.queue.cancel_join_thread()
