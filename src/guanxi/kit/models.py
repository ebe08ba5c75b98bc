"""Declarative base, column types and the mixin every business table carries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    DateTime,
    Dialect,
    ForeignKey,
    Integer,
    MetaData,
    any_,
    literal,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

ID = BigInteger().with_variant(Integer(), "sqlite")  # INTEGER PRIMARY KEY is SQLite's rowid
JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Always timezone-aware UTC in Python, whatever the database keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType}  # noqa: RUF012 (read by SQLAlchemy)


class BusinessMixin:
    """id, workspace, audit stamps, optimistic-lock version and the recycle-bin mark."""

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)

    @declared_attr
    def workspace_id(cls) -> Mapped[int]:
        return mapped_column(ID, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False)

    @declared_attr
    def created_by(cls) -> Mapped[int | None]:
        return mapped_column(ID, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


SYSTEM_FIELDS = frozenset({"id", "workspace_id", "created_at", "updated_at", "created_by", "version", "deleted_at"})


def dialect(session: AsyncSession) -> str:
    """The session's database: "sqlite" or "postgresql"."""
    return session.get_bind().dialect.name


def id_in(kind: str, col: Any, ids: Iterable[int]) -> ColumnElement[bool]:
    """`col IN ids`. On PostgreSQL the ids are one array parameter (`= ANY(bigint[])`): an expanding `IN` is another
    statement text, so another prepared statement and plan, for every list length, and renders one placeholder per id
    on every execution. SQLite prepares nothing across executions, and a JSON array read by `json_each` measured no
    cheaper there than the expanding `IN`."""
    if kind == "postgresql":
        return col == any_(literal(list(ids), ARRAY(BigInteger())))
    return col.in_(list(ids))
