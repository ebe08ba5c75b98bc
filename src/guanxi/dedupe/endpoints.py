"""Thin routes: duplicate groups of customers and contacts, 不是重复, merge and undo."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from guanxi.authz.deps import CurrentUser
from guanxi.dedupe import schemas as s
from guanxi.dedupe import service
from guanxi.kit.deps import DbSession
from guanxi.kit.errors import PROBLEM_RESPONSES
from guanxi.kit.schemas import PathId

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES, tags=["duplicates"])


@router.get("/duplicates/customers", response_model=s.CustomerGroupPage)
async def duplicate_customers(
    session: DbSession, p: CurrentUser, limit: int = Query(default=20, ge=1, le=100),
    cursor: str | None = Query(default=None, max_length=200),
    customer_id: int | None = Query(default=None, ge=1, le=2**63 - 1),
) -> s.CustomerGroupPage:
    """Groups of live customers the caller may see that share a phone, an email or a similar name in one city;
    with `customer_id`, only the groups of that customer ("查找重复" on its page)."""
    return await service.customer_groups(session, p, cursor, limit, customer_id)


@router.get("/duplicates/contacts", response_model=s.ContactGroupPage)
async def duplicate_contacts(
    session: DbSession, p: CurrentUser, limit: int = Query(default=20, ge=1, le=100),
    cursor: str | None = Query(default=None, max_length=200),
) -> s.ContactGroupPage:
    """Contacts that share a phone or an email, or the same name within one customer."""
    return await service.contact_groups(session, p, cursor, limit)


@router.post("/duplicates/dismissals", status_code=201, response_model=s.Dismissal)
async def dismiss(body: s.Dismiss, session: DbSession, p: CurrentUser) -> s.Dismissal:
    """不是重复: this group is not shown again until another record joins it."""
    return service.dismissal_out(await service.dismiss(session, p, body))


@router.get("/duplicates/dismissals", response_model=s.DismissalPage)
async def dismissals(
    session: DbSession, p: CurrentUser, entity: str = Query(default="customer", pattern="^(customer|contact)$"),
    limit: int = Query(default=20, ge=1, le=100), cursor: str | None = Query(default=None, max_length=200),
) -> s.DismissalPage:
    return await service.list_dismissals(session, p, entity, cursor, limit)


@router.delete("/duplicates/dismissals/{dismissal_id}", status_code=204)
async def undo_dismissal(dismissal_id: PathId, session: DbSession, p: CurrentUser) -> Response:
    await service.undo_dismissal(session, p, dismissal_id)
    return Response(status_code=204)


@router.post("/customers/merge", response_model=s.MergeResult)
async def merge_customers(body: s.MergeRequest, session: DbSession, p: CurrentUser) -> s.MergeResult:
    """Merge `merged_ids` into `survivor_id` in one transaction; `versions` holds every record's version."""
    return await service.merge_customers(session, p, body)


@router.get("/customers/merges/{merge_id}", response_model=s.MergeRecord)
async def get_merge(merge_id: PathId, session: DbSession, p: CurrentUser) -> s.MergeRecord:
    return await service.get_merge(session, p, merge_id)


@router.post("/customers/merges/{merge_id}/undo", response_model=s.UndoResult)
async def undo_merge(merge_id: PathId, session: DbSession, p: CurrentUser) -> s.UndoResult:
    """Move the merged records back and restore the survivor's previous values (see the undo rule in the docs)."""
    return await service.undo_merge(session, p, merge_id)


@router.post("/contacts/merge", response_model=s.MergeResult)
async def merge_contacts(body: s.MergeRequest, session: DbSession, p: CurrentUser) -> s.MergeResult:
    """Merge contacts of one customer; interactions that named a merged contact name the survivor."""
    return await service.merge_contacts(session, p, body)


@router.get("/contacts/merges", response_model=s.ContactMergePage)
async def contact_merges(
    session: DbSession, p: CurrentUser, limit: int = Query(default=20, ge=1, le=100),
    cursor: str | None = Query(default=None, max_length=200),
) -> s.ContactMergePage:
    """Contact merges that can still be undone, newest first (the recycle bin's 合并的联系人)."""
    return await service.list_contact_merges(session, p, cursor, limit)


@router.post("/contacts/merges/{merge_id}/undo", response_model=s.UndoResult)
async def undo_contact_merge(merge_id: PathId, session: DbSession, p: CurrentUser) -> s.UndoResult:
    """Bring the merged contacts back, restore the survivor and the interactions' contact links; 409 once the survivor
    changed since the merge."""
    return await service.undo_contact_merge(session, p, merge_id)
