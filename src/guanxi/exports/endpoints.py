"""Thin routes for exports: a direct download of a small list, export jobs for big ones, and their files."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse

from guanxi.activities.files import content_disposition
from guanxi.authz.deps import CurrentUser
from guanxi.config import Settings
from guanxi.exports import schemas as s
from guanxi.exports import service
from guanxi.kit.deps import DbSession
from guanxi.kit.errors import PROBLEM_RESPONSES
from guanxi.kit.i18n import current_language
from guanxi.kit.models import utcnow
from guanxi.kit.schemas import PathId

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES, tags=["exports"])

FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {m: {"schema": {"type": "string", "format": "binary"}} for m in service.MEDIA.values()},
          "description": "The file"},
}


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.get("/exports/limits", response_model=s.ExportLimits)
async def export_limits(request: Request, p: CurrentUser) -> s.ExportLimits:
    settings = _settings(request)
    return s.ExportLimits(direct_max_rows=service.DIRECT_MAX_ROWS, job_threshold=settings.export_job_threshold,
                          keep_days=int(settings.export_keep_days))


@router.post("/exports/direct", response_class=StreamingResponse, responses=FILE_RESPONSES)
async def export_direct(body: s.ExportCreate, request: Request, session: DbSession, p: CurrentUser) -> StreamingResponse:
    """Any list with its filters as CSV (UTF-8 with BOM) or .xlsx, streamed now; at most 100,000 rows."""
    en = current_language.get() == "en"
    src, total = await service.prepare_direct(session, p, service.spec_of(body), body.format, en=en)
    service.record(session, p, src, body.format, total)  # committed with the request, before the stream starts
    db = request.app.state.db

    async def stream() -> Any:
        # the request's session is closed once the route returns: the stream reads in a unit of work of its own
        async with db.session() as own:
            async for chunk in service.stream(own, src, body.format):
                yield chunk

    name = service.file_name(src, body.format, utcnow())
    return StreamingResponse(stream(), media_type=service.MEDIA[body.format],
                             headers={"Content-Disposition": content_disposition(name), "Cache-Control": "no-store"})


@router.post("/exports", status_code=202, response_model=s.ExportJob)
async def create_export(body: s.ExportCreate, session: DbSession, p: CurrentUser) -> Any:
    """Start an export job; it runs in the background, the creator is notified when its file is ready."""
    j = await service.create_job(session, p, body, en=current_language.get() == "en")
    return JSONResponse(service.job_out(j).model_dump(mode="json"), status_code=202,
                        headers={"Location": f"/api/v1/exports/{j.id}"})


@router.get("/exports", response_model=list[s.ExportJob])
async def list_exports(session: DbSession, p: CurrentUser,
                       limit: int = Query(default=service.RECENT, ge=1, le=100)) -> list[s.ExportJob]:
    """The caller's own recent export jobs, newest first."""
    return [service.job_out(j) for j in await service.list_mine(session, p, limit)]


@router.get("/exports/{export_id}", response_model=s.ExportJob)
async def get_export(export_id: PathId, session: DbSession, p: CurrentUser) -> s.ExportJob:
    return service.job_out(await service.get_mine(session, p, export_id))


@router.get("/exports/{export_id}/download", response_class=FileResponse,
            responses=FILE_RESPONSES | {409: PROBLEM_RESPONSES[400] | {"description": "Not finished yet"},
                                        410: PROBLEM_RESPONSES[400] | {"description": "Expired and deleted"}})
async def download_export(export_id: PathId, request: Request, session: DbSession, p: CurrentUser) -> FileResponse:
    j, path = await service.download_path(session, p, export_id, _settings(request).exports_dir)
    return FileResponse(path, media_type=service.MEDIA[j.format],
                        headers={"Content-Disposition": content_disposition(j.filename or path.name),
                                 "Cache-Control": "no-store"})
