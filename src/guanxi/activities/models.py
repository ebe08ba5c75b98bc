"""Communication records (客户沟通记录) with their attachments and channels, tasks (待办) and notes (备注)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from guanxi.kit.models import ID, Base, BusinessMixin, JSONType, UTCDateTime, utcnow

LIVE = text("deleted_at IS NULL")
BINNED = text("deleted_at IS NOT NULL")
# reminders still to send: what the reminder job scans, and nothing else
DUE_REMINDERS = text("reminded_at IS NULL AND status = 'open' AND deleted_at IS NULL")


class InteractionChannel(Base):
    """A workspace's own channels beside the built-in ones (phone, email, meeting, visit, ...)."""

    __tablename__ = "interaction_channels"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ID, ForeignKey("workspaces.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(100))
    label_en: Mapped[str | None] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=100)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (UniqueConstraint("workspace_id", "key", name="uq_interaction_channels_key"),)


class Interaction(BusinessMixin, Base):
    """One conversation with a customer: who, when, how, what was said and what happens next."""

    __tablename__ = "interactions"
    customer_id: Mapped[int] = mapped_column(ID, ForeignKey("customers.id", ondelete="CASCADE"))
    contact_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    channel: Mapped[str] = mapped_column(String(40))
    direction: Mapped[str] = mapped_column(String(10), default="outbound")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(ID, ForeignKey("users.id", ondelete="SET NULL"))
    subject: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(1000))
    next_step: Mapped[str | None] = mapped_column(String(1000))
    next_step_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        # a customer's interactions, newest first; also the max(occurred_at) behind last_contacted_at
        Index("ix_interactions_customer", "customer_id", "occurred_at", "id", sqlite_where=LIVE, postgresql_where=LIVE),
        Index("ix_interactions_ws_occurred", "workspace_id", "occurred_at", "id", sqlite_where=LIVE,
              postgresql_where=LIVE),
        Index("ix_interactions_user", "user_id", "occurred_at", "id", sqlite_where=LIVE, postgresql_where=LIVE),
        Index("ix_interactions_ws_deleted", "workspace_id", "deleted_at", "id", sqlite_where=BINNED,
              postgresql_where=BINNED),
    )


class Attachment(Base):
    """A file of an interaction; the bytes live on disk, content-addressed by SHA-256 per workspace."""

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ID, ForeignKey("workspaces.id", ondelete="CASCADE"))
    interaction_id: Mapped[int] = mapped_column(ID, ForeignKey("interactions.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_path: Mapped[str] = mapped_column(String(300))  # relative to the attachments directory
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ID, ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (
        Index("ix_attachments_interaction", "interaction_id", "id"),
        Index("ix_attachments_ws_sha", "workspace_id", "sha256"),
    )


class Task(BusinessMixin, Base):
    """A to-do (待办) of one user, optionally about a customer; repeating ones roll over when completed."""

    __tablename__ = "tasks"
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    assignee_id: Mapped[int | None] = mapped_column(ID, ForeignKey("users.id", ondelete="SET NULL"))
    # the assignee's team, kept with the assignment: managers see their teams' tasks through it
    team_id: Mapped[int | None] = mapped_column(ID, ForeignKey("teams.id", ondelete="SET NULL"))
    customer_id: Mapped[int | None] = mapped_column(ID, ForeignKey("customers.id", ondelete="CASCADE"))
    related_type: Mapped[str | None] = mapped_column(String(40))
    related_id: Mapped[int | None] = mapped_column(ID)
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    status: Mapped[str] = mapped_column(String(10), default="open")
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    remind_before_minutes: Mapped[int | None] = mapped_column(Integer)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    repeat: Mapped[str] = mapped_column(String(10), default="none")
    # monthly repeats keep this day of the month (clamped to short months): 31 → Feb 28 → Mar 31
    repeat_day: Mapped[int | None] = mapped_column(SmallInteger)
    # the occurrence this one was rolled over from; completing twice never makes two successors
    previous_id: Mapped[int | None] = mapped_column(ID, ForeignKey("tasks.id", ondelete="SET NULL"))

    __table_args__ = (
        Index("ix_tasks_assignee", "assignee_id", "status", "due_at", "id", sqlite_where=LIVE, postgresql_where=LIVE),
        Index("ix_tasks_team", "team_id", "status", "due_at", "id", sqlite_where=LIVE, postgresql_where=LIVE),
        Index("ix_tasks_ws_due", "workspace_id", "status", "due_at", "id", sqlite_where=LIVE, postgresql_where=LIVE),
        Index("ix_tasks_customer", "customer_id", "due_at", "id", sqlite_where=LIVE, postgresql_where=LIVE),
        Index("ix_tasks_remind", "remind_at", sqlite_where=DUE_REMINDERS, postgresql_where=DUE_REMINDERS),
        Index("ix_tasks_previous", "previous_id"),
        Index("ix_tasks_ws_deleted", "workspace_id", "deleted_at", "id", sqlite_where=BINNED, postgresql_where=BINNED),
    )


class Note(BusinessMixin, Base):
    """A note (备注) on a customer; @mentions notify colleagues."""

    __tablename__ = "notes"
    customer_id: Mapped[int] = mapped_column(ID, ForeignKey("customers.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    mentions: Mapped[list[int]] = mapped_column(JSONType, default=list)

    __table_args__ = (Index("ix_notes_customer", "customer_id", "id", sqlite_where=LIVE, postgresql_where=LIVE),)
