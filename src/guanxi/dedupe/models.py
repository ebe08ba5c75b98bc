"""Duplicate groups kept current on every write, dismissed groups, contact identities and merge records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from guanxi.kit.models import ID, Base, JSONType, UTCDateTime, utcnow


class ContactIdentity(Base):
    """One normalised phone, email or folded name (per customer) of a contact: contact duplicates are index walks."""

    __tablename__ = "contact_identities"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ID, ForeignKey("workspaces.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ID, ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(254))

    __table_args__ = (Index("ix_contact_identities_lookup", "workspace_id", "kind", "value"),)


class DuplicateGroup(Base):
    """An identity value shared by at least two live records: what the duplicates page walks.

    Kept current in the same transaction as every identity change, so the page reads a few hundred rows instead
    of grouping millions of identities per request. `anchor_id` is the newest member: newest duplicates first,
    and groups of the same records sit next to each other.
    """

    __tablename__ = "duplicate_groups"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ID, ForeignKey("workspaces.id", ondelete="CASCADE"))
    entity: Mapped[str] = mapped_column(String(10))  # customer | contact
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(254))
    size: Mapped[int] = mapped_column(Integer)
    anchor_id: Mapped[int] = mapped_column(ID)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("workspace_id", "entity", "kind", "value", name="uq_duplicate_groups_key"),
        Index("ix_duplicate_groups_walk", "workspace_id", "entity", "anchor_id", "id"),
    )


class DuplicateGroupOwner(Base):
    """The members of one group that one user owns, when two or more: a sales rep's duplicates page walks these.

    A rep who owns few customers sees few groups; walking every group of the workspace to find them reads thousands
    of rows per page. Kept in the same transaction as the groups; `anchor_id` and `group_id` are the group's, so the
    page keeps the order and cursor of the full walk.
    """

    __tablename__ = "duplicate_group_owners"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ID, ForeignKey("workspaces.id", ondelete="CASCADE"))
    entity: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(254))
    owner_id: Mapped[int] = mapped_column(ID, ForeignKey("users.id", ondelete="CASCADE"))
    size: Mapped[int] = mapped_column(Integer)
    anchor_id: Mapped[int] = mapped_column(ID)
    group_id: Mapped[int] = mapped_column(ID, ForeignKey("duplicate_groups.id", ondelete="CASCADE"))

    __table_args__ = (
        UniqueConstraint("workspace_id", "entity", "kind", "value", "owner_id", name="uq_duplicate_group_owners_key"),
        Index("ix_duplicate_group_owners_walk", "workspace_id", "entity", "owner_id", "anchor_id", "group_id"),
        Index("ix_duplicate_group_owners_group", "group_id"),
    )


class DuplicateDismissal(Base):
    """不是重复: these exact records are not duplicates of each other; a new member brings the group back."""

    __tablename__ = "duplicate_dismissals"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ID, ForeignKey("workspaces.id", ondelete="CASCADE"))
    entity: Mapped[str] = mapped_column(String(10))
    member_key: Mapped[str] = mapped_column(String(64))  # sha256 of the sorted member ids
    member_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ID, ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (Index("ix_duplicate_dismissals_key", "workspace_id", "entity", "member_key"),)


class CustomerMerge(Base):
    """What one merge changed, so that it can be undone: the survivor's values before and after, the rows moved."""

    __tablename__ = "customer_merges"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ID, ForeignKey("workspaces.id", ondelete="CASCADE"))
    survivor_id: Mapped[int] = mapped_column(ID, ForeignKey("customers.id", ondelete="CASCADE"))
    merged_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    state: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ID, ForeignKey("users.id", ondelete="SET NULL"))
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    undone_by: Mapped[int | None] = mapped_column(ID, ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (Index("ix_customer_merges_survivor", "survivor_id", "id"),)


class ContactMerge(Base):
    """What one merge of contacts changed, so that it can be undone: the survivor before and after, the links moved."""

    __tablename__ = "contact_merges"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ID, ForeignKey("workspaces.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ID, ForeignKey("customers.id", ondelete="CASCADE"))
    survivor_id: Mapped[int] = mapped_column(ID, ForeignKey("contacts.id", ondelete="CASCADE"))
    merged_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    state: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ID, ForeignKey("users.id", ondelete="SET NULL"))
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    undone_by: Mapped[int | None] = mapped_column(ID, ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (
        # the recycle bin lists a workspace's merges newest first; a customer's purge cascades through customer_id
        Index("ix_contact_merges_ws", "workspace_id", "id"),
        Index("ix_contact_merges_customer", "customer_id", "id"),
    )
