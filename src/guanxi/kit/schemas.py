"""Base models for request bodies: unknown fields are refused, server-set fields get read_only_field."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

from guanxi.kit.models import SYSTEM_FIELDS


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
        return data
