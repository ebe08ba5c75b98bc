"""Customer, contact, custom-field and channel shapes of the API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from guanxi.kit.models import SYSTEM_FIELDS
from guanxi.kit.schemas import Id, WriteModel

Kind = Literal["company", "person"]
Size = Literal["1-20", "21-100", "101-500", "501-1000", "1000+"]
Stage = Literal["potential", "first_purchase", "repeat", "loyal", "at_risk", "lost"]
Grade = Literal["A", "B", "C", "D"]
FieldType = Literal["text", "number", "money", "date", "select", "multiselect", "boolean", "user"]

KINDS = ("company", "person")
SIZES = ("1-20", "21-100", "101-500", "501-1000", "1000+")
STAGES = ("potential", "first_purchase", "repeat", "loyal", "at_risk", "lost")
GRADES = ("A", "B", "C", "D")
BUILTIN_SOURCES = ("referral", "advertising", "prospecting", "service", "web", "event", "other")

_DERIVED = frozenset({"team_id", "owner_name", "team_name", "contact_count", "duplicates",
                      "last_contacted_at", "days_since_contact", "merged_into_id", "merged_into_name", "merge_id"})


class CustomerWrite(WriteModel):
    read_only: ClassVar[frozenset[str]] = SYSTEM_FIELDS | _DERIVED
    kind: Kind | None = None
    name: str | None = Field(default=None, max_length=200)
    industry: str | None = Field(default=None, max_length=50)
    size: Size | None = None
    province: str | None = Field(default=None, max_length=30)
    city: str | None = Field(default=None, max_length=30)
    district: str | None = Field(default=None, max_length=30)
    address: str | None = Field(default=None, max_length=300)
    phones: list[str] | None = Field(default=None, max_length=10)
    emails: list[str] | None = Field(default=None, max_length=10)
    wechat: str | None = Field(default=None, max_length=64)
    website: str | None = Field(default=None, max_length=300)
    source: str | None = Field(default=None, max_length=40)
    stage: Stage | None = None
    grade: Grade | None = None
    tags: list[str] | None = Field(default=None, max_length=20)
    owner_id: Id | None = None
    birthday: date | None = None
    notes: str | None = Field(default=None, max_length=5000)
    custom: dict[str, Any] | None = None


class CustomerCreate(CustomerWrite):
    kind: Kind
    name: str = Field(min_length=1, max_length=200)


class CustomerUpdate(CustomerWrite):
    """Every field optional: only what is sent changes."""


class DuplicateHit(BaseModel):
    id: int | None
    name: str | None
    matched_on: Literal["phone", "email", "name"]
    value: str
    owner_name: str | None = None
    visible: bool = True


class Customer(BaseModel):
    id: int
    kind: str
    name: str
    industry: str | None
    size: str | None
    province: str | None
    city: str | None
    district: str | None
    address: str | None
    phones: list[str]
    emails: list[str]
    wechat: str | None
    website: str | None
    source: str | None
    stage: str
    grade: str | None
    tags: list[str]
    owner_id: Id | None
    owner_name: str | None
    team_id: Id | None
    team_name: str | None
    birthday: date | None
    notes: str | None
    custom: dict[str, Any]
    contact_count: int = 0
    version: int
    created_at: datetime
    updated_at: datetime
    created_by: int | None
    deleted_at: datetime | None
    duplicates: list[DuplicateHit] | None = None
    # kept by the activities domain: the latest live interaction, and whole days since it in the workspace's time
    last_contacted_at: datetime | None = None
    days_since_contact: int | None = None
    # in the recycle bin because it was merged into that customer: restoring it undoes merge `merge_id`
    merged_into_id: int | None = None
    merged_into_name: str | None = None
    merge_id: int | None = None


class CheckDuplicates(WriteModel):
    phones: list[str] = Field(default_factory=list, max_length=10)
    emails: list[str] = Field(default_factory=list, max_length=10)
    name: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=30)
    exclude_id: Id | None = None


class ContactWrite(WriteModel):
    read_only: ClassVar[frozenset[str]] = SYSTEM_FIELDS | {"customer_id"}
    name: str | None = Field(default=None, max_length=100)
    title: str | None = Field(default=None, max_length=100)
    phones: list[str] | None = Field(default=None, max_length=10)
    emails: list[str] | None = Field(default=None, max_length=10)
    wechat: str | None = Field(default=None, max_length=64)
    birthday: date | None = None
    is_primary: bool | None = None
    notes: str | None = Field(default=None, max_length=5000)


class ContactCreate(ContactWrite):
    name: str = Field(min_length=1, max_length=100)


class Contact(BaseModel):
    id: int
    customer_id: int
    name: str
    title: str | None
    phones: list[str]
    emails: list[str]
    wechat: str | None
    birthday: date | None
    is_primary: bool
    notes: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class ContactList(BaseModel):
    items: list[Contact]


class Option(BaseModel):
    value: str = Field(min_length=1, max_length=60)
    label: str = Field(min_length=1, max_length=100)
    label_en: str | None = Field(default=None, max_length=100)  # for English users; `label` when empty


class CustomFieldWrite(WriteModel):
    entity: Literal["customer"] | None = None
    key: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,39}$")
    label: str | None = Field(default=None, min_length=1, max_length=100)
    label_en: str | None = Field(default=None, max_length=100)
    type: FieldType | None = None
    options: list[Option] | None = Field(default=None, max_length=200)
    required: bool | None = None
    position: int | None = Field(default=None, ge=0, le=10000)


class CustomFieldCreate(CustomFieldWrite):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    label: str = Field(min_length=1, max_length=100)
    type: FieldType


class CustomFieldDef(BaseModel):
    id: int
    entity: str
    key: str
    label: str
    label_en: str | None = None
    type: str
    options: list[Option]
    required: bool
    position: int


class SourceChannel(BaseModel):
    key: str
    label: str
    builtin: bool


class SourceChannelCreate(WriteModel):
    label: str = Field(min_length=1, max_length=100)
    key: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,39}$")


class FieldMeta(BaseModel):
    name: str
    label: str
    type: str
    sortable: bool
    filterable: bool
    options: list[Option] | None = None


class CustomerMeta(BaseModel):
    fields: list[FieldMeta]
    custom_fields: list[CustomFieldDef]


class VcardImportItem(BaseModel):
    index: int  # the card's position in the file, from 1
    name: str
    status: Literal["created", "updated", "skipped", "failed"]
    contact_id: int | None = None
    reason: str | None = None  # why it was skipped or failed, or what was left out; in the caller's language


class VcardImportResult(BaseModel):
    created: int
    updated: int
    skipped: int
    failed: int
    items: list[VcardImportItem]
