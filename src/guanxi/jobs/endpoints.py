"""Thin route for the job queue's status (admins)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from guanxi.authz.deps import CurrentUser
from guanxi.jobs import schemas as s
from guanxi.jobs import service
from guanxi.kit.deps import DbSession
from guanxi.kit.errors import PROBLEM_RESPONSES

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES, tags=["jobs"])


@router.get("/jobs/status", response_model=s.JobsStatus)
async def jobs_status(request: Request, session: DbSession, p: CurrentUser) -> s.JobsStatus:
    """Background jobs: queue backlog, when the periodic jobs last ran, this workspace's outbox and failed emails."""
    return await service.status(session, p, request.app.state.jobs)
