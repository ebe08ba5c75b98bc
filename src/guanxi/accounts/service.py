"""Business rules for workspaces, users, teams, roles, sessions, API keys and login throttling."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from guanxi.accounts.models import ApiKey, AuthSession, LoginThrottle, Role, Team, User, Workspace
from guanxi.accounts.security import hash_password, new_token, token_hash, verify_password
from guanxi.audit import service as audit
from guanxi.authz.core import (
    BUILTIN_ROLES,
    FIELD_RULES,
    MODULE_ACTIONS,
    RESTRICTABLE_FIELDS,
    SCOPES,
    Principal,
)
from guanxi.kit.errors import FieldError, Problem, not_found, validation_error
from guanxi.kit.i18n import LANGUAGES
from guanxi.kit.models import utcnow
from guanxi.kit.normalize import PhoneError, normalize_email, normalize_phone

ACCOUNT_FREE_FAILURES = 5
IP_FREE_FAILURES = 30
WINDOW = timedelta(minutes=15)
MAX_BLOCK = timedelta(minutes=15)


# ---------------------------------------------------------------- workspaces and roles


async def create_workspace(session: AsyncSession, name: str, slug: str) -> Workspace:
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,62}", slug):
        raise validation_error([FieldError("slug", "invalid_value")])
    if await session.scalar(select(Workspace.id).where(Workspace.slug == slug)):
        raise validation_error([FieldError("slug", "duplicate")])
    ws = Workspace(name=name, slug=slug, settings={})
    session.add(ws)
    await session.flush()
    for key, spec in BUILTIN_ROLES.items():
        session.add(
            Role(
                workspace_id=ws.id,
                key=key,
                name=spec["name"][0],
                builtin=True,
                scope=spec["scope"],
                permissions={m: list(a) for m, a in spec["permissions"].items()},
                field_rules={m: dict(r) for m, r in spec["field_rules"].items()},
            )
        )
    await session.flush()
    return ws


async def role_by_key(session: AsyncSession, workspace_id: int, key: str) -> Role:
    role = await session.scalar(select(Role).where(Role.workspace_id == workspace_id, Role.key == key))
    if role is None:
        raise not_found()
    return role


def clean_permissions(raw: Any) -> dict[str, list[str]]:
    if not isinstance(raw, dict):
        raise validation_error([FieldError("permissions", "invalid_type")])
    out: dict[str, list[str]] = {}
    errors: list[FieldError] = []
    for module, actions in raw.items():
        allowed = MODULE_ACTIONS.get(module)
        if allowed is None:
            errors.append(FieldError(f"permissions.{module}", "unknown_field"))
            continue
        if not isinstance(actions, list) or any(a not in allowed for a in actions):
            errors.append(FieldError(f"permissions.{module}", "invalid_option"))
            continue
        out[module] = [a for a in allowed if a in actions]
    if errors:
        raise validation_error(errors)
    return out


def clean_field_rules(raw: Any) -> dict[str, dict[str, str]]:
    if not isinstance(raw, dict):
        raise validation_error([FieldError("field_rules", "invalid_type")])
    out: dict[str, dict[str, str]] = {}
    errors: list[FieldError] = []
    for module, rules in raw.items():
        fields = RESTRICTABLE_FIELDS.get(module)
        if fields is None or not isinstance(rules, dict):
            errors.append(FieldError(f"field_rules.{module}", "unknown_field"))
            continue
        for name, rule in rules.items():
            if name not in fields:
                errors.append(FieldError(f"field_rules.{module}.{name}", "unknown_field"))
            elif rule not in FIELD_RULES:
                errors.append(FieldError(f"field_rules.{module}.{name}", "invalid_option"))
            else:
                out.setdefault(module, {})[name] = rule
    if errors:
        raise validation_error(errors)
    return out


def role_editable(role: Role) -> bool:
    return role.key != "admin"


async def save_role(session: AsyncSession, p: Principal, role: Role | None, data: dict[str, Any]) -> Role:
    if role is not None and not role_editable(role):
        raise Problem(409, "not_editable", errors=[FieldError("role", "not_editable")])
    if "scope" in data and data["scope"] not in SCOPES:
        raise validation_error([FieldError("scope", "invalid_option")])
    perms = clean_permissions(data["permissions"]) if "permissions" in data else None
    rules = clean_field_rules(data["field_rules"]) if "field_rules" in data else None
    name = (data.get("name") or "").strip() if "name" in data else None
    if role is None:
        if not name:
            raise validation_error([FieldError("name", "required")])
        key = "custom-" + new_token()[:8].lower().replace("_", "x").replace("-", "x")
        role = Role(workspace_id=p.workspace_id, key=key, name=name, builtin=False, scope=data.get("scope", "own"),
                    permissions=perms or {}, field_rules=rules or {})
        session.add(role)
        await session.flush()
        audit.change(session, p, "create", "role", role.id, role.name)
        return role
    before = {"name": role.name, "scope": role.scope, "permissions": role.permissions, "field_rules": role.field_rules}
    if name is not None:
        if not name:
            raise validation_error([FieldError("name", "required")])
        role.name = name
    if "scope" in data:
        role.scope = data["scope"]
    if perms is not None:
        role.permissions = perms
    if rules is not None:
        role.field_rules = rules
    role.version += 1
    role.updated_at = utcnow()
    after = {"name": role.name, "scope": role.scope, "permissions": role.permissions, "field_rules": role.field_rules}
    audit.change(session, p, "update", "role", role.id, role.name, audit.diff(before, after))
    return role


async def delete_role(session: AsyncSession, p: Principal, role: Role) -> None:
    if role.builtin:
        raise Problem(409, "not_editable")
    if await session.scalar(select(func.count()).select_from(User).where(User.role_id == role.id)):
        raise Problem(409, "in_use")
    audit.change(session, p, "delete", "role", role.id, role.name)
    await session.delete(role)


# ---------------------------------------------------------------- users


def _check_tz(tz: str) -> bool:
    try:
        ZoneInfo(tz)
        return True
    except (ZoneInfoNotFoundError, ValueError):
        return False


async def validate_user_fields(
    session: AsyncSession, workspace_id: int, data: dict[str, Any], user_id: int | None = None
) -> dict[str, Any]:
    """Normalise and check user fields; all errors at once."""
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    if "email" in data:
        try:
            out["email"] = normalize_email(str(data["email"] or ""))
        except ValueError:
            errors.append(FieldError("email", "invalid_email"))
        else:
            q = select(User.id).where(func.lower(User.email) == out["email"])
            if user_id:
                q = q.where(User.id != user_id)
            if await session.scalar(q):
                errors.append(FieldError("email", "duplicate"))
    if "mobile" in data:
        if data["mobile"] in (None, ""):
            out["mobile"] = None
        else:
            try:
                out["mobile"] = normalize_phone(str(data["mobile"]))[1]
            except PhoneError:
                errors.append(FieldError("mobile", "invalid_phone"))
            else:
                q = select(User.id).where(User.mobile == out["mobile"])
                if user_id:
                    q = q.where(User.id != user_id)
                if await session.scalar(q):
                    errors.append(FieldError("mobile", "duplicate"))
    if "name" in data:
        name = (data["name"] or "").strip()
        if not name:
            errors.append(FieldError("name", "required"))
        out["name"] = name
    if "password" in data and data["password"] is not None:
        if len(data["password"]) < 8:
            errors.append(FieldError("password", "weak_password"))
        else:
            out["password_hash"] = hash_password(data["password"])
    if "language" in data:
        if data["language"] not in LANGUAGES:
            errors.append(FieldError("language", "invalid_option"))
        out["language"] = data["language"]
    if "timezone" in data:
        if not _check_tz(str(data["timezone"])):
            errors.append(FieldError("timezone", "invalid_value"))
        out["timezone"] = data["timezone"]
    if "role_id" in data:
        if not await session.scalar(select(Role.id).where(Role.id == data["role_id"], Role.workspace_id == workspace_id)):
            errors.append(FieldError("role_id", "invalid_option"))
        out["role_id"] = data["role_id"]
    if "team_id" in data:
        if data["team_id"] is not None and not await session.scalar(
            select(Team.id).where(Team.id == data["team_id"], Team.workspace_id == workspace_id)
        ):
            errors.append(FieldError("team_id", "invalid_option"))
        out["team_id"] = data["team_id"]
    if "active" in data:
        out["active"] = bool(data["active"])
    if errors:
        raise validation_error(errors)
    return out


async def create_user(session: AsyncSession, workspace_id: int, data: dict[str, Any], p: Principal | None = None) -> User:
    missing = [FieldError(f, "required") for f in ("email", "name", "password", "role_id") if not data.get(f)]
    if missing:
        raise validation_error(missing)
    fields = await validate_user_fields(session, workspace_id, data)
    user = User(workspace_id=workspace_id, **({"language": "zh-CN", "timezone": "Asia/Shanghai", "active": True} | fields))
    session.add(user)
    await session.flush()
    if p is not None:
        audit.change(session, p, "create", "user", user.id, user.name)
    return user


async def update_user(session: AsyncSession, p: Principal | None, user: User, data: dict[str, Any]) -> User:
    fields = await validate_user_fields(session, user.workspace_id, data, user_id=user.id)
    before = {k: getattr(user, k) for k in fields if k != "password_hash"}
    if "team_id" in fields and fields["team_id"] != user.team_id:
        # open tasks follow their assignee to the new team, so the new manager sees them and the old one no longer
        from guanxi.activities.models import Task

        await session.execute(update(Task).where(Task.assignee_id == user.id, Task.status == "open")
                              .values(team_id=fields["team_id"]).execution_options(synchronize_session=False))
    for k, v in fields.items():
        setattr(user, k, v)
    user.version += 1
    user.updated_at = utcnow()
    if fields.get("active") is False or "password_hash" in fields:
        await end_sessions(session, user.id, keep=p.session_id if p and p.user_id == user.id else None)
    after = {k: getattr(user, k) for k in fields if k != "password_hash"}
    changes = audit.diff(before, after)
    if "password_hash" in fields:
        changes.append({"field": "password", "old": None, "new": "***"})
    if p is not None:
        audit.change(session, p, "update", "user", user.id, user.name, changes)
    return user


async def end_sessions(session: AsyncSession, user_id: int, keep: str | None = None) -> None:
    q = update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
    if keep:
        q = q.where(AuthSession.id != keep)
    await session.execute(q.values(revoked_at=utcnow()))


# ---------------------------------------------------------------- teams


async def team_path(session: AsyncSession, workspace_id: int, parent_id: int | None) -> str:
    if parent_id is None:
        return "/"
    parent = await session.scalar(select(Team).where(Team.id == parent_id, Team.workspace_id == workspace_id))
    if parent is None:
        raise validation_error([FieldError("parent_id", "invalid_option")])
    return f"{parent.path}{parent.id}/"


async def save_team(session: AsyncSession, p: Principal, team: Team | None, data: dict[str, Any]) -> Team:
    errors: list[FieldError] = []
    if ("name" in data or team is None) and not (data.get("name") or "").strip():
        errors.append(FieldError("name", "required"))
    if data.get("manager_id") is not None and not await session.scalar(
        select(User.id).where(User.id == data["manager_id"], User.workspace_id == p.workspace_id)
    ):
        errors.append(FieldError("manager_id", "invalid_user"))
    if errors:
        raise validation_error(errors)
    if team is None:
        path = await team_path(session, p.workspace_id, data.get("parent_id"))
        team = Team(workspace_id=p.workspace_id, name=str(data["name"]).strip(), parent_id=data.get("parent_id"),
                    manager_id=data.get("manager_id"), path=path)
        session.add(team)
        await session.flush()
        audit.change(session, p, "create", "team", team.id, team.name)
        return team
    before = {"name": team.name, "parent_id": team.parent_id, "manager_id": team.manager_id}
    if "parent_id" in data and data["parent_id"] != team.parent_id:
        new_path = await team_path(session, p.workspace_id, data["parent_id"])
        own_prefix = f"{team.path}{team.id}/"
        if new_path.startswith(own_prefix) or data["parent_id"] == team.id:
            raise validation_error([FieldError("parent_id", "invalid_value", "不能移到自己的下级团队")])
        new_prefix = f"{new_path}{team.id}/"
        subtree = (await session.scalars(
            select(Team).where(Team.workspace_id == p.workspace_id, Team.path.startswith(own_prefix))
        )).all()
        for sub in subtree:
            sub.path = new_prefix + sub.path[len(own_prefix):]
        team.parent_id = data["parent_id"]
        team.path = new_path
    if "name" in data:
        team.name = data["name"].strip()
    if "manager_id" in data:
        team.manager_id = data["manager_id"]
    team.version += 1
    team.updated_at = utcnow()
    after = {"name": team.name, "parent_id": team.parent_id, "manager_id": team.manager_id}
    audit.change(session, p, "update", "team", team.id, team.name, audit.diff(before, after))
    return team


async def delete_team(session: AsyncSession, p: Principal, team: Team) -> None:
    members = await session.scalar(select(func.count()).select_from(User).where(User.team_id == team.id))
    children = await session.scalar(select(func.count()).select_from(Team).where(Team.parent_id == team.id))
    if members or children:
        raise Problem(409, "in_use")
    audit.change(session, p, "delete", "team", team.id, team.name)
    await session.delete(team)


async def subteam_ids(session: AsyncSession, workspace_id: int, team_id: int, path: str) -> frozenset[int]:
    ids = await session.scalars(
        select(Team.id).where(Team.workspace_id == workspace_id, Team.path.startswith(f"{path}{team_id}/"))
    )
    return frozenset({team_id, *ids})


# ---------------------------------------------------------------- login, sessions, throttling


async def check_throttle(session: AsyncSession, keys: list[str]) -> None:
    now = utcnow()
    for key in keys:
        row = await session.get(LoginThrottle, key)
        if row and row.blocked_until and row.blocked_until > now:
            wait = int((row.blocked_until - now).total_seconds()) + 1
            raise Problem(429, "login_throttled", headers={"Retry-After": str(wait)}, retry_after=wait)


async def note_failure(session: AsyncSession, key: str, free: int) -> None:
    now = utcnow()
    row = await session.get(LoginThrottle, key)
    if row is None:
        row = LoginThrottle(key=key, failures=0, window_start=now)
        session.add(row)
    elif now - row.window_start > WINDOW and (row.blocked_until is None or row.blocked_until < now):
        row.failures, row.window_start = 0, now
    row.failures += 1
    if row.failures > free:
        # doubling back-off that tops out: an attacker slows the account down but never locks it for good
        seconds = min(30 * 2 ** (row.failures - free - 1), MAX_BLOCK.total_seconds())
        row.blocked_until = now + timedelta(seconds=seconds)


async def login(
    session: AsyncSession, login_name: str, password: str, ip: str | None, user_agent: str | None, hours: int
) -> tuple[User, str, str]:
    """Returns (user, session token, csrf token) or raises invalid_credentials / login_throttled."""
    ident = login_name.strip().lower()
    keys = [f"account:{ident}"] + ([f"ip:{ip}"] if ip else [])
    await check_throttle(session, keys)
    user: User | None = None
    if "@" in ident:
        user = await session.scalar(select(User).where(func.lower(User.email) == ident))
    else:
        try:
            user = await session.scalar(select(User).where(User.mobile == normalize_phone(ident)[1]))
        except PhoneError:
            user = None
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        await note_failure(session, keys[0], ACCOUNT_FREE_FAILURES)
        if ip:
            await note_failure(session, keys[1], IP_FREE_FAILURES)
        if user is not None:
            audit.record(session, workspace_id=user.workspace_id, action="login_failed", record_type="user",
                         record_id=user.id, label=user.name, user_id=user.id, user_name=user.name, ip=ip)
        raise Problem(401, "invalid_credentials")
    row = await session.get(LoginThrottle, keys[0])
    if row is not None:
        await session.delete(row)
    token, csrf = new_token(), new_token()
    session.add(
        AuthSession(id=token_hash(token), user_id=user.id, workspace_id=user.workspace_id, csrf_token=csrf,
                    expires_at=utcnow() + timedelta(hours=hours), ip=ip, user_agent=(user_agent or "")[:300])
    )
    user.last_login_at = utcnow()
    audit.record(session, workspace_id=user.workspace_id, action="login", record_type="user", record_id=user.id,
                 label=user.name, user_id=user.id, user_name=user.name, ip=ip)
    return user, token, csrf


async def logout(session: AsyncSession, p: Principal) -> None:
    if p.session_id:
        await session.execute(update(AuthSession).where(AuthSession.id == p.session_id).values(revoked_at=utcnow()))
    audit.record(session, workspace_id=p.workspace_id, action="logout", record_type="user", record_id=p.user_id,
                 label=p.name, user_id=p.user_id, user_name=p.name, ip=p.ip)


async def change_password(session: AsyncSession, p: Principal, current: str, new: str) -> None:
    user = await session.get(User, p.user_id)
    assert user is not None
    if not verify_password(user.password_hash, current):
        raise validation_error([FieldError("current_password", "wrong_password")])
    await update_user(session, p, user, {"password": new})


# ---------------------------------------------------------------- API keys


API_KEY_PREFIX = "gx_"


async def create_api_key(session: AsyncSession, p: Principal, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
    errors: list[FieldError] = []
    if not name.strip():
        errors.append(FieldError("name", "required"))
    if scopes not in (["read"], ["read", "write"], ["write", "read"]):
        errors.append(FieldError("scopes", "invalid_option"))
    if errors:
        raise validation_error(errors)
    token = new_token(API_KEY_PREFIX)
    key = ApiKey(workspace_id=p.workspace_id, user_id=p.user_id, name=name.strip(), prefix=token[:10],
                 key_hash=token_hash(token), scopes={"scopes": sorted(set(scopes), reverse=False)})
    session.add(key)
    await session.flush()
    audit.change(session, p, "create", "api_key", key.id, key.name)
    return key, token


async def revoke_api_key(session: AsyncSession, p: Principal, key_id: int) -> None:
    key = await session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == p.user_id))
    if key is None:
        raise not_found()
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        audit.change(session, p, "delete", "api_key", key.id, key.name)
