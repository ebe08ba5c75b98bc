"""Thin route for the customer 360 timeline."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Response

from guanxi.authz.deps import CurrentUser
from guanxi.kit.deps import DbSession
from guanxi.kit.errors import PROBLEM_RESPONSES
from guanxi.kit.pagination import model_response
from guanxi.kit.schemas import PathId
from guanxi.timeline import schemas as s
from guanxi.timeline import service

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES, tags=["timeline"])


@router.get("/timeline/kinds", response_model=list[s.TimelineKind])
async def timeline_kinds(p: CurrentUser) -> list[s.TimelineKind]:
    """The kinds the timeline can show and filter on (besides record types of modules without their own kind)."""
    return service.kinds_catalog()


@router.get("/customers/{customer_id}/timeline", response_model=s.TimelinePage)
async def customer_timeline(
    customer_id: PathId,
    session: DbSession,
    p: CurrentUser,
    kinds: str | None = Query(default=None, max_length=500, description="comma-separated kinds or groups"),
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=200),
) -> Response:
    items, nxt = await service.timeline(session, p, customer_id, kinds=service.parse_kinds(kinds),
                                        since=since, until=until, limit=limit, cursor=cursor)
    return model_response(s.TimelinePage(items=items, next_cursor=nxt))
