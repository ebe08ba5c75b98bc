"""Optimistic locking: `If-Match` carries the version a client saw; a write made against another one is refused."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from guanxi.kit.errors import Problem
from guanxi.kit.models import utcnow


async def bump_version(session: AsyncSession, row: Any, expected: int) -> None:
    """Check the version and bump it in one statement, so two concurrent writers cannot both win (412 for the
    loser); `row` (an ORM object with id, version and updated_at) gets the new version and time."""
    model, now = type(row), utcnow()
    res = await session.execute(
        update(model).where(model.id == row.id, model.version == expected)
        .values(version=expected + 1, updated_at=now).execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:  # type: ignore[attr-defined]
        raise Problem(412, "precondition_failed")
    row.version, row.updated_at = expected + 1, now
