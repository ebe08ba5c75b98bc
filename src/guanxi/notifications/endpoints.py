"""Thin routes for the caller's notifications."""

from __future__ import annotations

from fastapi import APIRouter, Query

from guanxi.authz.deps import CurrentUser
from guanxi.kit.deps import DbSession
from guanxi.kit.errors import PROBLEM_RESPONSES
from guanxi.kit.pagination import Page
from guanxi.kit.schemas import PathId
from guanxi.notifications import schemas as s
from guanxi.notifications import service

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES, tags=["notifications"])


@router.get("/notifications", response_model=Page[s.Notification])
async def list_notifications(
    session: DbSession,
    p: CurrentUser,
    unread: bool = False,
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=200),
) -> Page[s.Notification]:
    rows, nxt = await service.list_mine(session, p, unread=unread, limit=limit, cursor=cursor)
    return Page(items=await service.to_out(session, rows), next_cursor=nxt)


@router.get("/notifications/unread-count", response_model=s.UnreadCount)
async def unread_count(session: DbSession, p: CurrentUser) -> s.UnreadCount:
    return await service.unread_count(session, p)


@router.post("/notifications/read-all", response_model=s.ReadAll)
async def read_all(session: DbSession, p: CurrentUser) -> s.ReadAll:
    return await service.mark_all_read(session, p)


@router.post("/notifications/{notification_id}/read", response_model=s.Notification)
async def read_one(notification_id: PathId, session: DbSession, p: CurrentUser) -> s.Notification:
    n = await service.mark_read(session, p, notification_id)
    return (await service.to_out(session, [n]))[0]
