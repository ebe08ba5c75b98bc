"""Thin routes for customers, contacts, custom fields and source channels."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Annotated, Any

from fastapi import APIRouter, File, Header, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse

from guanxi.activities.files import content_disposition
from guanxi.audit.schemas import AuditEntryOut, AuditPage
from guanxi.authz.core import Principal
from guanxi.authz.deps import CurrentUser
from guanxi.customers import export, service, vcard
from guanxi.customers import repository as repo
from guanxi.customers import schemas as s
from guanxi.exports import service as exports
from guanxi.exports.sources import Spec
from guanxi.kit.deps import DbSession
from guanxi.kit.errors import PROBLEM_RESPONSES
from guanxi.kit.i18n import current_language
from guanxi.kit.idempotency import Idempotency
from guanxi.kit.models import utcnow
from guanxi.kit.normalize import name_identity
from guanxi.kit.pagination import Page, page_response
from guanxi.kit.schemas import PathId

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES, tags=["customers"])


def _etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


async def _one(session: DbSession, p: Principal, c: Any) -> s.Customer:
    return (await service.to_out(session, p, [c]))[0]


@router.get("/customers", response_model=Page[s.Customer])
async def list_customers(
    session: DbSession,
    p: CurrentUser,
    q: str | None = Query(default=None, max_length=100),
    filter: Annotated[list[str], Query(max_length=500)] = [],  # noqa: B006
    sort: str | None = Query(default=None, max_length=60),
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=500),
    deleted: bool = False,
) -> Response:
    rows, nxt, total, capped = await service.list_customers(
        session, p, q=q, filters=filter, sort=sort, limit=limit, cursor=cursor, deleted=deleted
    )
    return page_response(s.Customer, service.rows_data(p, rows), nxt, total, capped)


_MEDIA = {"csv": "text/csv; charset=utf-8",
          "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
_FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {m: {"schema": {"type": "string", "format": "binary"}} for m in (*_MEDIA.values(), "text/vcard")},
          "description": "The file"},
}


async def _audit_export(request: Request, p: Principal, record_id: int | None, label: str, fmt: str, rows: int,
                        filters: dict[str, Any] | None = None) -> None:
    """Its own unit of work, queued with the writers: a GET session does not write on SQLite."""
    db = request.app.state.db
    async with db.writers.hold() if db.kind == "sqlite" else nullcontext(), db.session() as session:
        export.record_export(session, p, record_id, label, fmt, rows, filters)


@router.get("/customers/export", response_class=StreamingResponse, responses=_FILE_RESPONSES)
async def export_customers(
    request: Request,
    session: DbSession,
    p: CurrentUser,
    format: str = Query(default="csv", max_length=10),
    q: str | None = Query(default=None, max_length=100),
    filter: Annotated[list[str], Query(max_length=500)] = [],  # noqa: B006
    sort: str | None = Query(default=None, max_length=60),
) -> StreamingResponse:
    """Every customer of the list with these q/filter/sort, as CSV (UTF-8 with BOM) or .xlsx; at most 100,000 rows.

    The same as `POST /exports/direct` with list "customers"; bigger lists are an export job (`POST /exports`).
    """
    en = current_language.get() == "en"
    spec = Spec(list="customers", q=q, filter=list(filter), sort=sort)
    src, total = await exports.prepare_direct(session, p, spec, format, en=en)
    db = request.app.state.db
    async with db.writers.hold() if db.kind == "sqlite" else nullcontext(), db.session() as own:
        exports.record(own, p, src, format, total)  # its own unit of work: a GET session does not write on SQLite

    async def body() -> Any:
        # the request's session is closed once the route returns: the stream reads in a unit of work of its own
        async with db.session() as own:
            async for chunk in exports.stream(own, src, format):
                yield chunk

    return StreamingResponse(body(), media_type=exports.MEDIA[format],
                             headers={"Content-Disposition": content_disposition(exports.file_name(src, format, utcnow())),
                                      "Cache-Control": "no-store"})


@router.get("/customers/meta", response_model=s.CustomerMeta)
async def customer_meta(session: DbSession, p: CurrentUser) -> s.CustomerMeta:
    return await service.meta(session, p)


@router.post("/customers/check-duplicates", response_model=list[s.DuplicateHit])
async def check_duplicates(body: s.CheckDuplicates, session: DbSession, p: CurrentUser) -> list[s.DuplicateHit]:
    p.require("customers", "view")
    errors: list[Any] = []
    _, _, identities = service.normalize_contact_points(body.phones, body.emails, errors)
    named = name_identity(body.name, body.city)
    if named:
        identities.append(named)
    return await service.duplicates_for(session, p, identities, body.exclude_id)


@router.post("/customers", status_code=201, response_model=s.Customer)
async def create_customer(
    body: s.CustomerCreate,
    request: Request,
    session: DbSession,
    p: CurrentUser,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Any:
    idem = Idempotency(session, p, "POST /customers", idempotency_key, body)
    if (replayed := await idem.replay()) is not None:
        return replayed
    c, dups = await service.create_customer(session, p, body)
    out = await _one(session, p, c)
    out.duplicates = dups
    payload = out.model_dump(mode="json")
    idem.remember(201, payload)
    return JSONResponse(payload, status_code=201, headers={"ETag": f'"{c.version}"', "Location": f"/api/v1/customers/{c.id}"})


@router.get("/customers/{customer_id}", response_model=s.Customer)
async def get_customer(customer_id: PathId, response: Response, session: DbSession, p: CurrentUser) -> s.Customer:
    c = await service.get_customer(session, p, customer_id, deleted=None)
    _etag(response, c.version)
    return await _one(session, p, c)


@router.patch("/customers/{customer_id}", response_model=s.Customer)
async def update_customer(
    customer_id: PathId,
    body: s.CustomerUpdate,
    response: Response,
    session: DbSession,
    p: CurrentUser,
    if_match: Annotated[str | None, Header()] = None,
) -> s.Customer:
    c = await service.update_customer(session, p, customer_id, body, if_match)
    _etag(response, c.version)
    return await _one(session, p, c)


@router.delete("/customers/{customer_id}", status_code=204)
async def delete_customer(customer_id: PathId, session: DbSession, p: CurrentUser) -> Response:
    await service.delete_customer(session, p, customer_id)
    return Response(status_code=204)


@router.post("/customers/{customer_id}/restore", response_model=s.Customer)
async def restore_customer(customer_id: PathId, response: Response, session: DbSession, p: CurrentUser) -> s.Customer:
    c = await service.restore_customer(session, p, customer_id)
    _etag(response, c.version)
    return await _one(session, p, c)


@router.delete("/customers/{customer_id}/purge", status_code=204)
async def purge_customer(customer_id: PathId, request: Request, session: DbSession, p: CurrentUser) -> Response:
    await service.purge_customer(session, p, customer_id, attachments_root=request.app.state.settings.attachments_dir)
    return Response(status_code=204)


@router.get("/customers/{customer_id}/history", response_model=AuditPage)
async def customer_history(
    customer_id: PathId,
    session: DbSession,
    p: CurrentUser,
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=200),
) -> AuditPage:
    rows, nxt = await service.history(session, p, customer_id, limit, cursor)
    return AuditPage(items=[AuditEntryOut.of(r, p) for r in rows], next_cursor=nxt)


@router.get("/customers/{customer_id}/contacts", response_model=s.ContactList)
async def list_contacts(customer_id: PathId, session: DbSession, p: CurrentUser) -> s.ContactList:
    rows = await service.list_contacts(session, p, customer_id)
    return s.ContactList(items=[service.contact_out(p, r) for r in rows])


@router.get("/customers/{customer_id}/contacts/vcard", response_class=Response, responses=_FILE_RESPONSES)
async def export_contacts_vcard(customer_id: PathId, request: Request, session: DbSession, p: CurrentUser) -> Response:
    """The customer's contacts as vCard 3.0 (.vcf), phones and emails as the caller's role sees them."""
    name, text, n = await export.contacts_vcard(session, p, customer_id)
    await _audit_export(request, p, customer_id, name, "vcard", n)
    return Response(text.encode("utf-8"), media_type="text/vcard; charset=utf-8",
                    headers={"Content-Disposition": content_disposition(f"{name}.vcf"), "Cache-Control": "no-store"})


@router.post("/customers/{customer_id}/contacts/vcard", response_model=s.VcardImportResult,
             responses={413: PROBLEM_RESPONSES[400] | {"description": "The file is too large"}})
async def import_contacts_vcard(
    customer_id: PathId,
    session: DbSession,
    p: CurrentUser,
    file: Annotated[UploadFile, File(description=".vcf, vCard 2.1, 3.0 or 4.0, one or more cards, at most 1 MB")],
) -> s.VcardImportResult:
    """Contacts from a phone's address book; the same phone or email as an existing contact updates it, never twice."""
    data = await file.read(vcard.MAX_BYTES + 1)
    return await vcard.import_vcard(session, p, customer_id, data)


@router.post("/customers/{customer_id}/contacts", status_code=201, response_model=s.Contact)
async def create_contact(
    customer_id: PathId,
    body: s.ContactCreate,
    session: DbSession,
    p: CurrentUser,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Any:
    idem = Idempotency(session, p, f"POST /customers/{customer_id}/contacts", idempotency_key, body)
    if (replayed := await idem.replay()) is not None:
        return replayed
    c = await service.create_contact(session, p, customer_id, body)
    payload = service.contact_out(p, c).model_dump(mode="json")
    idem.remember(201, payload)
    return JSONResponse(payload, status_code=201, headers={"ETag": f'"{c.version}"'})


@router.patch("/contacts/{contact_id}", response_model=s.Contact)
async def update_contact(
    contact_id: PathId,
    body: s.ContactWrite,
    response: Response,
    session: DbSession,
    p: CurrentUser,
    if_match: Annotated[str | None, Header()] = None,
) -> s.Contact:
    c = await service.update_contact(session, p, contact_id, body, if_match)
    _etag(response, c.version)
    return service.contact_out(p, c)


@router.delete("/contacts/{contact_id}", status_code=204)
async def delete_contact(contact_id: PathId, session: DbSession, p: CurrentUser) -> Response:
    await service.delete_contact(session, p, contact_id)
    return Response(status_code=204)


@router.get("/custom-fields", response_model=list[s.CustomFieldDef])
async def list_custom_fields(session: DbSession, p: CurrentUser, entity: str = "customer") -> list[s.CustomFieldDef]:
    if entity != "customer":
        return []
    return [s.CustomFieldDef.model_validate(d, from_attributes=True) for d in await repo.custom_defs(session, p.workspace_id)]


@router.post("/custom-fields", status_code=201, response_model=s.CustomFieldDef)
async def create_custom_field(body: s.CustomFieldCreate, session: DbSession, p: CurrentUser) -> s.CustomFieldDef:
    d = await service.save_custom_field(session, p, None, body)
    return s.CustomFieldDef.model_validate(d, from_attributes=True)


@router.patch("/custom-fields/{field_id}", response_model=s.CustomFieldDef)
async def update_custom_field(field_id: PathId, body: s.CustomFieldWrite, session: DbSession, p: CurrentUser) -> s.CustomFieldDef:
    d = await service.save_custom_field(session, p, field_id, body)
    return s.CustomFieldDef.model_validate(d, from_attributes=True)


@router.delete("/custom-fields/{field_id}", status_code=204)
async def delete_custom_field(field_id: PathId, session: DbSession, p: CurrentUser) -> Response:
    await service.delete_custom_field(session, p, field_id)
    return Response(status_code=204)


@router.get("/source-channels", response_model=list[s.SourceChannel])
async def list_source_channels(session: DbSession, p: CurrentUser) -> list[s.SourceChannel]:
    return await service.list_channels(session, p)


@router.post("/source-channels", status_code=201, response_model=s.SourceChannel)
async def add_source_channel(body: s.SourceChannelCreate, session: DbSession, p: CurrentUser) -> s.SourceChannel:
    return await service.add_channel(session, p, body)


@router.delete("/source-channels/{key}", status_code=204)
async def delete_source_channel(key: str, session: DbSession, p: CurrentUser) -> Response:
    await service.delete_channel(session, p, key)
    return Response(status_code=204)
