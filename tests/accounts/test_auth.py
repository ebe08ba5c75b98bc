from datetime import timedelta

import pytest
from sqlalchemy import update

from guanxi.accounts.models import AuthSession, LoginThrottle, User
from guanxi.kit.models import utcnow
from tests.fixtures.factories import PASSWORD, call, make_world

pytestmark = pytest.mark.anyio


async def _login(client, login, password=PASSWORD):
    return await client.post("/api/v1/auth/login", json={"login": login, "password": password})


async def test_login_by_email_and_mobile_sets_safe_cookies(client, db):
    w = await make_world(db)
    async with db.session() as s:
        await s.execute(update(User).where(User.id == w.users["sales"].id).values(mobile="+8613912340000"))
    r = await _login(client, w.users["sales"].email.upper())
    assert r.status_code == 200, r.text
    cookies = r.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith("guanxi_session="))
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie
    assert r.json()["role"]["key"] == "sales"
    r2 = await _login(client, "139 1234 0000")
    assert r2.status_code == 200 and r2.json()["id"] == w.users["sales"].id


async def test_csrf_is_required_on_writes_with_a_cookie(client, db):
    w = await make_world(db)
    token, _csrf = w.tokens["sales"]
    r = await client.post("/api/v1/customers", json={"kind": "person", "name": "x"},
                          headers={"Cookie": f"guanxi_session={token}"})
    assert r.status_code == 403 and r.json()["code"] == "csrf_failed"
    r = await client.post("/api/v1/customers", json={"kind": "person", "name": "x"},
                          headers={"Cookie": f"guanxi_session={token}", "X-CSRF-Token": "wrong"})
    assert r.status_code == 403
    r = await client.get("/api/v1/customers", headers={"Cookie": f"guanxi_session={token}"})
    assert r.status_code == 200


async def test_wrong_password_is_throttled_per_account_but_not_forever(client, db):
    w = await make_world(db)
    email = w.users["teammate"].email
    for _ in range(5):
        assert (await _login(client, email, "nope")).status_code == 401
    r = await _login(client, email, "nope")
    assert r.status_code == 401
    r = await _login(client, email)  # even the right password waits while the account is slowed down
    assert r.status_code == 429 and r.json()["code"] == "login_throttled"
    assert int(r.headers["retry-after"]) <= 15 * 60
    async with db.session() as s:  # the block ends by itself
        await s.execute(update(LoginThrottle).values(blocked_until=utcnow() - timedelta(seconds=1)))
    assert (await _login(client, email)).status_code == 200
    audit = (await call(client, w, "admin", "GET", "/api/v1/audit?action=login_failed")).json()["items"]
    assert len(audit) == 6 and audit[0]["user_id"] == w.users["teammate"].id


async def test_logout_and_disable_end_sessions(client, db):
    w = await make_world(db)
    assert (await call(client, w, "sales", "POST", "/api/v1/auth/logout")).status_code == 204
    r = await call(client, w, "sales", "GET", "/api/v1/me")
    assert r.status_code == 401 and r.json()["code"] == "session_expired"
    r = await call(client, w, "admin", "PATCH", f"/api/v1/users/{w.users['teammate'].id}", json={"active": False})
    assert r.status_code == 200
    assert (await call(client, w, "teammate", "GET", "/api/v1/me")).status_code == 401
    assert (await _login(client, w.users["teammate"].email)).status_code == 401


async def test_expired_session_and_no_session(client, db):
    w = await make_world(db)
    async with db.session() as s:
        await s.execute(update(AuthSession).where(AuthSession.user_id == w.users["sales"].id)
                        .values(expires_at=utcnow() - timedelta(minutes=1)))
    r = await call(client, w, "sales", "GET", "/api/v1/customers")
    assert r.status_code == 401 and r.json()["code"] == "session_expired"
    assert (await client.get("/api/v1/customers")).json()["code"] == "not_authenticated"


async def test_api_keys_are_scoped_hashed_and_revocable(client, db):
    w = await make_world(db)
    r = await call(client, w, "sales", "POST", "/api/v1/api-keys", json={"name": "ERP", "scopes": ["read"]})
    assert r.status_code == 201
    token = r.json()["token"]
    assert token.startswith("gx_")
    listed = (await call(client, w, "sales", "GET", "/api/v1/api-keys")).json()
    assert "token" not in listed[0] or listed[0]["token"] is None
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/customers", headers=bearer)).status_code == 200
    r = await client.post("/api/v1/customers", json={"kind": "person", "name": "x"}, headers=bearer)
    assert r.status_code == 403 and r.json()["code"] == "api_key_read_only"
    rw = (await call(client, w, "sales", "POST", "/api/v1/api-keys", json={"name": "shop", "scopes": ["read", "write"]})).json()
    r = await client.post("/api/v1/customers", json={"kind": "person", "name": "API 客户"},
                          headers={"Authorization": f"Bearer {rw['token']}"})
    assert r.status_code == 201
    assert (await call(client, w, "sales", "DELETE", f"/api/v1/api-keys/{rw['id']}")).status_code == 204
    r = await client.get("/api/v1/customers", headers={"Authorization": f"Bearer {rw['token']}"})
    assert r.status_code == 401
    bad = await call(client, w, "sales", "POST", "/api/v1/api-keys", json={"name": "x", "scopes": ["admin"]})
    assert bad.status_code == 422


async def test_language_and_password(client, db):
    w = await make_world(db)
    r = await call(client, w, "sales", "PATCH", "/api/v1/me", json={"language": "en"})
    assert r.status_code == 200 and r.json()["language"] == "en"
    r = await call(client, w, "sales", "POST", "/api/v1/customers", json={"kind": "person", "name": "x", "phones": ["1"]})
    assert r.json()["errors"][0]["message"] == "Not a valid phone number"
    r = await call(client, w, "sales", "POST", "/api/v1/me/password", json={"current_password": "wrong", "new_password": "abcdefgh1"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "current_password"
    r = await call(client, w, "sales", "POST", "/api/v1/me/password", json={"current_password": PASSWORD, "new_password": "short"})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "weak_password"
    r = await call(client, w, "sales", "POST", "/api/v1/me/password", json={"current_password": PASSWORD, "new_password": "a-much-better-one"})
    assert r.status_code == 204
    assert (await _login(client, w.users["sales"].email, "a-much-better-one")).status_code == 200
    bad = await call(client, w, "sales", "PATCH", "/api/v1/me", json={"language": "fr"})
    assert bad.status_code == 422


async def test_settings_users_teams_roles(client, db):
    w = await make_world(db)
    roles = (await call(client, w, "admin", "GET", "/api/v1/roles")).json()
    assert {r["key"] for r in roles} >= {"admin", "manager", "sales", "service", "marketing", "readonly"}
    assert next(r for r in roles if r["key"] == "admin")["editable"] is False
    r = await call(client, w, "admin", "POST", "/api/v1/roles", json={
        "name": "渠道经理", "scope": "team", "permissions": {"customers": ["view", "edit"]},
        "field_rules": {"customers": {"phones": "masked"}}})
    assert r.status_code == 201, r.text
    role = r.json()
    bad = await call(client, w, "admin", "POST", "/api/v1/roles", json={"name": "x", "permissions": {"customers": ["fly"]}})
    assert bad.status_code == 422
    u = await call(client, w, "admin", "POST", "/api/v1/users", json={
        "email": "new.person@example.com", "name": "赵磊", "password": "abcdefgh", "role_id": role["id"],
        "team_id": w.teams["b"], "mobile": "13700001111"})
    assert u.status_code == 201, u.text
    dup = await call(client, w, "admin", "POST", "/api/v1/users", json={
        "email": "NEW.person@example.com", "name": "x", "password": "abcdefgh", "role_id": role["id"]})
    assert dup.status_code == 422 and dup.json()["errors"][0]["code"] == "duplicate"
    assert (await call(client, w, "admin", "DELETE", f"/api/v1/roles/{role['id']}")).status_code == 409
    t = await call(client, w, "admin", "POST", "/api/v1/teams", json={"name": "华北销售部", "manager_id": w.users["manager"].id})
    assert t.status_code == 201
    teams = (await call(client, w, "sales", "GET", "/api/v1/teams")).json()
    assert [x["depth"] for x in teams if x["name"] == "华东大客户组"] == [1]
    assert (await call(client, w, "admin", "DELETE", f"/api/v1/teams/{w.teams['a']}")).status_code == 409
    assert (await call(client, w, "sales", "POST", "/api/v1/teams", json={"name": "x"})).status_code == 403
    assert (await call(client, w, "sales", "GET", "/api/v1/users")).status_code == 403
    look = (await call(client, w, "sales", "GET", "/api/v1/users/lookup?q=manager")).json()
    assert look[0]["id"] == w.users["manager"].id


async def test_saved_team_answers_with_manager_name_and_members(client, db):
    w = await make_world(db)
    r = await call(client, w, "admin", "PATCH", f"/api/v1/teams/{w.teams['a']}", json={"name": "华东一部"})
    assert r.status_code == 200
    team = r.json()
    assert team["manager_name"] == w.users["manager"].name
    assert team["member_count"] == 3  # manager, sales, teammate
    assert team["depth"] == 0
    sub = await call(client, w, "admin", "POST", "/api/v1/teams", json={"name": "华东二组", "parent_id": w.teams["a"],
                                                                      "manager_id": w.users["sales"].id})
    assert sub.status_code == 201
    assert sub.json()["depth"] == 1 and sub.json()["manager_name"] == w.users["sales"].name
