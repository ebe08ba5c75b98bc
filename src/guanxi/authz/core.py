"""Principals, the permission catalogue, built-in roles, record scope filters and field rules."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from guanxi.kit.errors import FieldError, Problem, forbidden
from guanxi.kit.models import SYSTEM_FIELDS

ACTIONS = ("view", "create", "edit", "delete", "import", "export")
MODULE_ACTIONS: dict[str, tuple[str, ...]] = {
    "customers": ACTIONS,
    "users": ("view", "create", "edit", "delete"),
    "teams": ("view", "create", "edit", "delete"),
    "roles": ("view", "create", "edit", "delete"),
    "custom_fields": ("view", "create", "edit", "delete"),
    "audit": ("view", "export"),
    "activities": ("view", "create", "edit", "delete", "import", "export"),
    "tasks": ("view", "create", "edit", "delete", "import", "export"),
}
MODULE_LABELS = {
    "customers": ("客户", "Customers"),
    "users": ("用户", "Users"),
    "teams": ("团队", "Teams"),
    "roles": ("角色与权限", "Roles"),
    "custom_fields": ("自定义字段", "Custom fields"),
    "audit": ("审计日志", "Audit log"),
    "activities": ("沟通记录", "Activities"),
    "tasks": ("待办", "Tasks"),
}
SCOPES = ("own", "team", "all")
FIELD_RULES = ("hidden", "masked", "read")
# fields whose visibility a role may restrict, per module
RESTRICTABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "customers": ("phones", "emails", "wechat", "address", "birthday", "notes", "grade", "source", "stage", "tags"),
}

_ALL = {m: list(a) for m, a in MODULE_ACTIONS.items()}
_WORK = ["view", "create", "edit", "delete", "import"]  # activities and tasks of a seller: the record scope does the rest
# What the built-in roles may do in the modules added after the first release; migrations grant the same
# rights to the built-in roles of existing workspaces (see migrations 0002).
BUILTIN_GRANTS: dict[str, dict[str, list[str]]] = {
    "manager": {"activities": list(MODULE_ACTIONS["activities"]), "tasks": list(MODULE_ACTIONS["tasks"])},
    "sales": {"activities": list(_WORK), "tasks": list(_WORK)},
    "service": {"activities": ["view", "create", "edit"], "tasks": ["view", "create", "edit"]},
    "marketing": {"activities": ["view"], "tasks": ["view"]},
    "readonly": {"activities": ["view"], "tasks": ["view"]},
}
BUILTIN_ROLES: dict[str, dict[str, Any]] = {
    "admin": {"name": ("管理员", "Admin"), "scope": "all", "permissions": _ALL, "field_rules": {}},
    "manager": {
        "name": ("销售经理", "Manager"),
        "scope": "team",
        "permissions": {"customers": list(ACTIONS), **BUILTIN_GRANTS["manager"]},
        "field_rules": {},
    },
    "sales": {
        "name": ("销售", "Sales rep"),
        "scope": "own",
        "permissions": {"customers": ["view", "create", "edit", "delete", "import"], **BUILTIN_GRANTS["sales"]},
        "field_rules": {},
    },
    "service": {
        "name": ("客服", "Service agent"),
        "scope": "all",
        "permissions": {"customers": ["view", "edit"], **BUILTIN_GRANTS["service"]},
        "field_rules": {"customers": {"grade": "read", "stage": "read", "source": "read"}},
    },
    "marketing": {
        "name": ("市场", "Marketer"),
        "scope": "all",
        "permissions": {"customers": ["view", "export"], **BUILTIN_GRANTS["marketing"]},
        "field_rules": {"customers": {"phones": "masked", "notes": "hidden"}},
    },
    "readonly": {
        "name": ("只读", "Read-only"),
        "scope": "all",
        "permissions": {"customers": ["view"], **BUILTIN_GRANTS["readonly"]},
        "field_rules": {"customers": {"phones": "masked", "emails": "masked", "wechat": "masked", "notes": "hidden"}},
    },
}


@dataclass(frozen=True)
class Principal:
    user_id: int
    workspace_id: int
    name: str
    role_key: str
    scope: str
    permissions: dict[str, list[str]]
    field_rules: dict[str, dict[str, str]]
    team_id: int | None = None
    team_ids: frozenset[int] = field(default_factory=frozenset)  # own team and its sub-teams
    language: str = "zh-CN"
    ip: str | None = None
    api_scopes: tuple[str, ...] | None = None  # set when calling with an API key
    session_id: str | None = None
    timezone: str = "Asia/Shanghai"  # the user's: "today" and "overdue" of their tasks
    workspace_timezone: str = "Asia/Shanghai"  # the company's: "days since contact" is the same for everyone

    @property
    def is_admin(self) -> bool:
        return self.role_key == "admin"

    @property
    def can_reassign(self) -> bool:
        return self.scope in ("team", "all") and self.can("customers", "edit")

    def can(self, module: str, action: str) -> bool:
        if self.api_scopes is not None and action != "view" and "write" not in self.api_scopes:
            return False
        return action in self.permissions.get(module, ())

    def require(self, module: str, action: str) -> None:
        if self.api_scopes is not None and action != "view" and "write" not in self.api_scopes:
            raise Problem(403, "api_key_read_only")
        if not self.can(module, action):
            raise forbidden()

    def require_admin(self) -> None:
        if not self.is_admin:
            raise forbidden()

    def field_rule(self, module: str, name: str) -> str | None:
        return self.field_rules.get(module, {}).get(name)


def record_scope(p: Principal, workspace_col: Any, owner_col: Any, team_col: Any) -> ColumnElement[bool]:
    """The workspace filter and the role's record scope (own / own team and sub-teams / all)."""
    ws = workspace_col == p.workspace_id
    if p.scope == "all":
        return ws
    if p.scope == "team" and p.team_ids:
        return and_(ws, or_(team_col.in_(sorted(p.team_ids)), owner_col == p.user_id))
    return and_(ws, owner_col == p.user_id)


def sees_only_own(p: Principal) -> bool:
    """The record scope reduces to the caller's own records (what `record_scope` falls back to)."""
    return not (p.scope == "all" or (p.scope == "team" and bool(p.team_ids)))


def owner_in_scope(p: Principal, owner_id: int | None, owner_team_id: int | None) -> bool:
    if p.scope == "all":
        return True
    if p.scope == "team":
        return owner_id == p.user_id or (owner_team_id is not None and owner_team_id in p.team_ids)
    return owner_id == p.user_id


def mask_value(value: Any) -> Any:
    if isinstance(value, list):
        return [mask_value(v) for v in value]
    if not isinstance(value, str) or not value:
        return value
    if "@" in value:
        local, _, domain = value.partition("@")
        return (local[:1] + "***@" + domain) if local else "***"
    digits = [c for c in value if c.isdigit()]
    if len(digits) >= 7:
        return value[:3] + "****" + value[-4:]
    return value[:1] + "***"


def apply_field_rules(p: Principal, module: str, data: dict[str, Any]) -> dict[str, Any]:
    """Hide or mask what the role may not read."""
    rules = p.field_rules.get(module)
    if not rules:
        return data
    for name, rule in rules.items():
        if name not in data:
            continue
        if rule == "hidden":
            data[name] = None if not isinstance(data[name], list) else []
        elif rule == "masked":
            data[name] = mask_value(data[name])
    return data


def apply_rules_to_changes(p: Principal, module: str, changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """History shows old and new values: they follow the same field rules as the record."""
    rules = p.field_rules.get(module)
    if not rules:
        return changes
    out = []
    for ch in changes:
        rule = rules.get(ch.get("field", ""))
        if rule == "hidden":
            ch = {**ch, "old": None, "new": None}
        elif rule == "masked":
            ch = {**ch, "old": mask_value(ch.get("old")), "new": mask_value(ch.get("new"))}
        out.append(ch)
    return out


def filterable(p: Principal, module: str, name: str) -> bool:
    """A role may not filter on what it may not read in full: a filter would answer one guess at a time."""
    return p.field_rule(module, name) not in ("hidden", "masked")


def check_writable(
    p: Principal, module: str, fields: Iterable[str], *, extra_read_only: Iterable[str] = ()
) -> None:
    """Refuse server-set fields and fields the role may only read, all at once, before anything is written."""
    errors: list[FieldError] = []
    blocked = SYSTEM_FIELDS | set(extra_read_only)
    for name in fields:
        if name in blocked:
            errors.append(FieldError(name, "read_only_field"))
        elif name == "owner_id" and not p.can_reassign:
            errors.append(FieldError(name, "owner_not_allowed"))
        elif p.field_rule(module, name) in ("read", "hidden", "masked"):
            errors.append(FieldError(name, "read_only_field"))
    if errors:
        raise Problem(422, "read_only_field", errors=errors)
