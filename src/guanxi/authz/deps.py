"""Who is calling: a session cookie (+ CSRF header on writes) or a Bearer API key."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import bindparam, select, update

from guanxi.accounts.models import ApiKey, AuthSession, Role, Team, User, Workspace
from guanxi.accounts.security import token_hash
from guanxi.authz.core import Principal
from guanxi.kit.deps import DbSession, client_ip
from guanxi.kit.errors import Problem
from guanxi.kit.i18n import current_language, pick_language
from guanxi.kit.models import utcnow
from guanxi.kit.timeutil import DEFAULT_TZ

SESSION_COOKIE = "guanxi_session"
CSRF_COOKIE = "guanxi_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Every request runs one of these: plain columns from a statement built once (no ORM objects to load).
_WHO = (User.id.label("user_id"), User.workspace_id, User.name, User.active, User.team_id, User.language,
        User.timezone, Role.key.label("role_key"), Role.scope, Role.permissions, Role.field_rules, Team.path,
        Workspace.settings.label("ws_settings"))
_BY_SESSION = (
    select(AuthSession.id, AuthSession.revoked_at, AuthSession.expires_at, AuthSession.csrf_token, *_WHO)
    .join(User, User.id == AuthSession.user_id)
    .join(Role, Role.id == User.role_id)
    .join(Workspace, Workspace.id == User.workspace_id)
    .outerjoin(Team, Team.id == User.team_id)
    .where(AuthSession.id == bindparam("sid"))
)
_BY_KEY = (
    select(ApiKey.id.label("key_id"), ApiKey.last_used_at, ApiKey.scopes.label("key_scopes"), *_WHO)
    .join(User, User.id == ApiKey.user_id)
    .join(Role, Role.id == User.role_id)
    .join(Workspace, Workspace.id == User.workspace_id)
    .outerjoin(Team, Team.id == User.team_id)
    .where(ApiKey.key_hash == bindparam("hash"), ApiKey.revoked_at.is_(None))
)


async def get_principal(request: Request, session: DbSession) -> Principal:
    current_language.set(pick_language(request.headers.get("accept-language")))
    auth = request.headers.get("authorization", "")
    now = utcnow()
    if auth.lower().startswith("bearer "):
        row = (await session.execute(_BY_KEY, {"hash": token_hash(auth[7:].strip())})).first()
        if row is None or not row.active:
            raise Problem(401, "not_authenticated", headers={"WWW-Authenticate": "Bearer"})
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            await session.execute(update(ApiKey).where(ApiKey.id == row.key_id).values(last_used_at=now))
        return await _principal(request, session, row, api_scopes=tuple(row.key_scopes.get("scopes", ["read"])))
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise Problem(401, "not_authenticated")
    row = (await session.execute(_BY_SESSION, {"sid": token_hash(cookie)})).first()
    if row is None:
        raise Problem(401, "not_authenticated")
    if row.revoked_at is not None or row.expires_at <= now or not row.active:
        raise Problem(401, "session_expired")
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not hmac.compare_digest(sent, row.csrf_token):
            raise Problem(403, "csrf_failed")
    return await _principal(request, session, row, session_id=row.id)


async def _principal(request: Request, session: DbSession, row: Any, *,
                     api_scopes: tuple[str, ...] | None = None, session_id: str | None = None) -> Principal:
    team_ids: frozenset[int] = frozenset()
    if row.scope == "team" and row.team_id is not None:
        from guanxi.accounts.service import subteam_ids

        team_ids = await subteam_ids(session, row.workspace_id, row.team_id, row.path or "/")
    current_language.set(row.language)
    return Principal(
        user_id=row.user_id,
        workspace_id=row.workspace_id,
        name=row.name,
        role_key=row.role_key,
        scope=row.scope,
        permissions=row.permissions,
        field_rules=row.field_rules,
        team_id=row.team_id,
        team_ids=team_ids,
        language=row.language,
        ip=client_ip(request),
        api_scopes=api_scopes,
        session_id=session_id,
        timezone=row.timezone or DEFAULT_TZ,
        workspace_timezone=str((row.ws_settings or {}).get("timezone") or DEFAULT_TZ),
    )


CurrentUser = Annotated[Principal, Depends(get_principal)]


_BY_USER = (
    select(*_WHO)
    .join(Role, Role.id == User.role_id)
    .join(Workspace, Workspace.id == User.workspace_id)
    .outerjoin(Team, Team.id == User.team_id)
    .where(User.id == bindparam("uid"))
)


async def principal_of_user(session: DbSession, user_id: int, *, ip: str | None = None) -> Principal | None:
    """A user's principal as their role is now, for work done on their behalf later (an export job, the CLI);
    None when the user is gone or disabled."""
    row = (await session.execute(_BY_USER, {"uid": user_id})).first()
    if row is None or not row.active:
        return None
    team_ids: frozenset[int] = frozenset()
    if row.scope == "team" and row.team_id is not None:
        from guanxi.accounts.service import subteam_ids

        team_ids = await subteam_ids(session, row.workspace_id, row.team_id, row.path or "/")
    return Principal(
        user_id=row.user_id, workspace_id=row.workspace_id, name=row.name, role_key=row.role_key, scope=row.scope,
        permissions=row.permissions, field_rules=row.field_rules, team_id=row.team_id, team_ids=team_ids,
        language=row.language, ip=ip, timezone=row.timezone or DEFAULT_TZ,
        workspace_timezone=str((row.ws_settings or {}).get("timezone") or DEFAULT_TZ),
    )
