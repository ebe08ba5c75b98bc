"""Work that may only happen once the unit of work is committed (removing a file the database no longer names)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("guanxi")


def after_commit(session: AsyncSession, fn: Callable[[], None]) -> None:
    """Run `fn` after the session's next commit; a rollback forgets it. Errors are logged, never raised."""
    sync = session.sync_session
    pending = [True]  # listeners die with the session; a flag, since removing one while it runs is not allowed

    def on_commit(_: Any) -> None:
        if not pending[0]:
            return
        pending[0] = False
        try:
            fn()
        except Exception:
            log.exception("after-commit work failed")

    def on_rollback(_: Any) -> None:
        pending[0] = False

    event.listen(sync, "after_commit", on_commit)
    event.listen(sync, "after_rollback", on_rollback)
