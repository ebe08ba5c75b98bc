"""The request's database session: one unit of work, committed before the response is sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    db = request.app.state.db
    if db.kind == "sqlite" and request.method not in ("GET", "HEAD", "OPTIONS"):
        async with db.writers.hold(), db.session() as session:
            yield session
        return
    async with db.session() as session:
        yield session


# scope="function": the commit happens before the response leaves, so a failed commit is an error response
DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None
