"""Thin routes for sign-in, the current user, users, teams, roles, API keys and the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import func, or_, select

from guanxi.accounts import schemas as s
from guanxi.accounts import service
from guanxi.accounts.models import ApiKey, Role, Team, User, Workspace
from guanxi.audit.models import AuditEntry
from guanxi.audit.schemas import AuditEntryOut, AuditPage
from guanxi.audit.service import audit_page
from guanxi.authz.core import (
    ACTIONS,
    FIELD_RULES,
    MODULE_ACTIONS,
    MODULE_LABELS,
    RESTRICTABLE_FIELDS,
    SCOPES,
    Principal,
)
from guanxi.authz.deps import CSRF_COOKIE, SESSION_COOKIE, CurrentUser
from guanxi.kit.deps import DbSession, client_ip
from guanxi.kit.errors import PROBLEM_RESPONSES, Problem, not_found
from guanxi.kit.i18n import current_language, pick_language
from guanxi.kit.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from guanxi.kit.schemas import ID_MAX, PathId

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES, tags=["accounts"])


async def me_of(session: DbSession, user_id: int, p: Principal | None = None) -> s.Me:
    user, role, ws, team = (await session.execute(
        select(User, Role, Workspace, Team).join(Role, Role.id == User.role_id)
        .join(Workspace, Workspace.id == User.workspace_id).outerjoin(Team, Team.id == User.team_id)
        .where(User.id == user_id)
    )).one()
    can_reassign = role.scope in ("team", "all") and "edit" in role.permissions.get("customers", [])
    perms = role.permissions
    if p is not None and p.api_scopes is not None and "write" not in p.api_scopes:
        perms = {m: [a for a in acts if a == "view"] for m, acts in perms.items()}
    return s.Me(
        id=user.id, email=user.email, mobile=user.mobile, name=user.name, language=user.language,
        timezone=user.timezone, workspace=s.Ref(id=ws.id, name=ws.name),
        role=s.RoleRef(id=role.id, key=role.key, name=role.name, scope=role.scope),
        team=s.Ref(id=team.id, name=team.name) if team else None, permissions=perms,
        field_rules=role.field_rules, is_admin=role.key == "admin", can_reassign=can_reassign,
    )


# ---------------------------------------------------------------- auth


@router.post("/auth/login", response_model=s.Me, tags=["auth"])
async def login(body: s.LoginIn, request: Request, response: Response, session: DbSession) -> s.Me:
    current_language.set(pick_language(request.headers.get("accept-language")))
    settings = request.app.state.settings
    try:
        user, token, csrf = await service.login(session, body.login, body.password, client_ip(request),
                                                request.headers.get("user-agent"), settings.session_hours)
    except Problem as exc:
        if exc.status == 401:
            await session.commit()  # the failure counts even though the request fails
        raise
    max_age = settings.session_hours * 3600
    secure = settings.secure_cookies
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="lax", secure=secure, path="/")
    response.set_cookie(CSRF_COOKIE, csrf, max_age=max_age, httponly=False, samesite="lax", secure=secure, path="/")
    current_language.set(user.language)
    return await me_of(session, user.id)


@router.post("/auth/logout", status_code=204, tags=["auth"])
async def logout(response: Response, session: DbSession, p: CurrentUser) -> Response:
    await service.logout(session, p)
    out = Response(status_code=204)
    out.delete_cookie(SESSION_COOKIE, path="/")
    out.delete_cookie(CSRF_COOKIE, path="/")
    return out


@router.get("/me", response_model=s.Me, tags=["auth"])
async def get_me(session: DbSession, p: CurrentUser) -> s.Me:
    return await me_of(session, p.user_id, p)


@router.patch("/me", response_model=s.Me, tags=["auth"])
async def update_me(body: s.MeUpdate, session: DbSession, p: CurrentUser) -> s.Me:
    if p.api_scopes is not None and "write" not in p.api_scopes:
        raise Problem(403, "api_key_read_only")
    user = await session.get(User, p.user_id)
    assert user is not None
    await service.update_user(session, p, user, body.model_dump(exclude_unset=True, exclude_none=True))
    if body.language:
        current_language.set(body.language)
    return await me_of(session, p.user_id, p)


@router.post("/me/password", status_code=204, tags=["auth"])
async def change_password(body: s.PasswordChange, session: DbSession, p: CurrentUser) -> Response:
    if p.api_scopes is not None:
        raise Problem(403, "forbidden")
    await service.change_password(session, p, body.current_password, body.new_password)
    return Response(status_code=204)


# ---------------------------------------------------------------- users


async def _user_out(session: DbSession, users: list[User]) -> list[s.UserOut]:
    roles = {r.id: r.name for r in await session.scalars(select(Role).where(Role.id.in_({u.role_id for u in users})))}
    team_ids = {u.team_id for u in users if u.team_id}
    teams = {t.id: t.name for t in await session.scalars(select(Team).where(Team.id.in_(team_ids)))} if team_ids else {}
    return [
        s.UserOut(id=u.id, email=u.email, mobile=u.mobile, name=u.name, language=u.language, timezone=u.timezone,
                  active=u.active, role_id=u.role_id, role_name=roles.get(u.role_id), team_id=u.team_id,
                  team_name=teams.get(u.team_id) if u.team_id else None, last_login_at=u.last_login_at,
                  created_at=u.created_at)
        for u in users
    ]


@router.get("/users", response_model=Page[s.UserOut])
async def list_users(
    session: DbSession, p: CurrentUser, q: str | None = Query(default=None, max_length=100),
    cursor: str | None = Query(default=None, max_length=200), limit: int = Query(default=50, ge=1, le=200),
) -> Page[s.UserOut]:
    p.require("users", "view")
    n = clamp_limit(limit)
    stmt = select(User).where(User.workspace_id == p.workspace_id)
    if q:
        stmt = stmt.where(or_(User.name.contains(q, autoescape=True), User.email.contains(q.lower(), autoescape=True)))
    if cursor:
        (last,) = decode_cursor(cursor, 1)
        if not isinstance(last, int):
            raise Problem(400, "invalid_cursor")
        stmt = stmt.where(User.id > last)
    users = list(await session.scalars(stmt.order_by(User.id).limit(n + 1)))
    nxt = encode_cursor([users[n - 1].id]) if len(users) > n else None
    total = await session.scalar(select(func.count()).select_from(User).where(User.workspace_id == p.workspace_id))
    return Page(items=await _user_out(session, users[:n]), next_cursor=nxt, total=total)


@router.get("/users/lookup", response_model=list[s.UserLookup])
async def lookup_users(session: DbSession, p: CurrentUser, q: str | None = Query(default=None, max_length=100)) -> list[s.UserLookup]:
    stmt = (select(User.id, User.name, Team.name).outerjoin(Team, Team.id == User.team_id)
            .where(User.workspace_id == p.workspace_id, User.active))
    if q:
        stmt = stmt.where(or_(User.name.contains(q, autoescape=True), User.email.contains(q.lower(), autoescape=True)))
    rows = (await session.execute(stmt.order_by(User.name).limit(20))).all()
    return [s.UserLookup(id=r[0], name=r[1], team_name=r[2]) for r in rows]


@router.post("/users", status_code=201, response_model=s.UserOut)
async def create_user(body: s.UserCreate, session: DbSession, p: CurrentUser) -> s.UserOut:
    p.require("users", "create")
    user = await service.create_user(session, p.workspace_id, body.model_dump(), p)
    return (await _user_out(session, [user]))[0]


async def _user(session: DbSession, p: Principal, user_id: int) -> User:
    user = await session.scalar(select(User).where(User.id == user_id, User.workspace_id == p.workspace_id))
    if user is None:
        raise not_found()
    return user


@router.get("/users/{user_id}", response_model=s.UserOut)
async def get_user(user_id: PathId, session: DbSession, p: CurrentUser) -> s.UserOut:
    p.require("users", "view")
    return (await _user_out(session, [await _user(session, p, user_id)]))[0]


@router.patch("/users/{user_id}", response_model=s.UserOut)
async def update_user(user_id: PathId, body: s.UserUpdate, session: DbSession, p: CurrentUser) -> s.UserOut:
    p.require("users", "edit")
    user = await _user(session, p, user_id)
    data = body.model_dump(exclude_unset=True)
    if user.id == p.user_id and (data.get("active") is False or ("role_id" in data and data["role_id"] != user.role_id)):
        raise Problem(409, "conflict", detail="不能停用自己或修改自己的角色" if p.language != "en" else "You cannot disable yourself or change your own role")
    await service.update_user(session, p, user, data)
    return (await _user_out(session, [user]))[0]


# ---------------------------------------------------------------- teams


@router.get("/teams", response_model=list[s.TeamOut])
async def list_teams(session: DbSession, p: CurrentUser) -> list[s.TeamOut]:
    teams = list(await session.scalars(select(Team).where(Team.workspace_id == p.workspace_id)))
    counts = dict((await session.execute(
        select(User.team_id, func.count()).where(User.workspace_id == p.workspace_id, User.active).group_by(User.team_id)
    )).all())
    managers = {u.id: u.name for u in await session.scalars(
        select(User).where(User.id.in_({t.manager_id for t in teams if t.manager_id})))}
    # tree order: parents before children, siblings by name
    by_parent: dict[int | None, list[Team]] = {}
    for t in teams:
        by_parent.setdefault(t.parent_id, []).append(t)
    out: list[s.TeamOut] = []

    def walk(parent: int | None, depth: int) -> None:
        for t in sorted(by_parent.get(parent, []), key=lambda x: x.name):
            out.append(s.TeamOut(id=t.id, name=t.name, parent_id=t.parent_id, manager_id=t.manager_id,
                                 manager_name=managers.get(t.manager_id) if t.manager_id else None, depth=depth,
                                 member_count=counts.get(t.id, 0)))
            walk(t.id, depth + 1)

    walk(None, 0)
    return out


async def _team(session: DbSession, p: Principal, team_id: int) -> Team:
    team = await session.scalar(select(Team).where(Team.id == team_id, Team.workspace_id == p.workspace_id))
    if team is None:
        raise not_found()
    return team


async def _team_out(session: DbSession, t: Team) -> s.TeamOut:
    """One saved team as the tree lists it: manager's name, depth from the path, active members."""
    manager = await session.scalar(select(User.name).where(User.id == t.manager_id)) if t.manager_id else None
    members = await session.scalar(select(func.count()).select_from(User).where(User.team_id == t.id, User.active))
    return s.TeamOut(id=t.id, name=t.name, parent_id=t.parent_id, manager_id=t.manager_id, manager_name=manager,
                     depth=t.path.count("/") - 1, member_count=members or 0)


@router.post("/teams", status_code=201, response_model=s.TeamOut)
async def create_team(body: s.TeamWrite, session: DbSession, p: CurrentUser) -> s.TeamOut:
    p.require("teams", "create")
    t = await service.save_team(session, p, None, body.model_dump(exclude_unset=True))
    return await _team_out(session, t)


@router.patch("/teams/{team_id}", response_model=s.TeamOut)
async def update_team(team_id: PathId, body: s.TeamWrite, session: DbSession, p: CurrentUser) -> s.TeamOut:
    p.require("teams", "edit")
    t = await service.save_team(session, p, await _team(session, p, team_id), body.model_dump(exclude_unset=True))
    return await _team_out(session, t)


@router.delete("/teams/{team_id}", status_code=204)
async def delete_team(team_id: PathId, session: DbSession, p: CurrentUser) -> Response:
    p.require("teams", "delete")
    await service.delete_team(session, p, await _team(session, p, team_id))
    return Response(status_code=204)


# ---------------------------------------------------------------- roles


def _role_out(r: Role, count: int) -> s.RoleOut:
    return s.RoleOut(id=r.id, key=r.key, name=r.name, builtin=r.builtin, editable=service.role_editable(r),
                     scope=r.scope, permissions=r.permissions, field_rules=r.field_rules, user_count=count)


@router.get("/roles", response_model=list[s.RoleOut])
async def list_roles(session: DbSession, p: CurrentUser) -> list[s.RoleOut]:
    p.require("roles", "view")
    roles = list(await session.scalars(select(Role).where(Role.workspace_id == p.workspace_id).order_by(Role.id)))
    counts = dict((await session.execute(
        select(User.role_id, func.count()).where(User.workspace_id == p.workspace_id).group_by(User.role_id))).all())
    return [_role_out(r, counts.get(r.id, 0)) for r in roles]


@router.get("/permissions/catalog", response_model=s.Catalog)
async def permission_catalog(p: CurrentUser) -> s.Catalog:
    en = p.language == "en"
    return s.Catalog(
        modules=[s.ModuleInfo(key=m, label=MODULE_LABELS[m][1 if en else 0], actions=list(a),
                              fields=list(RESTRICTABLE_FIELDS.get(m, ()))) for m, a in MODULE_ACTIONS.items()],
        actions=list(ACTIONS), scopes=list(SCOPES), field_rules=list(FIELD_RULES),
    )


async def _role(session: DbSession, p: Principal, role_id: int) -> Role:
    role = await session.scalar(select(Role).where(Role.id == role_id, Role.workspace_id == p.workspace_id))
    if role is None:
        raise not_found()
    return role


@router.post("/roles", status_code=201, response_model=s.RoleOut)
async def create_role(body: s.RoleWrite, session: DbSession, p: CurrentUser) -> s.RoleOut:
    p.require("roles", "create")
    return _role_out(await service.save_role(session, p, None, body.model_dump(exclude_unset=True)), 0)


@router.patch("/roles/{role_id}", response_model=s.RoleOut)
async def update_role(role_id: PathId, body: s.RoleWrite, session: DbSession, p: CurrentUser) -> s.RoleOut:
    p.require("roles", "edit")
    role = await service.save_role(session, p, await _role(session, p, role_id), body.model_dump(exclude_unset=True))
    count = await session.scalar(select(func.count()).select_from(User).where(User.role_id == role.id)) or 0
    return _role_out(role, count)


@router.delete("/roles/{role_id}", status_code=204)
async def delete_role(role_id: PathId, session: DbSession, p: CurrentUser) -> Response:
    p.require("roles", "delete")
    await service.delete_role(session, p, await _role(session, p, role_id))
    return Response(status_code=204)


# ---------------------------------------------------------------- API keys


def _key_out(k: ApiKey, token: str | None = None) -> s.ApiKeyOut:
    return s.ApiKeyOut(id=k.id, name=k.name, prefix=k.prefix, scopes=list(k.scopes.get("scopes", [])),
                       created_at=k.created_at, last_used_at=k.last_used_at, revoked_at=k.revoked_at, token=token)


@router.get("/api-keys", response_model=list[s.ApiKeyOut])
async def list_api_keys(session: DbSession, p: CurrentUser) -> list[s.ApiKeyOut]:
    keys = await session.scalars(select(ApiKey).where(ApiKey.user_id == p.user_id).order_by(ApiKey.id.desc()))
    return [_key_out(k) for k in keys]


@router.post("/api-keys", status_code=201, response_model=s.ApiKeyOut)
async def create_api_key(body: s.ApiKeyCreate, session: DbSession, p: CurrentUser) -> s.ApiKeyOut:
    if p.api_scopes is not None:
        raise Problem(403, "forbidden")  # keys are made by a person signed in, not by another key
    key, token = await service.create_api_key(session, p, body.name, sorted(set(body.scopes)))
    return _key_out(key, token)


@router.delete("/api-keys/{key_id}", status_code=204)
async def revoke_api_key(key_id: PathId, session: DbSession, p: CurrentUser) -> Response:
    if p.api_scopes is not None and "write" not in p.api_scopes:
        raise Problem(403, "api_key_read_only")
    await service.revoke_api_key(session, p, key_id)
    return Response(status_code=204)


# ---------------------------------------------------------------- audit log


@router.get("/audit", response_model=AuditPage, tags=["audit"])
async def workspace_audit(
    session: DbSession, p: CurrentUser, record_type: str | None = Query(default=None, max_length=40),
    action: str | None = Query(default=None, max_length=20), user_id: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
    cursor: str | None = Query(default=None, max_length=200), limit: int = Query(default=50, ge=1, le=200),
) -> AuditPage:
    p.require("audit", "view")
    q: Any = select(AuditEntry).where(AuditEntry.workspace_id == p.workspace_id)
    if record_type:
        q = q.where(AuditEntry.record_type == record_type)
    if action:
        q = q.where(AuditEntry.action == action)
    if user_id:
        q = q.where(AuditEntry.user_id == user_id)
    rows, nxt = await audit_page(session, q, limit, cursor)
    return AuditPage(items=[AuditEntryOut.of(r, p) for r in rows], next_cursor=nxt)
