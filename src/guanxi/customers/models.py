"""Customers (企业客户 / 个人客户), their contacts, identities for duplicate checks, custom fields."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from guanxi.kit.models import ID, Base, BusinessMixin, JSONType, UTCDateTime, utcnow

LIVE = text("deleted_at IS NULL")
BINNED = text("deleted_at IS NOT NULL")


class Customer(BusinessMixin, Base):
    __tablename__ = "customers"
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))
    # "zhangwei zw": kept with the name so ranking search results never recomputes pinyin
    name_pinyin: Mapped[str | None] = mapped_column(String(400))
    # what "sort by name" orders by: pinyin, so 阿里 comes before 张伟 (search.sort_key)
    name_sort: Mapped[str | None] = mapped_column(String(200))
    # the name as search ranks it (search.fold_name): letters and digits, NFKC, lower case
    name_fold: Mapped[str | None] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(50))
    size: Mapped[str | None] = mapped_column(String(10))
    province: Mapped[str | None] = mapped_column(String(30))
    city: Mapped[str | None] = mapped_column(String(30))
    district: Mapped[str | None] = mapped_column(String(30))
    address: Mapped[str | None] = mapped_column(String(300))
    phones: Mapped[list[str]] = mapped_column(JSONType, default=list)
    emails: Mapped[list[str]] = mapped_column(JSONType, default=list)
    wechat: Mapped[str | None] = mapped_column(String(64))
    website: Mapped[str | None] = mapped_column(String(300))
    source: Mapped[str | None] = mapped_column(String(40))
    stage: Mapped[str] = mapped_column(String(20), default="potential")
    grade: Mapped[str | None] = mapped_column(String(1))
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    owner_id: Mapped[int | None] = mapped_column(ID, ForeignKey("users.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(ID, ForeignKey("teams.id", ondelete="SET NULL"))
    birthday: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    custom: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # derived by the activities domain: the latest occurred_at of the customer's live interactions
    last_contacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # set while the customer sits in the recycle bin because it was merged into another (see guanxi.dedupe)
    merged_into_id: Mapped[int | None] = mapped_column(ID)
    merge_id: Mapped[int | None] = mapped_column(ID)

    __table_args__ = (
        Index("ix_customers_ws_updated", "workspace_id", "updated_at", "id", sqlite_where=LIVE, postgresql_where=LIVE),
        Index("ix_customers_ws_created", "workspace_id", "created_at", "id", sqlite_where=LIVE, postgresql_where=LIVE),
        Index("ix_customers_ws_name", "workspace_id", "name", "id", sqlite_where=LIVE, postgresql_where=LIVE),
        Index("ix_customers_ws_name_sort", "workspace_id", "name_sort", "id", sqlite_where=LIVE,
              postgresql_where=LIVE),
        # a stage's customers by name (a common saved view): without it the walk in name order skips the others
        Index("ix_customers_ws_stage_name", "workspace_id", "stage", "name_sort", "id", sqlite_where=LIVE,
              postgresql_where=LIVE),
        Index("ix_customers_ws_stage", "workspace_id", "stage", "updated_at", "id", sqlite_where=LIVE, postgresql_where=LIVE),
        Index("ix_customers_ws_grade", "workspace_id", "grade", "updated_at", "id", sqlite_where=LIVE, postgresql_where=LIVE),
        Index("ix_customers_ws_city", "workspace_id", "city", "updated_at", "id", sqlite_where=LIVE, postgresql_where=LIVE),
        Index("ix_customers_owner", "owner_id", "updated_at", "id", sqlite_where=LIVE, postgresql_where=LIVE),
        Index("ix_customers_team", "team_id", "updated_at", "id", sqlite_where=LIVE, postgresql_where=LIVE),
        Index("ix_customers_ws_contacted", "workspace_id", "last_contacted_at", "id", sqlite_where=LIVE,
              postgresql_where=LIVE),
        # the recycle bin only: a full index here would tempt planners to answer "deleted_at IS NULL" with it
        Index("ix_customers_ws_deleted", "workspace_id", "deleted_at", "id", sqlite_where=BINNED, postgresql_where=BINNED),
    )


class Contact(BusinessMixin, Base):
    __tablename__ = "contacts"
    customer_id: Mapped[int] = mapped_column(ID, ForeignKey("customers.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(String(100))
    phones: Mapped[list[str]] = mapped_column(JSONType, default=list)
    emails: Mapped[list[str]] = mapped_column(JSONType, default=list)
    wechat: Mapped[str | None] = mapped_column(String(64))
    birthday: Mapped[date | None] = mapped_column(Date)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_contacts_customer", "customer_id", "id"),)


class CustomerIdentity(Base):
    """One normalised phone (E.164) or email of a live customer: duplicate checks are index lookups."""

    __tablename__ = "customer_identities"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ID, ForeignKey("workspaces.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ID, ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(254))

    __table_args__ = (Index("ix_identities_lookup", "workspace_id", "kind", "value"),)


class CustomFieldDef(Base):
    __tablename__ = "custom_fields"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ID, ForeignKey("workspaces.id", ondelete="CASCADE"))
    entity: Mapped[str] = mapped_column(String(20), default="customer")
    key: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(100))
    label_en: Mapped[str | None] = mapped_column(String(100))  # shown to English users when set
    type: Mapped[str] = mapped_column(String(12))
    options: Mapped[list[dict[str, str]]] = mapped_column(JSONType, default=list)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (UniqueConstraint("workspace_id", "entity", "key", name="uq_custom_fields_key"),)


class SourceChannel(Base):
    """A workspace's own acquisition channels (获客渠道) beside the built-in ones."""

    __tablename__ = "source_channels"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ID, ForeignKey("workspaces.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("workspace_id", "key", name="uq_source_channels_key"),)
