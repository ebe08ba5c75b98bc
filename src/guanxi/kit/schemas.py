"""Base models for request bodies: unknown fields are refused, server-set fields get read_only_field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from guanxi.kit.models import SYSTEM_FIELDS

ID_MAX = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=ID_MAX)]  # any id a client sends: beyond 64 bits is a 422, not a driver crash
PathId = Annotated[int, Path(ge=1, le=ID_MAX)]


def _instant(value: datetime) -> datetime:
    # a time without an offset is UTC, as the API contract says; far-off years would overflow date arithmetic
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not 1900 <= value.year <= 2200:
        raise ValueError("year must be between 1900 and 2200")
    return value


Instant = Annotated[datetime, AfterValidator(_instant)]  # a point in time a client sends, always aware UTC


def bad_text(value: str) -> bool:
    """NUL and lone surrogates: PostgreSQL refuses them and no user types them."""
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _find_bad_text(data: Any, path: str) -> str | None:
    if isinstance(data, str):
        return path if bad_text(data) else None
    if isinstance(data, dict):
        for k, v in data.items():
            hit = _find_bad_text(v, f"{path}.{k}" if path else str(k))
            if hit:
                return hit
    if isinstance(data, list):
        for i, v in enumerate(data):
            hit = _find_bad_text(v, f"{path}.{i}" if path else str(i))
            if hit:
                return hit
    return None


class WriteModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    read_only: ClassVar[frozenset[str]] = SYSTEM_FIELDS

    @model_validator(mode="before")
    @classmethod
    def _refuse_read_only(cls, data: Any) -> Any:
        if isinstance(data, dict):
            found = sorted(k for k in data if k in cls.read_only)
            if found:
                raise PydanticCustomError("read_only_field", "read-only: {fields}", {"fields": ",".join(found)})
            bad = _find_bad_text(data, "")
            if bad:
                raise PydanticCustomError("invalid_text", "control character in {field}", {"field": bad})
        return data
