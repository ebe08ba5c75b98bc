"""Interaction, attachment, channel, task and note shapes of the API."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, Field

from guanxi.kit.models import SYSTEM_FIELDS
from guanxi.kit.schemas import Id, Instant, WriteModel

Direction = Literal["inbound", "outbound"]
Priority = Literal["low", "normal", "high", "urgent"]
Status = Literal["open", "done", "cancelled"]
Repeat = Literal["none", "daily", "weekly", "monthly"]
Bucket = Literal["overdue", "today", "upcoming"]

# key → (zh-CN, en); custom channels of a workspace come after these
BUILTIN_CHANNELS: dict[str, tuple[str, str]] = {
    "phone": ("电话", "Phone"),
    "email": ("邮件", "Email"),
    "meeting": ("面谈", "Meeting"),
    "visit": ("拜访", "Visit"),
    "social": ("社交媒体", "Social media"),
    "chat": ("在线聊天", "Online chat"),
    "wechat": ("微信", "WeChat"),
    "sms": ("短信", "SMS"),
}
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"


class UserRef(BaseModel):
    id: int
    name: str


class ContactRef(BaseModel):
    id: int
    name: str


# ------------------------------------------------------------------ channels


class InteractionChannel(BaseModel):
    key: str
    label: str
    label_en: str | None
    position: int
    builtin: bool


class InteractionChannelCreate(WriteModel):
    label: str = Field(min_length=1, max_length=100)
    label_en: str | None = Field(default=None, max_length=100)
    key: str | None = Field(default=None, pattern=KEY_PATTERN)
    position: int | None = Field(default=None, ge=0, le=10000)


class InteractionChannelUpdate(WriteModel):
    read_only: ClassVar[frozenset[str]] = SYSTEM_FIELDS | {"key", "builtin"}
    label: str | None = Field(default=None, min_length=1, max_length=100)
    label_en: str | None = Field(default=None, max_length=100)
    position: int | None = Field(default=None, ge=0, le=10000)


# ------------------------------------------------------------------ tasks


class TaskWrite(WriteModel):
    read_only: ClassVar[frozenset[str]] = SYSTEM_FIELDS | {
        "team_id", "completed_at", "remind_at", "reminded_at", "assignee_name", "customer_name", "overdue",
        "previous_id"}
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10000)
    due_at: Instant | None = None
    assignee_id: Id | None = None
    customer_id: Id | None = None
    related_type: str | None = Field(default=None, pattern=KEY_PATTERN)
    related_id: Id | None = None
    priority: Priority | None = None
    status: Status | None = None
    remind_before_minutes: int | None = Field(default=None, ge=0, le=10080)
    repeat: Repeat | None = None


class TaskCreate(TaskWrite):
    title: str = Field(min_length=1, max_length=200)
    due_at: Instant


class TaskUpdate(TaskWrite):
    """Every field optional: only what is sent changes."""


class Task(BaseModel):
    id: int
    title: str
    description: str | None
    due_at: datetime
    assignee_id: int | None
    assignee_name: str | None
    team_id: int | None
    customer_id: int | None
    customer_name: str | None
    related_type: str | None
    related_id: int | None
    priority: str
    status: str
    completed_at: datetime | None
    remind_before_minutes: int | None
    remind_at: datetime | None
    reminded_at: datetime | None
    repeat: str
    previous_id: int | None
    overdue: bool
    version: int
    created_at: datetime
    updated_at: datetime
    created_by: int | None
    deleted_at: datetime | None


class TaskCompleted(BaseModel):
    task: Task
    next: Task | None = None  # the next occurrence of a repeating task


class WorkBucket(BaseModel):
    count: int
    capped: bool = False
    items: list[Task]


class MyWork(BaseModel):
    scope: Literal["mine", "team"]
    time_zone: str
    overdue: WorkBucket
    today: WorkBucket
    upcoming: WorkBucket


# ------------------------------------------------------------------ interactions


class FollowUp(WriteModel):
    """A follow-up task made together with the interaction."""

    title: str = Field(min_length=1, max_length=200)
    due_at: Instant
    assignee_id: Id | None = None
    remind_before_minutes: int | None = Field(default=None, ge=0, le=10080)


_INTERACTION_DERIVED = frozenset({"customer_name", "user_name", "channel_label", "contacts", "attachments"})


class InteractionWrite(WriteModel):
    read_only: ClassVar[frozenset[str]] = SYSTEM_FIELDS | _INTERACTION_DERIVED
    contact_ids: list[Id] | None = Field(default=None, max_length=20)
    channel: str | None = Field(default=None, min_length=1, max_length=40)
    direction: Direction | None = None
    occurred_at: Instant | None = None
    duration_minutes: int | None = Field(default=None, ge=0, le=1440)
    user_id: Id | None = None
    subject: str | None = Field(default=None, max_length=200)
    summary: str | None = Field(default=None, max_length=10000)
    outcome: str | None = Field(default=None, max_length=1000)
    next_step: str | None = Field(default=None, max_length=1000)
    next_step_at: Instant | None = None


class InteractionCreate(InteractionWrite):
    customer_id: Id
    channel: str = Field(min_length=1, max_length=40)
    follow_up: FollowUp | None = None


class InteractionUpdate(InteractionWrite):
    """Every field optional; an interaction stays with its customer."""

    read_only: ClassVar[frozenset[str]] = SYSTEM_FIELDS | _INTERACTION_DERIVED | {"customer_id"}


class Attachment(BaseModel):
    id: int
    interaction_id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime
    created_by: int | None
    url: str


class Interaction(BaseModel):
    id: int
    customer_id: int
    customer_name: str | None
    contact_ids: list[int]
    contacts: list[ContactRef]
    channel: str
    channel_label: str
    direction: str
    occurred_at: datetime
    duration_minutes: int | None
    user_id: int | None
    user_name: str | None
    subject: str | None
    summary: str | None
    outcome: str | None
    next_step: str | None
    next_step_at: datetime | None
    attachments: list[Attachment]
    version: int
    created_at: datetime
    updated_at: datetime
    created_by: int | None
    deleted_at: datetime | None


class InteractionCreated(Interaction):
    follow_up_task: Task | None = None  # the task made from `follow_up`, when one was sent


# ------------------------------------------------------------------ notes


class NoteWrite(WriteModel):
    read_only: ClassVar[frozenset[str]] = SYSTEM_FIELDS | {"customer_id", "author_id", "author_name", "mentioned",
                                                           "can_edit"}
    body: str | None = Field(default=None, min_length=1, max_length=10000)
    mentions: list[Id] | None = Field(default=None, max_length=50)


class NoteCreate(NoteWrite):
    body: str = Field(min_length=1, max_length=10000)


class NoteUpdate(NoteWrite):
    """Every field optional."""


class Note(BaseModel):
    id: int
    customer_id: int
    body: str
    mentions: list[int]
    mentioned: list[UserRef]
    author_id: int | None
    author_name: str | None
    can_edit: bool
    version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
