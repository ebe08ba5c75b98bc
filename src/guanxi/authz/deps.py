"""Who is calling: a session cookie (+ CSRF header on writes) or a Bearer API key."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select

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


async def get_principal(request: Request, session: DbSession) -> Principal:
    current_language.set(pick_language(request.headers.get("accept-language")))
    auth = request.headers.get("authorization", "")
    now = utcnow()
    api_scopes: tuple[str, ...] | None = None
    session_id: str | None = None
    if auth.lower().startswith("bearer "):
        token = auth[7:].strip()
        row = (
            await session.execute(
                select(ApiKey, User, Role, Team.path, Workspace.settings)
                .join(User, User.id == ApiKey.user_id)
                .join(Role, Role.id == User.role_id)
                .join(Workspace, Workspace.id == User.workspace_id)
                .outerjoin(Team, Team.id == User.team_id)
                .where(ApiKey.key_hash == token_hash(token), ApiKey.revoked_at.is_(None))
            )
        ).first()
        if row is None or not row[1].active:
            raise Problem(401, "not_authenticated", headers={"WWW-Authenticate": "Bearer"})
        key, user, role, path, ws_settings = row
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
            key.last_used_at = now
        api_scopes = tuple(key.scopes.get("scopes", ["read"]))
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise Problem(401, "not_authenticated")
        srow = (
            await session.execute(
                select(AuthSession, User, Role, Team.path, Workspace.settings)
                .join(User, User.id == AuthSession.user_id)
                .join(Role, Role.id == User.role_id)
                .join(Workspace, Workspace.id == User.workspace_id)
                .outerjoin(Team, Team.id == User.team_id)
                .where(AuthSession.id == token_hash(cookie))
            )
        ).first()
        if srow is None:
            raise Problem(401, "not_authenticated")
        auth_session, user, role, path, ws_settings = srow
        if auth_session.revoked_at is not None or auth_session.expires_at <= now or not user.active:
            raise Problem(401, "session_expired")
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not sent or not hmac.compare_digest(sent, auth_session.csrf_token):
                raise Problem(403, "csrf_failed")
        session_id = auth_session.id
    team_ids: frozenset[int] = frozenset()
    if role.scope == "team" and user.team_id is not None:
        from guanxi.accounts.service import subteam_ids

        team_ids = await subteam_ids(session, user.workspace_id, user.team_id, path or "/")
    current_language.set(user.language)
    return Principal(
        user_id=user.id,
        workspace_id=user.workspace_id,
        name=user.name,
        role_key=role.key,
        scope=role.scope,
        permissions=role.permissions,
        field_rules=role.field_rules,
        team_id=user.team_id,
        team_ids=team_ids,
        language=user.language,
        ip=client_ip(request),
        api_scopes=api_scopes,
        session_id=session_id,
        timezone=user.timezone or DEFAULT_TZ,
        workspace_timezone=str((ws_settings or {}).get("timezone") or DEFAULT_TZ),
    )


CurrentUser = Annotated[Principal, Depends(get_principal)]
