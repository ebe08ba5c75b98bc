"""Thin routes for interactions (with attachments and channels), tasks, my work and notes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Header, Path, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse, JSONResponse

from guanxi.activities import files, service
from guanxi.activities import schemas as s
from guanxi.authz.core import Principal
from guanxi.authz.deps import CurrentUser
from guanxi.config import Settings
from guanxi.kit.deps import DbSession
from guanxi.kit.errors import PROBLEM_RESPONSES, not_found
from guanxi.kit.idempotency import Idempotency
from guanxi.kit.pagination import Page
from guanxi.kit.schemas import ID_MAX, PathId
from guanxi.kit.timeutil import as_utc

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)
ChannelKey = Annotated[str, Path(min_length=1, max_length=40)]
QueryId = Annotated[int | None, Query(ge=1, le=ID_MAX)]


def _etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# ------------------------------------------------------------------ channels


@router.get("/interaction-channels", response_model=list[s.InteractionChannel], tags=["activities"])
async def list_channels(session: DbSession, p: CurrentUser) -> list[s.InteractionChannel]:
    return await service.list_channels(session, p)


@router.post("/interaction-channels", status_code=201, response_model=s.InteractionChannel, tags=["activities"])
async def add_channel(body: s.InteractionChannelCreate, session: DbSession, p: CurrentUser) -> s.InteractionChannel:
    return service.channel_out(await service.add_channel(session, p, body))


@router.patch("/interaction-channels/{key}", response_model=s.InteractionChannel, tags=["activities"])
async def update_channel(key: ChannelKey, body: s.InteractionChannelUpdate, session: DbSession,
                         p: CurrentUser) -> s.InteractionChannel:
    return service.channel_out(await service.update_channel(session, p, key, body))


@router.delete("/interaction-channels/{key}", status_code=204, tags=["activities"])
async def delete_channel(key: ChannelKey, session: DbSession, p: CurrentUser) -> Response:
    await service.delete_channel(session, p, key)
    return Response(status_code=204)


# ------------------------------------------------------------------ interactions


async def _interaction(session: DbSession, p: Principal, i: Any) -> s.Interaction:
    return (await service.interactions_out(session, p, [i]))[0]


@router.get("/interactions", response_model=Page[s.Interaction], tags=["activities"])
async def list_interactions(
    session: DbSession,
    p: CurrentUser,
    customer_id: QueryId = None,
    user_id: QueryId = None,
    channel: str | None = Query(default=None, max_length=40),
    occurred_from: datetime | None = None,
    occurred_to: datetime | None = None,
    deleted: bool = False,
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=300),
) -> Page[s.Interaction]:
    rows, nxt, total, capped = await service.list_interactions(
        session, p, customer_id=customer_id, user_id=user_id, channel=channel, occurred_from=as_utc(occurred_from),
        occurred_to=as_utc(occurred_to), deleted=deleted, limit=limit, cursor=cursor)
    return Page(items=await service.interactions_out(session, p, rows), next_cursor=nxt, total=total,
                total_capped=capped)


@router.post("/interactions", status_code=201, response_model=s.InteractionCreated, tags=["activities"])
async def create_interaction(
    body: s.InteractionCreate,
    session: DbSession,
    p: CurrentUser,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Any:
    idem = Idempotency(session, p, "POST /interactions", idempotency_key, body)
    if (replayed := await idem.replay()) is not None:
        return replayed
    i, task = await service.create_interaction(session, p, body)
    out = s.InteractionCreated(**(await _interaction(session, p, i)).model_dump(),
                               follow_up_task=(await service.tasks_out(session, [task]))[0] if task else None)
    payload = out.model_dump(mode="json")
    idem.remember(201, payload)
    return JSONResponse(payload, status_code=201,
                        headers={"ETag": f'"{i.version}"', "Location": f"/api/v1/interactions/{i.id}"})


@router.get("/interactions/{interaction_id}", response_model=s.Interaction, tags=["activities"])
async def get_interaction(interaction_id: PathId, response: Response, session: DbSession,
                          p: CurrentUser) -> s.Interaction:
    i = await service.get_interaction(session, p, interaction_id)
    _etag(response, i.version)
    return await _interaction(session, p, i)


@router.patch("/interactions/{interaction_id}", response_model=s.Interaction, tags=["activities"])
async def update_interaction(
    interaction_id: PathId,
    body: s.InteractionUpdate,
    response: Response,
    session: DbSession,
    p: CurrentUser,
    if_match: Annotated[str | None, Header()] = None,
) -> s.Interaction:
    i = await service.update_interaction(session, p, interaction_id, body, if_match)
    _etag(response, i.version)
    return await _interaction(session, p, i)


@router.delete("/interactions/{interaction_id}", status_code=204, tags=["activities"])
async def delete_interaction(interaction_id: PathId, session: DbSession, p: CurrentUser) -> Response:
    await service.delete_interaction(session, p, interaction_id)
    return Response(status_code=204)


@router.post("/interactions/{interaction_id}/restore", response_model=s.Interaction, tags=["activities"])
async def restore_interaction(interaction_id: PathId, response: Response, session: DbSession,
                              p: CurrentUser) -> s.Interaction:
    i = await service.restore_interaction(session, p, interaction_id)
    _etag(response, i.version)
    return await _interaction(session, p, i)


@router.post("/interactions/{interaction_id}/attachments", status_code=201, response_model=s.Attachment,
             tags=["activities"], responses={413: PROBLEM_RESPONSES[400] | {"description": "The file is too large"},
                                             415: PROBLEM_RESPONSES[400] | {"description": "The type is not allowed"}})
async def add_attachment(
    interaction_id: PathId,
    request: Request,
    session: DbSession,
    p: CurrentUser,
    file: Annotated[UploadFile, File(description="pdf, png, jpg, gif, webp, docx, xlsx, pptx, doc, xls, txt, csv, "
                                                 "mp3, m4a or amr")],
) -> s.Attachment:
    settings = _settings(request)
    a = await service.add_attachment(session, p, interaction_id, file.file, file.filename,
                                     root=settings.attachments_dir, max_bytes=settings.attachment_max_bytes)
    return service.attachment_out(a)


@router.get("/interactions/{interaction_id}/attachments/{attachment_id}", response_class=FileResponse,
            tags=["activities"], responses={200: {"description": "The file, as a download",
                                                  "content": {"application/octet-stream": {}}}})
async def download_attachment(interaction_id: PathId, attachment_id: PathId, request: Request, session: DbSession,
                              p: CurrentUser) -> FileResponse:
    a = await service.get_attachment(session, p, interaction_id, attachment_id)
    path = _settings(request).attachments_dir / a.storage_path
    if not path.is_file():
        raise not_found()
    return FileResponse(path, media_type=a.content_type,
                        headers={"Content-Disposition": files.content_disposition(a.filename)})


@router.delete("/interactions/{interaction_id}/attachments/{attachment_id}", status_code=204, tags=["activities"])
async def delete_attachment(interaction_id: PathId, attachment_id: PathId, request: Request, session: DbSession,
                            p: CurrentUser) -> Response:
    await service.delete_attachment(session, p, interaction_id, attachment_id, root=_settings(request).attachments_dir)
    return Response(status_code=204)


# ------------------------------------------------------------------ tasks


async def _task(session: DbSession, t: Any) -> s.Task:
    return (await service.tasks_out(session, [t]))[0]


@router.get("/tasks", response_model=Page[s.Task], tags=["tasks"])
async def list_tasks(
    session: DbSession,
    p: CurrentUser,
    assignee_id: QueryId = None,
    customer_id: QueryId = None,
    status: s.Status | None = None,
    due_from: datetime | None = None,
    due_to: datetime | None = None,
    bucket: Annotated[s.Bucket | None, Query(description="open tasks overdue / due later today / due from tomorrow, "
                                                       "in the caller's time zone")] = None,
    mine: bool = False,
    deleted: bool = False,
    sort: Literal["due_at", "-due_at"] = "due_at",
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=300),
) -> Page[s.Task]:
    rows, nxt, total, capped = await service.list_tasks(
        session, p, assignee_id=assignee_id, customer_id=customer_id, status=status, due_from=as_utc(due_from),
        due_to=as_utc(due_to), bucket=bucket, mine=mine, deleted=deleted, sort=sort, limit=limit, cursor=cursor)
    return Page(items=await service.tasks_out(session, rows), next_cursor=nxt, total=total, total_capped=capped)


@router.get("/my-work", response_model=s.MyWork, tags=["tasks"])
async def my_work(session: DbSession, p: CurrentUser, scope: Literal["mine", "team"] = "mine") -> s.MyWork:
    return await service.my_work(session, p, scope)


@router.post("/tasks", status_code=201, response_model=s.Task, tags=["tasks"])
async def create_task(
    body: s.TaskCreate,
    session: DbSession,
    p: CurrentUser,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Any:
    idem = Idempotency(session, p, "POST /tasks", idempotency_key, body)
    if (replayed := await idem.replay()) is not None:
        return replayed
    t = await service.create_task(session, p, body)
    payload = (await _task(session, t)).model_dump(mode="json")
    idem.remember(201, payload)
    return JSONResponse(payload, status_code=201, headers={"ETag": f'"{t.version}"', "Location": f"/api/v1/tasks/{t.id}"})


@router.get("/tasks/{task_id}", response_model=s.Task, tags=["tasks"])
async def get_task(task_id: PathId, response: Response, session: DbSession, p: CurrentUser) -> s.Task:
    t = await service.get_task(session, p, task_id)
    _etag(response, t.version)
    return await _task(session, t)


@router.patch("/tasks/{task_id}", response_model=s.Task, tags=["tasks"])
async def update_task(
    task_id: PathId,
    body: s.TaskUpdate,
    response: Response,
    session: DbSession,
    p: CurrentUser,
    if_match: Annotated[str | None, Header()] = None,
) -> s.Task:
    t, _ = await service.update_task(session, p, task_id, body, if_match)
    _etag(response, t.version)
    return await _task(session, t)


@router.delete("/tasks/{task_id}", status_code=204, tags=["tasks"])
async def delete_task(task_id: PathId, session: DbSession, p: CurrentUser) -> Response:
    await service.delete_task(session, p, task_id)
    return Response(status_code=204)


@router.post("/tasks/{task_id}/restore", response_model=s.Task, tags=["tasks"])
async def restore_task(task_id: PathId, response: Response, session: DbSession, p: CurrentUser) -> s.Task:
    t = await service.restore_task(session, p, task_id)
    _etag(response, t.version)
    return await _task(session, t)


@router.post("/tasks/{task_id}/complete", response_model=s.TaskCompleted, tags=["tasks"])
async def complete_task(task_id: PathId, response: Response, session: DbSession, p: CurrentUser) -> s.TaskCompleted:
    t, nxt = await service.complete_task(session, p, task_id)
    _etag(response, t.version)
    return s.TaskCompleted(task=await _task(session, t), next=await _task(session, nxt) if nxt else None)


@router.post("/tasks/{task_id}/reopen", response_model=s.Task, tags=["tasks"])
async def reopen_task(task_id: PathId, response: Response, session: DbSession, p: CurrentUser) -> s.Task:
    t = await service.reopen_task(session, p, task_id)
    _etag(response, t.version)
    return await _task(session, t)


# ------------------------------------------------------------------ notes


@router.get("/customers/{customer_id}/notes", response_model=Page[s.Note], tags=["notes"])
async def list_notes(
    customer_id: PathId,
    session: DbSession,
    p: CurrentUser,
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=200),
) -> Page[s.Note]:
    rows, nxt = await service.list_notes(session, p, customer_id, limit=limit, cursor=cursor)
    return Page(items=await service.notes_out(session, p, rows), next_cursor=nxt)


@router.post("/customers/{customer_id}/notes", status_code=201, response_model=s.Note, tags=["notes"])
async def create_note(
    customer_id: PathId,
    body: s.NoteCreate,
    session: DbSession,
    p: CurrentUser,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Any:
    idem = Idempotency(session, p, f"POST /customers/{customer_id}/notes", idempotency_key, body)
    if (replayed := await idem.replay()) is not None:
        return replayed
    note = await service.create_note(session, p, customer_id, body)
    payload = (await service.notes_out(session, p, [note]))[0].model_dump(mode="json")
    idem.remember(201, payload)
    return JSONResponse(payload, status_code=201, headers={"ETag": f'"{note.version}"'})


@router.patch("/customers/{customer_id}/notes/{note_id}", response_model=s.Note, tags=["notes"])
async def update_note(
    customer_id: PathId,
    note_id: PathId,
    body: s.NoteUpdate,
    response: Response,
    session: DbSession,
    p: CurrentUser,
    if_match: Annotated[str | None, Header()] = None,
) -> s.Note:
    note = await service.update_note(session, p, customer_id, note_id, body, if_match)
    _etag(response, note.version)
    return (await service.notes_out(session, p, [note]))[0]


@router.delete("/customers/{customer_id}/notes/{note_id}", status_code=204, tags=["notes"])
async def delete_note(customer_id: PathId, note_id: PathId, session: DbSession, p: CurrentUser) -> Response:
    await service.delete_note(session, p, customer_id, note_id)
    return Response(status_code=204)


@router.post("/customers/{customer_id}/notes/{note_id}/restore", response_model=s.Note, tags=["notes"])
async def restore_note(customer_id: PathId, note_id: PathId, response: Response, session: DbSession,
                       p: CurrentUser) -> s.Note:
    note = await service.restore_note(session, p, customer_id, note_id)
    _etag(response, note.version)
    return (await service.notes_out(session, p, [note]))[0]
