"""Background jobs of imports: running one, and the sweep that resumes imports whose process died."""

from __future__ import annotations

import logging

from guanxi.imports import runner
from guanxi.kit.jobs import JobContext, job, periodic

log = logging.getLogger("guanxi.imports")

SWEEP_EVERY = 30.0


@job("imports.run")
async def run(ctx: JobContext, import_id: int) -> str | None:
    return await runner.run_import(ctx.db, ctx.settings, import_id)


@periodic("imports.sweep", every=lambda settings: SWEEP_EVERY)
async def sweep(ctx: JobContext, startup: bool = False) -> dict[str, int]:
    """Queued imports whose message was lost, and running ones whose process died (lease over, or a dead pid on
    this machine), are sent to a worker again; the run's claim makes a second message harmless."""
    ids = await runner.due_imports(ctx.db, startup=startup)
    for import_id in ids:
        ctx.queue.enqueue("imports.run", import_id)
    if ids:
        log.info("import sweep sent %s import(s) to run", len(ids))
    return {"resumed": len(ids)}
