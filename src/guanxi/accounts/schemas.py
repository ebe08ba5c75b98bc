"""Account shapes of the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from guanxi.kit.schemas import Id, WriteModel

Language = Literal["zh-CN", "en"]
Scope = Literal["own", "team", "all"]


class LoginIn(WriteModel):
    login: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=200)


class Ref(BaseModel):
    id: int
    name: str


class RoleRef(BaseModel):
    id: int
    key: str
    name: str
    scope: str


class Me(BaseModel):
    id: int
    email: str
    mobile: str | None
    name: str
    language: str
    timezone: str
    workspace: Ref
    role: RoleRef
    team: Ref | None
    permissions: dict[str, list[str]]
    field_rules: dict[str, dict[str, str]]
    is_admin: bool
    can_reassign: bool


class MeUpdate(WriteModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    language: Language | None = None
    timezone: str | None = Field(default=None, max_length=64)


class PasswordChange(WriteModel):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(max_length=200)


class UserOut(BaseModel):
    id: int
    email: str
    mobile: str | None
    name: str
    language: str
    timezone: str
    active: bool
    role_id: Id
    role_name: str | None = None
    team_id: Id | None
    team_name: str | None = None
    last_login_at: datetime | None
    created_at: datetime


class UserCreate(WriteModel):
    email: str = Field(max_length=254)
    mobile: str | None = Field(default=None, max_length=32)
    name: str = Field(min_length=1, max_length=100)
    password: str = Field(max_length=200)
    role_id: Id
    team_id: Id | None = None
    language: Language = "zh-CN"
    timezone: str = Field(default="Asia/Shanghai", max_length=64)


class UserUpdate(WriteModel):
    email: str | None = Field(default=None, max_length=254)
    mobile: str | None = Field(default=None, max_length=32)
    name: str | None = Field(default=None, max_length=100)
    password: str | None = Field(default=None, max_length=200)
    role_id: Id | None = None
    team_id: Id | None = None
    language: Language | None = None
    timezone: str | None = Field(default=None, max_length=64)
    active: bool | None = None


class UserLookup(BaseModel):
    id: int
    name: str
    team_name: str | None


class TeamOut(BaseModel):
    id: int
    name: str
    parent_id: Id | None
    manager_id: Id | None
    manager_name: str | None
    depth: int
    member_count: int


class TeamWrite(WriteModel):
    name: str | None = Field(default=None, max_length=100)
    parent_id: Id | None = None
    manager_id: Id | None = None


class RoleOut(BaseModel):
    id: int
    key: str
    name: str
    builtin: bool
    editable: bool
    scope: str
    permissions: dict[str, list[str]]
    field_rules: dict[str, dict[str, str]]
    user_count: int


class RoleWrite(WriteModel):
    name: str | None = Field(default=None, max_length=100)
    scope: Scope | None = None
    permissions: dict[str, Any] | None = None
    field_rules: dict[str, Any] | None = None


class ModuleInfo(BaseModel):
    key: str
    label: str
    actions: list[str]
    fields: list[str]


class Catalog(BaseModel):
    modules: list[ModuleInfo]
    actions: list[str]
    scopes: list[str]
    field_rules: list[str]


class ApiKeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    token: str | None = None


class ApiKeyCreate(WriteModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Literal["read", "write"]] = Field(default=["read"], min_length=1, max_length=2)
