"""Thin routes for imports (数据迁移)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse

from guanxi.authz.core import Principal
from guanxi.authz.deps import CurrentUser, get_principal
from guanxi.imports import files, service
from guanxi.imports import schemas as s
from guanxi.kit.deps import DbSession
from guanxi.kit.errors import PROBLEM_RESPONSES
from guanxi.kit.jobs import writing
from guanxi.kit.schemas import PathId

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES, tags=["imports"])

_UPLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"description": "The file is larger than GUANXI_IMPORT_MAX_MB", "model": PROBLEM_RESPONSES[422]["model"]},
}


async def _uploader(request: Request) -> AsyncIterator[Principal]:
    """Who uploads, read without taking the writer turn: checking a big file must not hold up other writers."""
    async with request.app.state.db.session() as session:
        yield await get_principal(request, session)


Uploader = Annotated[Principal, Depends(_uploader)]


@router.get("/imports/fields", response_model=list[s.ImportField])
async def import_fields(session: DbSession, p: CurrentUser,
                        type: Annotated[s.ImportType, Query()]) -> list[s.ImportField]:
    """The fields an import of this type can fill (custom fields as custom.<key>)."""
    return await service.import_fields(session, p, type)


@router.post("/imports", status_code=201, response_model=s.ImportOut, responses=_UPLOAD_RESPONSES)
async def upload(
    request: Request,
    p: Uploader,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GBK), .xlsx, or .vcf for contacts")],
    type: Annotated[s.ImportType, Form()],
) -> Any:
    """Upload a file: it is checked (type, encoding, header, size, columns) and its column mapping guessed."""
    service.require(p, type)
    settings = request.app.state.settings
    path, size, info = await service.store_upload(settings, p, file, file.filename or "", type)
    try:
        async with writing(request.app.state.db) as session:
            imp = await service.create_import(session, p, settings, path, size, info, file.filename or "", type)
            out = (await service.to_out(session, [imp]))[0]
    except BaseException:
        files.remove(path)
        raise
    return JSONResponse(out.model_dump(mode="json"), status_code=201,
                        headers={"Location": f"/api/v1/imports/{imp.id}"})


@router.get("/imports", response_model=s.ImportList)
async def list_imports(session: DbSession, p: CurrentUser,
                       type: Annotated[s.ImportType | None, Query()] = None) -> s.ImportList:
    """Newest first: an admin sees the workspace's imports, everyone else their own."""
    return s.ImportList(items=await service.to_out(session, await service.list_imports(session, p, type)))


@router.get("/imports/{import_id}", response_model=s.ImportOut)
async def get_import(import_id: PathId, session: DbSession, p: CurrentUser) -> s.ImportOut:
    return (await service.to_out(session, [await service.get_import(session, p, import_id)]))[0]


@router.put("/imports/{import_id}/mapping", response_model=s.ImportOut)
async def set_mapping(import_id: PathId, body: s.MappingIn, session: DbSession, p: CurrentUser) -> s.ImportOut:
    imp = await service.set_mapping(session, p, import_id, body)
    await session.flush()
    return (await service.to_out(session, [imp]))[0]


@router.get("/imports/{import_id}/preview", response_model=s.Preview)
async def preview(import_id: PathId, request: Request, session: DbSession, p: CurrentUser,
                  limit: int = Query(default=20, ge=1, le=100)) -> s.Preview:
    """The first rows as they would be imported: cleaned values, problems per cell, duplicates, the action."""
    return s.Preview(rows=await service.preview(session, p, request.app.state.settings, import_id, limit))


@router.post("/imports/{import_id}/run", status_code=202, response_model=s.ImportOut)
async def run(import_id: PathId, request: Request, session: DbSession, p: CurrentUser) -> Any:
    imp = await service.start(session, p, import_id, request.app.state.jobs)
    await session.flush()
    out = (await service.to_out(session, [imp]))[0]
    return JSONResponse(out.model_dump(mode="json"), status_code=202)


@router.post("/imports/{import_id}/cancel", response_model=s.ImportOut)
async def cancel(import_id: PathId, session: DbSession, p: CurrentUser) -> s.ImportOut:
    imp = await service.cancel(session, p, import_id)
    await session.flush()
    return (await service.to_out(session, [imp]))[0]


@router.get("/imports/{import_id}/failed-rows", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
                             "description": "The failed rows with their line and error (UTF-8 with BOM)"}})
async def failed_rows(import_id: PathId, request: Request, session: DbSession, p: CurrentUser) -> StreamingResponse:
    imp = await service.get_import(session, p, import_id)
    name = imp.filename.rsplit(".", 1)[0] + "_failed.csv"

    async def body() -> AsyncIterator[bytes]:
        async with request.app.state.db.session() as s2:
            async for chunk in service.failed_rows_csv(s2, imp):
                yield chunk

    return StreamingResponse(body(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f"attachment; filename=\"failed.csv\"; filename*=UTF-8''{quote(name)}"})

