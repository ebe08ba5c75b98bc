"""Shapes of the duplicates and merge API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from guanxi.kit.schemas import Id, WriteModel

Reason = Literal["phone", "email", "name"]


class DuplicateReason(BaseModel):
    kind: Reason
    value: str  # readable: 138 0013 8000, li@example.cn, 星河科技 · 上海
    label: str  # 相同电话 / Same phone


class DuplicateCustomer(BaseModel):
    id: int
    kind: str
    name: str
    city: str | None
    phones: list[str]
    emails: list[str]
    stage: str
    grade: str | None
    owner_id: int | None
    owner_name: str | None
    updated_at: datetime
    created_at: datetime
    version: int
    contact_count: int
    interaction_count: int
    task_count: int
    note_count: int


class CustomerGroup(BaseModel):
    key: str  # names the member set: pass it back to dismiss the group
    reasons: list[DuplicateReason]
    members: list[DuplicateCustomer]
    size: int  # members the caller may see (members holds at most 20)


class CustomerGroupPage(BaseModel):
    items: list[CustomerGroup]
    next_cursor: str | None = None


class DuplicateContact(BaseModel):
    id: int
    customer_id: int
    customer_name: str
    name: str
    title: str | None
    phones: list[str]
    emails: list[str]
    wechat: str | None
    birthday: Any = None
    notes: str | None
    is_primary: bool
    updated_at: datetime
    version: int


class ContactGroup(BaseModel):
    key: str
    reasons: list[DuplicateReason]
    members: list[DuplicateContact]
    size: int
    same_customer: bool  # only contacts of one customer can be merged


class ContactGroupPage(BaseModel):
    items: list[ContactGroup]
    next_cursor: str | None = None


class Dismiss(WriteModel):
    entity: Literal["customer", "contact"] = "customer"
    member_ids: list[Id] = Field(min_length=2, max_length=200)


class Dismissal(BaseModel):
    id: int
    entity: str
    member_ids: list[int]
    created_at: datetime
    created_by: int | None


class DismissalPage(BaseModel):
    items: list[Dismissal]
    next_cursor: str | None = None


# A field's surviving value: the id of the record to take it from, or "union" for lists (phones, emails, tags).
Choice = int | Literal["union"]


class MergeRequest(WriteModel):
    survivor_id: Id
    merged_ids: list[Id] = Field(min_length=1, max_length=9)
    # every record's version as the client saw it (the If-Match of each one): a stale one is 412, nothing written
    versions: dict[str, int] = Field(default_factory=dict, max_length=10)
    values: dict[str, Choice] = Field(default_factory=dict, max_length=200)


class MergeMoved(BaseModel):
    interactions: int = 0
    tasks: int = 0
    notes: int = 0
    attachments: int = 0
    contacts: int = 0
    timeline: int = 0


class MergeResult(BaseModel):
    merge_id: int
    survivor_id: int
    merged_ids: list[int]
    moved: MergeMoved


class MergeRecord(BaseModel):
    id: int
    survivor_id: int
    survivor_name: str | None
    merged: list[dict[str, Any]]  # [{"id", "name"}]
    created_at: datetime
    created_by: int | None
    undone_at: datetime | None
    moved: MergeMoved


class UndoResult(BaseModel):
    merge_id: int
    survivor_id: int
    restored_ids: list[int]


class ContactMergeRecord(BaseModel):
    """A merge of contacts, listed in the recycle bin while it can be undone."""

    id: int
    customer_id: int
    customer_name: str
    survivor_id: int
    survivor_name: str
    merged: list[dict[str, Any]]  # [{"id", "name"}]
    interactions: int  # interactions whose contact links the merge rewrote
    created_at: datetime
    created_by: int | None
    created_by_name: str | None
    undone_at: datetime | None


class ContactMergePage(BaseModel):
    items: list[ContactMergeRecord]
    next_cursor: str | None = None
