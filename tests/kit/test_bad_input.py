"""Every kind of bad input gets a precise 4xx problem and writes nothing; random bodies never crash the API.

Each case states the status, the problem `code` and (when a field is at fault) every `errors[]` entry as
(field, code) pairs — duplicates included. Before and after each request the rows of the workspace are
counted (customers, contacts, identities, users, teams, roles, custom fields, channels, API keys,
sessions, audit log, domain events, idempotency keys, login throttles): a refused request must not
change any of them.

Cases marked `bug` are strict xfails: they state the correct answer and fail today (see the reasons).

The app, the client and two worlds are shared by the module; each case makes its own customer and
contact when its URL needs one. The client uses its own random IP so that failed logins here never
count towards the per-IP login throttle that other tests share.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from guanxi.accounts.models import AuthSession, Role
from guanxi.accounts.security import new_token, token_hash
from guanxi.app import create_app
from guanxi.config import Settings
from guanxi.customers.models import Contact
from guanxi.db import Database
from guanxi.kit.models import utcnow
from tests.fixtures.factories import (
    PASSWORD,
    World,
    make_contact,
    make_custom_field,
    make_customer,
    make_interaction,
    make_note,
    make_task,
    make_world,
)

pytestmark = pytest.mark.anyio

BIG = 10**20  # beyond BIGINT / SQLite INTEGER
H_JSON = {"Content-Type": "application/json"}


# ------------------------------------------------------------------------------------------------ environment


@dataclass
class Env:
    db: Database
    client: httpx.AsyncClient
    w: World
    w2: World
    roles: dict[str, int]
    backend: str
    customer_id: int = 0  # a customer of `sales`, for bodies that name one
    foreign_contact_id: int = 0  # a contact of another customer
    hidden_customer_id: int = 0  # a customer `sales` may not see


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def env(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    db = Database(database_url)
    app = create_app(Settings(secret_key="test-secret", data_dir=tmp_path_factory.mktemp("bad"), max_body_mb=1),
                     database=db)
    ip = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(ip, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        w, w2 = await make_world(db), await make_world(db)
        for key, typ, opts in (("t", "text", None), ("num", "number", None), ("money", "money", None),
                               ("day", "date", None), ("intent", "select", ["high", "low"]),
                               ("products", "multiselect", ["a", "b"]), ("vip", "boolean", None), ("am", "user", None)):
            await make_custom_field(db, w, key, typ, opts)
        async with db.session() as s:
            roles = dict((await s.execute(select(Role.key, Role.id).where(Role.workspace_id == w.workspace_id))).all())
        own, other = await make_customer(db, w, "sales"), await make_customer(db, w, "sales")
        hidden = await make_customer(db, w, "other_team")
        foreign = await make_contact(db, w, other, "别家联系人")
        yield Env(db, client, w, w2, roles, "postgresql" if database_url.startswith("postgresql") else "sqlite",
                  own.id, foreign.id, hidden.id)
    await db.dispose()


_n = itertools.count(random.randrange(10_000, 90_000) * 1000)

WS_TABLES = ("customers", "contacts", "customer_identities", "users", "teams", "roles", "custom_fields",
             "source_channels", "api_keys", "auth_sessions", "audit_log", "domain_events", "idempotency_keys",
             "interactions", "attachments", "interaction_channels", "tasks", "notes", "notifications")


async def counts(env: Env) -> dict[str, int]:
    parts = [f"(SELECT count(*) FROM {t} WHERE workspace_id = :w)" for t in WS_TABLES]
    parts.append("(SELECT count(*) FROM login_throttle)")
    async with env.db.session() as s:
        row = (await s.execute(text("SELECT " + ", ".join(parts)), {"w": env.w.workspace_id})).one()
    return dict(zip((*WS_TABLES, "login_throttle"), row, strict=True))


def cursor_of(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


# ------------------------------------------------------------------------------------------------ the cases

# endpoint → (who, method, url, valid body). {c} / {ct}: a fresh customer / contact owned by `sales`.
ENDPOINTS: dict[str, tuple[str | None, str, str, Callable[[Env, int], dict[str, Any]]]] = {
    "customer.create": ("sales", "POST", "/api/v1/customers", lambda e, n: {"kind": "company", "name": f"好公司{n}"}),
    "customer.update": ("sales", "PATCH", "/api/v1/customers/{c}", lambda e, n: {"city": "杭州"}),
    "contact.create": ("sales", "POST", "/api/v1/customers/{c}/contacts", lambda e, n: {"name": "陈静"}),
    "contact.update": ("sales", "PATCH", "/api/v1/contacts/{ct}", lambda e, n: {"title": "采购经理"}),
    "user.create": ("admin", "POST", "/api/v1/users", lambda e, n: {
        "email": f"u{n}@example.com", "name": "赵磊", "password": "abcdefgh1", "role_id": e.roles["sales"]}),
    "team.create": ("admin", "POST", "/api/v1/teams", lambda e, n: {"name": f"华北销售部{n}"}),
    "role.create": ("admin", "POST", "/api/v1/roles", lambda e, n: {
        "name": f"渠道经理{n}", "scope": "team", "permissions": {"customers": ["view"]}}),
    "field.create": ("admin", "POST", "/api/v1/custom-fields", lambda e, n: {
        "key": f"k{n}", "label": f"预算{n}", "type": "text"}),
    "apikey.create": ("sales", "POST", "/api/v1/api-keys", lambda e, n: {"name": f"ERP{n}", "scopes": ["read"]}),
    "login": (None, "POST", "/api/v1/auth/login", lambda e, n: {
        "login": e.w.users["teammate"].email, "password": PASSWORD}),
    "interaction.create": ("sales", "POST", "/api/v1/interactions", lambda e, n: {
        "customer_id": e.customer_id, "channel": "phone", "subject": f"回访{n}"}),
    "interaction.update": ("sales", "PATCH", "/api/v1/interactions/{i}", lambda e, n: {"outcome": "已报价"}),
    "task.create": ("sales", "POST", "/api/v1/tasks", lambda e, n: {"title": f"回访{n}", "due_at": "2031-01-01T08:00:00Z"}),
    "task.update": ("sales", "PATCH", "/api/v1/tasks/{t}", lambda e, n: {"priority": "high"}),
    "note.create": ("sales", "POST", "/api/v1/customers/{c}/notes", lambda e, n: {"body": f"客户很满意{n}"}),
    "note.update": ("sales", "PATCH", "/api/v1/customers/{c}/notes/{nt}", lambda e, n: {"body": "改一下"}),
    "ichannel.create": ("admin", "POST", "/api/v1/interaction-channels", lambda e, n: {"label": f"渠道{n}"}),
}

WRONG_TYPE = {
    "customer.create": ({"name": ["x"]}, {"name": "invalid_type"}),
    "customer.update": ({"tags": "vip"}, {"tags": "invalid_type"}),
    "contact.create": ({"phones": "13800138000"}, {"phones": "invalid_type"}),
    "contact.update": ({"is_primary": [1]}, {"is_primary": "invalid_type"}),
    "user.create": ({"role_id": "abc"}, {"role_id": "invalid_type"}),
    "team.create": ({"parent_id": "abc"}, {"parent_id": "invalid_type"}),
    "role.create": ({"permissions": "all"}, {"permissions": "invalid_type"}),
    "field.create": ({"required": "maybe"}, {"required": "invalid_type"}),
    "apikey.create": ({"scopes": "read"}, {"scopes": "invalid_type"}),
    "login": ({"password": 123}, {"password": "invalid_type"}),
    "interaction.create": ({"duration_minutes": "long"}, {"duration_minutes": "invalid_type"}),
    "interaction.update": ({"contact_ids": "5"}, {"contact_ids": "invalid_type"}),
    "task.create": ({"due_at": [1]}, {"due_at": "invalid_type"}),
    "task.update": ({"remind_before_minutes": "soon"}, {"remind_before_minutes": "invalid_type"}),
    "note.create": ({"mentions": "all"}, {"mentions": "invalid_type"}),
    "note.update": ({"body": 5}, {"body": "invalid_type"}),
    "ichannel.create": ({"position": "first"}, {"position": "invalid_type"}),
}
TOO_LONG = {
    "customer.create": "name", "customer.update": "notes", "contact.create": "name", "contact.update": "title",
    "user.create": "name", "team.create": "name", "role.create": "name", "field.create": "label",
    "apikey.create": "name", "login": "login", "interaction.create": "subject", "interaction.update": "summary",
    "task.create": "title", "task.update": "description", "note.create": "body", "note.update": "body",
    "ichannel.create": "label",
}
LIMITS = {"name": 201, "notes": 5001, "title": 101, "label": 101, "login": 255, "subject": 201, "summary": 10_001,
          "description": 10_001, "body": 10_001}
ENDPOINT_LIMITS = {("contact.create", "name"): 101, ("user.create", "name"): 101, ("team.create", "name"): 101,
                   ("role.create", "name"): 101, ("apikey.create", "name"): 101, ("task.create", "title"): 201}


@dataclass
class Bad:
    endpoint: str
    what: str
    status: int | tuple[int, ...]
    code: str | None = None
    errors: dict[str, str | None] | list[tuple[str, str]] | None = None  # field → code (None: any code)
    body: Any = None  # replaces the valid body
    merge: dict[str, Any] | Callable[[Env], dict[str, Any]] | None = None  # merged into the valid body
    raw: bytes | None = None  # sent as is, with Content-Type: application/json
    headers: dict[str, str] = field(default_factory=dict)
    auth: str = "ok"  # ok | no_csrf | bad_csrf | expired | none
    url: str | None = None  # replaces the endpoint's URL ...
    method: str | None = None  # ... and method
    who: str | None = "default"
    prepare: Callable[[Env], Awaitable[dict[str, str]]] | None = None  # returns extra headers
    writes: bool = False  # the refusal is itself recorded (failed login)
    bug: str | None = None
    bug_on: tuple[str, ...] = ("sqlite", "postgresql")

    @property
    def id(self) -> str:
        return f"{self.endpoint}: {self.what}"


UNPARSEABLE_BUG = ("BUG: a body that cannot be decoded for another reason than a JSON syntax error (invalid UTF-8 → "
                   "UnicodeDecodeError, deep nesting → RecursionError) becomes FastAPI's generic HTTPException(400), "
                   "which errors.install maps to code 'invalid_value' instead of 'invalid_json'")


def generic_cases() -> list[Bad]:
    out: list[Bad] = []
    for ep in ENDPOINTS:
        out += [
            Bad(ep, "malformed JSON", 400, "invalid_json", raw=b'{"name": "x",'),
            Bad(ep, "not UTF-8", 400, "invalid_json", raw=b'{"name": "\xff\xfe"}'),
            Bad(ep, "JSON array", 400, "invalid_json", body=[1, 2]),
            Bad(ep, "JSON string", 400, "invalid_json", body="x"),
            Bad(ep, "JSON number", 400, "invalid_json", body=5),
            Bad(ep, "JSON true", 400, "invalid_json", body=True),
            Bad(ep, "JSON null", 400, "invalid_json", raw=b"null"),
            Bad(ep, "empty body", 422, "validation_failed", {"body": "required"}, raw=b""),
            Bad(ep, "unknown field", 422, "unknown_field", {"colour": "unknown_field"}, merge={"colour": "red"}),
            Bad(ep, "wrong type", 422, "validation_failed", WRONG_TYPE[ep][1], merge=WRONG_TYPE[ep][0]),
            Bad(ep, "over-long string", 422, "validation_failed", {TOO_LONG[ep]: "too_long"},
                merge={TOO_LONG[ep]: "长" * ENDPOINT_LIMITS.get((ep, TOO_LONG[ep]), LIMITS[TOO_LONG[ep]])}),
            Bad(ep, "deeply nested JSON", 400, "invalid_json",
                raw=b'{"name": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"),
        ]
        if ep != "login":
            out += [
                Bad(ep, "no CSRF header", 403, "csrf_failed", auth="no_csrf"),
                Bad(ep, "wrong CSRF header", 403, "csrf_failed", auth="bad_csrf"),
                Bad(ep, "expired session", 401, "session_expired", auth="expired"),
                Bad(ep, "no session", 401, "not_authenticated", auth="none"),
            ]
    return out


def _replayed(url: str, body: Callable[[Env], dict[str, Any]]) -> Callable[[Env], Awaitable[dict[str, str]]]:
    """A key first used, successfully, on `url` with another body."""

    async def prepare(env: Env) -> dict[str, str]:
        key = f"idem-{next(_n)}"
        r = await send(env, "sales", "POST", await fill_url(env, url), json_body=body(env),
                       headers={"Idempotency-Key": key})
        assert r.status_code == 201, r.text
        return {"Idempotency-Key": key}

    return prepare


async def _replayed_key(env: Env) -> dict[str, str]:
    """The key is first used, successfully, with another body."""
    key = f"idem-{next(_n)}"
    r = await send(env, "sales", "POST", "/api/v1/customers", json_body={"kind": "person", "name": "李娜"},
                   headers={"Idempotency-Key": key})
    assert r.status_code == 201, r.text
    return {"Idempotency-Key": key}


NUL = "a\x00b"
NUL_BUG = ("BUG: a NUL character is accepted by validation; PostgreSQL rejects it (500) and SQLite stores it. "
           "Text fields should refuse control characters with 422 invalid_value")
INT_BUG = ("BUG: ids beyond 64 bits pass validation and crash the database driver (OverflowError on SQLite, "
           "DataError on PostgreSQL) → 500. Id fields and parameters need bounds (1..2**63-1)")


def specific_cases() -> list[Bad]:
    C, U = "customer.create", "customer.update"
    return [
        # ---- customers: values
        Bad(C, "invalid phone", 422, "validation_failed", {"phones.0": "invalid_phone"}, merge={"phones": ["12345"]}),
        Bad(C, "second phone invalid", 422, "validation_failed", {"phones.1": "invalid_phone"},
            merge={"phones": ["13800138000", "999"]}),
        Bad(C, "invalid email", 422, "validation_failed", {"emails.0": "invalid_email"}, merge={"emails": ["not-an-email"]}),
        Bad(C, "every error at once", 422, "validation_failed",
            {"phones.0": "invalid_phone", "emails.0": "invalid_email", "custom.intent": "invalid_option",
             "custom.nope": "unknown_field", "website": "invalid_value"},
            merge={"phones": ["1"], "emails": ["x@"], "custom": {"intent": "maybe", "nope": 1}, "website": "not a url"}),
        Bad(C, "unknown custom field", 422, "validation_failed", {"custom.nope": "unknown_field"},
            merge={"custom": {"nope": 1}}),
        Bad(C, "unknown select option", 422, "validation_failed", {"custom.intent": "invalid_option"},
            merge={"custom": {"intent": "maybe"}}),
        Bad(C, "unknown multiselect option", 422, "validation_failed", {"custom.products": "invalid_option"},
            merge={"custom": {"products": ["a", "zzz"]}}),
        Bad(C, "multiselect given a string", 422, "validation_failed", {"custom.products": "invalid_option"},
            merge={"custom": {"products": "a"}}),
        Bad(C, "number for a text field", 422, "validation_failed", {"custom.t": "invalid_type"},
            merge={"custom": {"t": 5}}),
        Bad(C, "text for a number field", 422, "validation_failed", {"custom.num": "invalid_type"},
            merge={"custom": {"num": "abc"}}),
        Bad(C, "thousands separator in money", 422, "validation_failed", {"custom.money": "invalid_type"},
            merge={"custom": {"money": "1,000"}}),
        Bad(C, "infinite money", 422, "validation_failed", {"custom.money": "invalid_type"},
            merge={"custom": {"money": "Infinity"}}),
        Bad(C, "string for a boolean field", 422, "validation_failed", {"custom.vip": "invalid_type"},
            merge={"custom": {"vip": "true"}}),
        Bad(C, "unknown user id", 422, "validation_failed", {"custom.am": "invalid_user"},
            merge={"custom": {"am": 987654321}}),
        Bad(C, "user field given a string", 422, "validation_failed", {"custom.am": "invalid_type"},
            merge={"custom": {"am": "admin"}}),
        Bad(C, "impossible date", 422, "validation_failed", {"custom.day": "invalid_value"},
            merge={"custom": {"day": "2026-02-30"}}),
        Bad(C, "custom is not an object", 422, "validation_failed", {"custom": "invalid_type"}, merge={"custom": [1]}),
        Bad(C, "unknown kind", 422, "validation_failed", {"kind": "invalid_option"}, merge={"kind": "robot"}),
        Bad(C, "missing kind and name", 422, "validation_failed", {"kind": "required", "name": "required"}, body={}),
        Bad(C, "blank name", 422, "validation_failed", {"name": "too_short"}, merge={"name": "   "}),
        Bad(C, "unknown stage, grade and size", 422, "validation_failed",
            {"stage": "invalid_option", "grade": "invalid_option", "size": "invalid_option"},
            merge={"stage": "won", "grade": "E", "size": "9"}),
        Bad(C, "unknown source", 422, "validation_failed", {"source": "invalid_option"}, merge={"source": "nowhere"}),
        Bad(C, "bad birthday", 422, "validation_failed", {"birthday": None}, merge={"birthday": "2026-13-01"}),
        Bad(C, "over-long tag", 422, "validation_failed", {"tags.0": "too_long"}, merge={"tags": ["标" * 31]}),
        Bad(C, "too many tags and phones", 422, "validation_failed", {"tags": None, "phones": None},
            merge={"tags": [f"t{i}" for i in range(21)], "phones": ["13800138000"] * 11}),
        Bad(C, "server-set field", 422, "read_only_field", {"id": "read_only_field"}, merge={"id": 5}),
        Bad(C, "owner in another workspace", 422, "validation_failed", {"owner_id": "invalid_user"}, who="admin",
            merge=lambda e: {"owner_id": e.w2.users["sales"].id}),
        Bad(C, "custom user of another workspace", 422, "validation_failed", {"custom.am": "invalid_user"},
            merge=lambda e: {"custom": {"am": e.w2.users["sales"].id}}),
        Bad(C, "Idempotency-Key replayed with another body", 422, "idempotency_key_reused",
            body={"kind": "person", "name": "王芳"}, prepare=_replayed_key),
        Bad(C, "over-long Idempotency-Key", 422, "validation_failed", {"idempotency-key": "too_long"},
            headers={"Idempotency-Key": "k" * 201}),
        # ---- customers: updates
        Bad(U, "stale If-Match", 412, "precondition_failed", headers={"If-Match": '"2"'}),
        Bad(U, "If-Match zero", 412, "precondition_failed", headers={"If-Match": "0"}),
        Bad(U, "non-numeric If-Match", 412, "precondition_failed", headers={"If-Match": "abc"}),
        Bad(U, "no If-Match", 428, "precondition_required", headers={"If-Match": None}),  # type: ignore[dict-item]
        Bad(U, "null kind and empty name", 422, "validation_failed", {"kind": "required", "name": "required"},
            body={"kind": None, "name": ""}),
        Bad(U, "invalid phone", 422, "validation_failed", {"phones.0": "invalid_phone"}, body={"phones": ["0"]}),
        Bad(U, "unknown custom field", 422, "validation_failed", {"custom.nope": "unknown_field"},
            body={"custom": {"nope": "x"}}),
        Bad(U, "sales sets the owner", 422, "read_only_field", {"owner_id": "owner_not_allowed"},
            body={"owner_id": 1}),
        Bad(U, "team_id", 422, "read_only_field", {"team_id": "read_only_field"}, body={"team_id": 1}),
        # ---- contacts
        Bad("contact.create", "missing name", 422, "validation_failed", {"name": "required"}, body={"title": "x"}),
        Bad("contact.create", "invalid phone and email", 422, "validation_failed",
            {"phones.0": "invalid_phone", "emails.0": "invalid_email"}, merge={"phones": ["1"], "emails": ["bad"]}),
        Bad("contact.create", "customer_id", 422, "read_only_field", {"customer_id": "read_only_field"},
            merge={"customer_id": 5}),
        Bad("contact.update", "stale If-Match", 412, "precondition_failed", headers={"If-Match": "2"}),
        Bad("contact.update", "non-numeric If-Match", 412, "precondition_failed", headers={"If-Match": "v1"}),
        Bad("contact.update", "no If-Match", 428, "precondition_required",
            headers={"If-Match": None}),  # type: ignore[dict-item]
        Bad("contact.update", "invalid email", 422, "validation_failed", {"emails.0": "invalid_email"},
            body={"emails": ["x@"]}),
        Bad("contact.update", "empty name", 422, "validation_failed", {"name": "required"}, body={"name": ""}),
        # ---- users
        Bad("user.create", "invalid email", 422, "validation_failed", {"email": "invalid_email"}, merge={"email": "zz"}),
        Bad("user.create", "invalid mobile", 422, "validation_failed", {"mobile": "invalid_phone"}, merge={"mobile": "12"}),
        Bad("user.create", "weak password", 422, "validation_failed", {"password": "weak_password"},
            merge={"password": "short"}),
        Bad("user.create", "unknown role", 422, "validation_failed", {"role_id": "invalid_option"},
            merge={"role_id": 987654321}),
        Bad("user.create", "unknown team", 422, "validation_failed", {"team_id": "invalid_option"},
            merge={"team_id": 987654321}),
        Bad("user.create", "unknown language", 422, "validation_failed", {"language": "invalid_option"},
            merge={"language": "fr"}),
        Bad("user.create", "unknown timezone", 422, "validation_failed", {"timezone": "invalid_value"},
            merge={"timezone": "Mars/Olympus_Mons"}),
        Bad("user.create", "email already used", 422, "validation_failed", {"email": "duplicate"},
            merge=lambda e: {"email": e.w.users["sales"].email.upper()}),
        Bad("user.create", "role of another workspace", 422, "validation_failed", {"role_id": "invalid_option"},
            merge=lambda e: {"role_id": e.w2.users["sales"].role_id}),
        Bad("user.create", "nothing", 422, "validation_failed",
            {"email": "required", "name": "required", "password": "required", "role_id": "required"}, body={}),
        # ---- teams
        Bad("team.create", "no name", 422, "validation_failed", {"name": "required"}, body={}),
        Bad("team.create", "blank name", 422, "validation_failed", [("name", "required")], body={"name": "   "}),
        Bad("team.create", "unknown parent", 422, "validation_failed", {"parent_id": "invalid_option"},
            merge={"parent_id": 987654321}),
        Bad("team.create", "unknown manager", 422, "validation_failed", {"manager_id": "invalid_user"},
            merge={"manager_id": 987654321}),
        Bad("team.create", "manager of another workspace", 422, "validation_failed", {"manager_id": "invalid_user"},
            merge=lambda e: {"manager_id": e.w2.users["manager"].id}),
        Bad("team.create", "parent of another workspace", 422, "validation_failed", {"parent_id": "invalid_option"},
            merge=lambda e: {"parent_id": e.w2.teams["a"]}),
        # ---- roles
        Bad("role.create", "unknown action", 422, "validation_failed", {"permissions.customers": "invalid_option"},
            merge={"permissions": {"customers": ["fly"]}}),
        Bad("role.create", "unknown module", 422, "validation_failed", {"permissions.nope": "unknown_field"},
            merge={"permissions": {"nope": ["view"]}}),
        Bad("role.create", "unknown scope", 422, "validation_failed", {"scope": "invalid_option"},
            merge={"scope": "galaxy"}),
        Bad("role.create", "bad field rules", 422, "validation_failed",
            {"field_rules.customers.colour": "unknown_field", "field_rules.customers.notes": "invalid_option"},
            merge={"field_rules": {"customers": {"colour": "hidden", "notes": "blurred"}}}),
        Bad("role.create", "no name", 422, "validation_failed", {"name": "required"},
            body={"permissions": {"customers": ["view"]}}),
        # ---- custom fields
        Bad("field.create", "bad key", 422, "validation_failed", {"key": "invalid_value"}, merge={"key": "Bad Key"}),
        Bad("field.create", "unknown type", 422, "validation_failed", {"type": "invalid_option"},
            merge={"type": "colour"}),
        Bad("field.create", "select without options", 422, "validation_failed", {"options": "required"},
            merge={"type": "select"}),
        Bad("field.create", "existing key", 422, "validation_failed", {"key": "duplicate"}, merge={"key": "t"}),
        Bad("field.create", "standard field's key", 422, "validation_failed", {"key": "duplicate"},
            merge={"key": "name"}),
        Bad("field.create", "repeated option values", 422, "validation_failed", {"options": "duplicate"},
            merge={"type": "select", "options": [{"value": "a", "label": "A"}, {"value": "a", "label": "B"}]}),
        Bad("field.create", "option without label", 422, "validation_failed", {"options.0.label": "required"},
            merge={"type": "select", "options": [{"value": "a"}]}),
        Bad("field.create", "negative position", 422, "validation_failed", {"position": "invalid_value"},
            merge={"position": -1}),
        # ---- API keys
        Bad("apikey.create", "unknown scope", 422, "validation_failed", {"scopes.0": "invalid_option"},
            merge={"scopes": ["admin"]}),
        Bad("apikey.create", "no scopes", 422, "validation_failed", {"scopes": None}, merge={"scopes": []}),
        Bad("apikey.create", "blank name", 422, "validation_failed", {"name": "too_short"}, merge={"name": "   "}),
        # ---- login
        Bad("login", "no password", 422, "validation_failed", {"password": "required"}, body={"login": "x@example.com"}),
        Bad("login", "nothing", 422, "validation_failed", {"login": "required", "password": "required"}, body={}),
        Bad("login", "wrong password", 401, "invalid_credentials", merge={"password": "wrong-password"}, writes=True),
        Bad("login", "unknown account", 401, "invalid_credentials",
            body={"login": "nobody@example.com", "password": "x"}, writes=True),
        # ---- numbers too big for the database
        Bad(C, "owner id beyond 64 bits", 422, "validation_failed", {"owner_id": None}, who="admin",
            merge={"owner_id": BIG}),
        Bad(C, "user field beyond 64 bits", 422, "validation_failed", {"custom.am": None},
            merge={"custom": {"am": BIG}}),
        Bad(C, "GET a customer id beyond 64 bits", (404, 422), url=f"/api/v1/customers/{BIG}", method="GET"),
        Bad(U, "PATCH a customer id beyond 64 bits", (404, 422), url=f"/api/v1/customers/{BIG}"),
        Bad("contact.create", "customer id beyond 64 bits", (404, 422), url=f"/api/v1/customers/{BIG}/contacts"),
        Bad("user.create", "role id beyond 64 bits", 422, "validation_failed", {"role_id": None},
            merge={"role_id": BIG}),
        Bad("user.create", "PATCH a user id beyond 64 bits", (404, 422), url=f"/api/v1/users/{BIG}", method="PATCH",
            body={"name": "x"}),
        Bad("team.create", "parent id beyond 64 bits", 422, "validation_failed", {"parent_id": None},
            merge={"parent_id": BIG}),
        Bad("team.create", "manager id beyond 64 bits", 422, "validation_failed", {"manager_id": None},
            merge={"manager_id": BIG}),
        Bad("apikey.create", "DELETE a key id beyond 64 bits", (404, 422), url=f"/api/v1/api-keys/{BIG}",
            method="DELETE"),
        Bad(C, "check-duplicates exclude_id beyond 64 bits", (200, 422), url="/api/v1/customers/check-duplicates",
            body={"phones": ["13800138000"], "exclude_id": BIG}),
        # ---- characters the databases cannot store
        Bad(C, "NUL in the name", 422, "validation_failed", {"name": "invalid_value"}, merge={"name": NUL}),
        Bad(C, "NUL in a custom text", 422, "validation_failed", {"custom.t": "invalid_value"},
            merge={"custom": {"t": NUL}}),
        Bad("contact.create", "NUL in the name", 422, "validation_failed", {"name": "invalid_value"},
            merge={"name": NUL}),
        Bad("user.create", "NUL in the name", 422, "validation_failed", {"name": "invalid_value"}, merge={"name": NUL}),
        Bad("team.create", "NUL in the name", 422, "validation_failed", {"name": "invalid_value"}, merge={"name": NUL}),
        Bad("field.create", "NUL in the label", 422, "validation_failed", {"label": "invalid_value"},
            merge={"label": NUL}),
        Bad("login", "NUL in the login", (401, 422), merge={"login": "a\x00b@example.com"}, writes=True),
        Bad(C, "lone surrogate in a custom text", 422, "validation_failed", {"custom.t": "invalid_value"},
            raw=b'{"kind": "company", "name": "x", "custom": {"t": "a\\ud800b"}}'),
    ] + activity_cases()


def activity_cases() -> list[Bad]:
    IC, IU, TC, TU, NC, NU = ("interaction.create", "interaction.update", "task.create", "task.update", "note.create",
                              "note.update")
    soon = "2031-01-01T08:00:00Z"
    return [
        # ---- interactions
        Bad(IC, "a contact of another customer", 422, "validation_failed", [("contact_ids.0", "invalid_contact")],
            merge=lambda e: {"contact_ids": [e.foreign_contact_id]}),
        Bad(IC, "a customer the caller cannot see", 404, "not_found", [("customer_id", "not_found")],
            merge=lambda e: {"customer_id": e.hidden_customer_id}),
        Bad(IC, "an unknown customer", 404, "not_found", [("customer_id", "not_found")],
            merge={"customer_id": 987654321}),
        Bad(IC, "no customer", 422, "validation_failed", {"customer_id": "required"}, body={"channel": "phone"}),
        Bad(IC, "unknown channel", 422, "validation_failed", [("channel", "invalid_option")], merge={"channel": "pigeon"}),
        Bad(IC, "unknown direction", 422, "validation_failed", {"direction": "invalid_option"},
            merge={"direction": "sideways"}),
        Bad(IC, "our side is a user of another workspace", 422, "validation_failed", [("user_id", "invalid_user")],
            merge=lambda e: {"user_id": e.w2.users["sales"].id}),
        Bad(IC, "in the future", 422, "validation_failed", [("occurred_at", "in_future")],
            merge={"occurred_at": "2099-01-01T00:00:00Z"}),
        Bad(IC, "year one", 422, "validation_failed", {"occurred_at": "invalid_value"},
            merge={"occurred_at": "0001-01-01T00:00:00Z"}),
        Bad(IC, "not a time", 422, "validation_failed", {"occurred_at": None}, merge={"occurred_at": "yesterday"}),
        Bad(IC, "longer than a day", 422, "validation_failed", {"duration_minutes": None},
            merge={"duration_minutes": 1441}),
        Bad(IC, "negative duration", 422, "validation_failed", {"duration_minutes": None}, merge={"duration_minutes": -5}),
        Bad(IC, "customer id beyond 64 bits", 422, "validation_failed", {"customer_id": None}, merge={"customer_id": BIG}),
        Bad(IC, "too many contacts", 422, "validation_failed", {"contact_ids": None},
            merge={"contact_ids": list(range(1, 22))}),
        Bad(IC, "server-set field", 422, "read_only_field", {"version": "read_only_field"}, merge={"version": 3}),
        Bad(IC, "a follow-up for another workspace", 422, "validation_failed",
            [("follow_up.assignee_id", "invalid_user")],
            merge=lambda e: {"follow_up": {"title": "回访", "due_at": soon, "assignee_id": e.w2.users["sales"].id}}),
        Bad(IC, "a follow-up without a title or date", 422, "validation_failed",
            {"follow_up.title": "required", "follow_up.due_at": "required"}, merge={"follow_up": {}}),
        Bad(IC, "a follow-up with an unknown field", 422, "unknown_field", {"follow_up.colour": "unknown_field"},
            merge={"follow_up": {"title": "x", "due_at": soon, "colour": "red"}}),
        Bad(IC, "every error at once", 422, "validation_failed",
            [("channel", "invalid_option"), ("contact_ids.0", "invalid_contact"), ("occurred_at", "in_future")],
            merge=lambda e: {"channel": "pigeon", "contact_ids": [e.foreign_contact_id],
                             "occurred_at": "2099-01-01T00:00:00Z"}),
        Bad(IC, "NUL in the summary", 422, "validation_failed", {"summary": "invalid_value"}, merge={"summary": NUL}),
        Bad(IC, "Idempotency-Key replayed with another body", 422, "idempotency_key_reused",
            prepare=_replayed("/api/v1/interactions", lambda e: {"customer_id": e.customer_id, "channel": "sms"})),
        Bad(IU, "stale If-Match", 412, "precondition_failed", headers={"If-Match": '"2"'}),
        Bad(IU, "no If-Match", 428, "precondition_required", headers={"If-Match": None}),  # type: ignore[dict-item]
        Bad(IU, "moved to another customer", 422, "read_only_field", {"customer_id": "read_only_field"},
            body={"customer_id": 1}),
        Bad(IU, "null occurred_at and channel", 422, "validation_failed",
            {"occurred_at": "required", "channel": "required"}, body={"occurred_at": None, "channel": None}),
        Bad(IU, "a contact of another customer", 422, "validation_failed", [("contact_ids.0", "invalid_contact")],
            body=None, merge=lambda e: {"contact_ids": [e.foreign_contact_id]}),
        Bad(IU, "PATCH an interaction id beyond 64 bits", (404, 422), url=f"/api/v1/interactions/{BIG}"),
        # ---- tasks
        Bad(TC, "no title or due date", 422, "validation_failed", {"title": "required", "due_at": "required"}, body={}),
        Bad(TC, "assignee of another workspace", 422, "validation_failed", [("assignee_id", "invalid_user")],
            merge=lambda e: {"assignee_id": e.w2.users["sales"].id}),
        Bad(TC, "assignee who cannot see the customer", 422, "validation_failed",
            [("assignee_id", "assignee_cannot_see")],
            merge=lambda e: {"assignee_id": e.w.users["teammate"].id, "customer_id": e.customer_id}),
        Bad(TC, "a customer the caller cannot see", 404, "not_found", [("customer_id", "not_found")],
            merge=lambda e: {"customer_id": e.hidden_customer_id}),
        Bad(TC, "unknown priority, status and repeat", 422, "validation_failed",
            {"priority": "invalid_option", "status": "invalid_option", "repeat": "invalid_option"},
            merge={"priority": "asap", "status": "maybe", "repeat": "yearly"}),
        Bad(TC, "reminder more than a week ahead", 422, "validation_failed", {"remind_before_minutes": None},
            merge={"remind_before_minutes": 10081}),
        Bad(TC, "related type without id", 422, "validation_failed", [("related_id", "required")],
            merge={"related_type": "opportunity"}),
        Bad(TC, "bad related type", 422, "validation_failed", {"related_type": "invalid_value"},
            merge={"related_type": "Bad Type", "related_id": 5}),
        Bad(TC, "team_id and remind_at", 422, "read_only_field",
            [("remind_at", "read_only_field"), ("team_id", "read_only_field")], merge={"team_id": 1, "remind_at": soon}),
        Bad(TC, "assignee beyond 64 bits", 422, "validation_failed", {"assignee_id": None}, merge={"assignee_id": BIG}),
        Bad(TC, "Idempotency-Key replayed with another body", 422, "idempotency_key_reused",
            prepare=_replayed("/api/v1/tasks", lambda e: {"title": "别的", "due_at": soon})),
        Bad(TU, "stale If-Match", 412, "precondition_failed", headers={"If-Match": '"2"'}),
        Bad(TU, "no If-Match", 428, "precondition_required", headers={"If-Match": None}),  # type: ignore[dict-item]
        Bad(TU, "null title and due date", 422, "validation_failed", {"title": "required", "due_at": "required"},
            body={"title": None, "due_at": None}),
        Bad(TU, "completed_at", 422, "read_only_field", {"completed_at": "read_only_field"}, body={"completed_at": soon}),
        # ---- notes
        Bad(NC, "blank body", 422, "validation_failed", {"body": "too_short"}, body={"body": "   "}),
        Bad(NC, "mention of another workspace", 422, "validation_failed", [("mentions.0", "invalid_user")],
            merge=lambda e: {"mentions": [e.w2.users["sales"].id]}),
        Bad(NC, "mention token of a stranger", 422, "validation_failed", [("body", "invalid_user")],
            merge={"body": "@[谁](user:987654321) 看看"}),
        Bad(NC, "mention of someone who cannot see the customer", 422, "validation_failed",
            [("mentions.0", "mention_cannot_see")], merge=lambda e: {"mentions": [e.w.users["other_team"].id]}),
        Bad(NC, "mention beyond 64 bits", 422, "validation_failed", {"mentions.0": None}, merge={"mentions": [BIG]}),
        Bad(NC, "customer id beyond 64 bits", (404, 422), url=f"/api/v1/customers/{BIG}/notes"),
        Bad(NC, "a customer the caller cannot see", 404, "not_found", url="/api/v1/customers/987654321/notes"),
        Bad(NU, "stale If-Match", 412, "precondition_failed", headers={"If-Match": '"2"'}),
        Bad(NU, "no If-Match", 428, "precondition_required", headers={"If-Match": None}),  # type: ignore[dict-item]
        Bad(NU, "customer_id", 422, "read_only_field", {"customer_id": "read_only_field"}, body={"customer_id": 1}),
        # ---- interaction channels
        Bad("ichannel.create", "a built-in label", 422, "validation_failed", [("label", "duplicate")],
            merge={"label": "电话"}),
        Bad("ichannel.create", "a built-in key", 422, "validation_failed", [("key", "duplicate")],
            merge={"key": "phone"}),
        Bad("ichannel.create", "bad key", 422, "validation_failed", {"key": "invalid_value"}, merge={"key": "Bad Key"}),
        Bad("ichannel.create", "by a sales rep", 403, "forbidden", who="sales"),
    ]


@dataclass
class BadQuery:
    what: str
    url: str
    status: int | tuple[int, ...]
    code: str | None
    errors: dict[str, str | None] | None = None
    who: str = "sales"
    bug: str | None = None
    bug_on: tuple[str, ...] = ("sqlite", "postgresql")


CURSOR_BUG = ("BUG: a well-formed cursor whose values have the wrong type for the sort column is passed to the "
              "database (500); decode_cursor should check the value against the sort field's type → invalid_cursor")


def query_cases() -> list[BadQuery]:
    out = []
    for url, who in (("/api/v1/customers?x=1", "sales"), ("/api/v1/customers?q=测试", "sales"),
                     ("/api/v1/customers?deleted=true", "sales"), ("/api/v1/users?x=1", "admin"),
                     ("/api/v1/audit?x=1", "admin"), ("/api/v1/customers/{c}/history?x=1", "sales")):
        for label, cur in (("garbage", "garbage"), ("not base64", "!!!***"), ("wrong length", cursor_of([1, 2, 3])),
                           ("not a list", cursor_of({"a": 1}))):
            out.append(BadQuery(f"{label} cursor on {url.split('?')[0]}{'?' + url.split('?')[1] if 'x=' not in url else ''}",
                                f"{url}&cursor={cur}", 400, "invalid_cursor", who=who))
        for limit in ("0", "1000", "-5", "abc"):
            out.append(BadQuery(f"limit={limit} on {url.split('?')[0]}", f"{url}&limit={limit}", 422,
                                "validation_failed", {"limit": None}, who=who))
    out += [
        BadQuery("text sort value in an updated_at cursor", f"/api/v1/customers?cursor={cursor_of(['abc', 1])}", 400,
                 "invalid_cursor"),
        BadQuery("text sort value in a birthday cursor",
                 f"/api/v1/customers?sort=birthday&cursor={cursor_of(['zz', 1])}", 400, "invalid_cursor"),
        BadQuery("last id beyond 64 bits in a cursor",
                 f"/api/v1/customers?cursor={cursor_of([{'dt': '2026-01-01T00:00:00+00:00'}, BIG])}", 400,
                 "invalid_cursor"),
        BadQuery("unknown filter field", "/api/v1/customers?filter=nope:eq:1", 400, "invalid_filter",
                 {"nope": "unknown_field"}),
        BadQuery("unknown custom filter field", "/api/v1/customers?filter=custom.nope:eq:1", 400, "invalid_filter",
                 {"custom.nope": "unknown_field"}),
        BadQuery("unknown filter operator", "/api/v1/customers?filter=name:like:x", 400, "invalid_filter",
                 {"name": "invalid_option"}),
        BadQuery("filter without operator", "/api/v1/customers?filter=name", 400, "invalid_filter", {"name": None}),
        BadQuery("filter with an empty field", "/api/v1/customers?filter=:eq:x", 400, "invalid_filter", {"filter": None}),
        BadQuery("text for a user filter", "/api/v1/customers?filter=owner_id:eq:abc", 400, "invalid_filter",
                 {"owner_id": "invalid_value"}),
        BadQuery("bad date filter", "/api/v1/customers?filter=created_at:gte:yesterday", 400, "invalid_filter",
                 {"created_at": "invalid_value"}),
        BadQuery("between without ..", "/api/v1/customers?filter=birthday:between:2020", 400, "invalid_filter",
                 {"birthday": "invalid_value"}),
        BadQuery("range operator on tags", "/api/v1/customers?filter=tags:gte:x", 400, "invalid_filter",
                 {"tags": "invalid_option"}),
        BadQuery("bad boolean filter", "/api/v1/customers?filter=custom.vip:eq:maybe", 400, "invalid_filter",
                 {"custom.vip": "invalid_value"}),
        BadQuery("bad number filter", "/api/v1/customers?filter=custom.num:gte:abc", 400, "invalid_filter",
                 {"custom.num": "invalid_value"}),
        BadQuery("user filter beyond 64 bits", f"/api/v1/customers?filter=owner_id:eq:{BIG}", (200, 400), None),
        BadQuery("NUL in a filter value", "/api/v1/customers?filter=name:eq:a%00b", (200, 400), None),
        BadQuery("audit user_id beyond 64 bits", f"/api/v1/audit?user_id={BIG}", (200, 422), None, who="admin"),
        BadQuery("unknown sort field", "/api/v1/customers?sort=nope", 400, "invalid_sort", {"sort": "invalid_option"}),
        BadQuery("unsortable field", "/api/v1/customers?sort=notes", 400, "invalid_sort", {"sort": "invalid_option"}),
        BadQuery("sort on tags", "/api/v1/customers?sort=-tags", 400, "invalid_sort", {"sort": "invalid_option"}),
        BadQuery("sort on a multiselect", "/api/v1/customers?sort=custom.products", 400, "invalid_sort",
                 {"sort": "invalid_option"}),
        BadQuery("sort on an unknown custom field", "/api/v1/customers?sort=custom.nope", 400, "invalid_sort",
                 {"sort": "invalid_option"}),
        BadQuery("over-long search", "/api/v1/customers?q=" + "x" * 101, 422, "validation_failed", {"q": "too_long"}),
        BadQuery("deleted=maybe", "/api/v1/customers?deleted=maybe", 422, "validation_failed", {"deleted": None}),
        # exports take the list's q/filter/sort and refuse them the same way, before anything is sent or audited
        BadQuery("export: unknown format", "/api/v1/customers/export?format=pdf", 422, "validation_failed",
                 {"format": "invalid_option"}, who="admin"),
        BadQuery("export: over-long format", "/api/v1/customers/export?format=" + "x" * 11, 422, "validation_failed",
                 {"format": "too_long"}, who="admin"),
        BadQuery("export: unknown filter field", "/api/v1/customers/export?filter=nope:eq:1", 400, "invalid_filter",
                 {"nope": "unknown_field"}, who="admin"),
        BadQuery("export: bad date filter", "/api/v1/customers/export?filter=created_at:gte:yesterday", 400,
                 "invalid_filter", {"created_at": "invalid_value"}, who="admin"),
        BadQuery("export: unknown sort field", "/api/v1/customers/export?sort=nope", 400, "invalid_sort",
                 {"sort": "invalid_option"}, who="admin"),
        BadQuery("export: over-long search", "/api/v1/customers/export?q=" + "x" * 101, 422, "validation_failed",
                 {"q": "too_long"}, who="admin"),
        BadQuery("export: without the permission", "/api/v1/customers/export?format=csv", 403, "forbidden"),
        BadQuery("vcard: customer id beyond 64 bits", f"/api/v1/customers/{BIG}/contacts/vcard", 422,
                 "validation_failed", who="admin"),
    ]
    return out


# ------------------------------------------------------------------------------------------------ sending


async def send(env: Env, who: str | None, method: str, url: str, *, json_body: Any = None, raw: bytes | None = None,
               headers: dict[str, Any] | None = None, auth: str = "ok") -> httpx.Response:
    h: dict[str, str] = {}
    if who is not None and auth != "none":
        token, csrf = env.w.tokens[who]
        h["Cookie"] = f"guanxi_session={token}; guanxi_csrf={csrf}"
        if auth == "ok":
            h["X-CSRF-Token"] = csrf
        elif auth == "bad_csrf":
            h["X-CSRF-Token"] = "not-the-token"
    for k, v in (headers or {}).items():
        if v is None:
            h.pop(k, None)
        else:
            h[k] = v
    if raw is None and (json_body is not None or method in ("POST", "PATCH")):
        raw = json.dumps(json_body, ensure_ascii=False).encode("utf-8", "surrogatepass")
    if raw is not None:
        h = {**H_JSON, **h}
    try:
        return await env.client.request(method, url, content=raw, headers=h)
    finally:
        env.client.cookies.clear()  # a login must not leave a session in the shared client's cookie jar


async def expired_session(env: Env, who: str) -> str:
    user = env.w.users[who]
    token, csrf = new_token(), new_token()
    async with env.db.session() as s:
        s.add(AuthSession(id=token_hash(token), user_id=user.id, workspace_id=env.w.workspace_id, csrf_token=csrf,
                          expires_at=utcnow() - timedelta(minutes=1)))
    key = f"expired-{who}-{next(_n)}"
    env.w.tokens[key] = (token, csrf)
    return key


async def fill_url(env: Env, url: str) -> str:
    if not any(k in url for k in ("{c}", "{ct}", "{i}", "{t}", "{nt}")):
        return url
    c = await make_customer(env.db, env.w, "sales")
    async with env.db.session() as s:
        ct = Contact(workspace_id=env.w.workspace_id, customer_id=c.id, name="王经理", phones=[], emails=[],
                     is_primary=True, version=1)
        s.add(ct)
        await s.flush()
    if "{i}" in url:
        url = url.replace("{i}", str((await make_interaction(env.db, env.w, c, "sales")).id))
    if "{t}" in url:
        url = url.replace("{t}", str((await make_task(env.db, env.w, "sales", customer=c)).id))
    if "{nt}" in url:
        url = url.replace("{nt}", str((await make_note(env.db, env.w, c, "sales")).id))
    return url.replace("{c}", str(c.id)).replace("{ct}", str(ct.id))


def check_problem(r: httpx.Response, status: int | tuple[int, ...], code: str | None,
                  errors: dict[str, str | None] | list[tuple[str, str]] | None) -> None:
    statuses = status if isinstance(status, tuple) else (status,)
    assert r.status_code in statuses, f"expected {status}, got {r.status_code}: {r.text[:400]}"
    if r.status_code < 400:
        return
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
    body = r.json()
    assert body["status"] == r.status_code and body["title"] and body["detail"]
    if code is not None:
        assert body["code"] == code, body
    got = [(e["field"], e["code"]) for e in body["errors"]]
    assert all(e["message"] for e in body["errors"]), body
    if errors is None:
        return
    if isinstance(errors, list):
        assert sorted(got) == sorted(errors), body
        return
    assert len(got) == len(set(got)), f"an error is reported twice: {got}"
    assert {f for f, _ in got} == set(errors), body
    for f, c in got:
        if errors[f] is not None:
            assert c == errors[f], body


def xfail_if_bug(request: pytest.FixtureRequest, env: Env, bug: str | None, bug_on: tuple[str, ...]) -> None:
    if bug and env.backend in bug_on:
        request.applymarker(pytest.mark.xfail(strict=True, reason=bug))


# ------------------------------------------------------------------------------------------------ the tests


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
async def test_the_valid_body_of_each_endpoint_is_accepted(env: Env, endpoint: str) -> None:
    """So that every bad case below fails because of what was changed, not because the base body is wrong."""
    who, method, url, valid = ENDPOINTS[endpoint]
    r = await send(env, who, method, await fill_url(env, url), json_body=valid(env, next(_n)),
                   headers={"If-Match": "1"} if method == "PATCH" else None)
    assert r.status_code in (200, 201), r.text


BAD = generic_cases() + specific_cases()


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in BAD])
async def test_bad_body(env: Env, case: Bad, request: pytest.FixtureRequest) -> None:
    xfail_if_bug(request, env, case.bug, case.bug_on)
    who, method, url, valid = ENDPOINTS[case.endpoint]
    if case.who != "default":
        who = case.who
    url = await fill_url(env, case.url or url)
    method = case.method or method
    if case.auth == "expired":
        assert who is not None
        who = await expired_session(env, who)
    body = case.body if case.body is not None else valid(env, next(_n))
    if case.merge:
        body = {**body, **(case.merge(env) if callable(case.merge) else case.merge)}
    headers: dict[str, Any] = {"If-Match": "1"} if method == "PATCH" else {}
    headers.update(case.headers)
    if case.prepare:
        headers.update(await case.prepare(env))

    before = await counts(env)
    if method in ("GET", "DELETE"):
        r = await send(env, who, method, url, auth=case.auth, headers=headers)
    else:
        r = await send(env, who, method, url, json_body=body, raw=case.raw, headers=headers, auth=case.auth)
    after = await counts(env)

    assert r.status_code < 500, f"server error: {r.status_code} {r.text[:300]}"
    check_problem(r, case.status, case.code, case.errors)
    if not case.writes:
        changed = {k: (before[k], v) for k, v in after.items() if before[k] != v}
        assert not changed, f"a refused request wrote rows: {changed}"


@pytest.mark.parametrize("case", [pytest.param(c, id=c.what) for c in query_cases()])
async def test_bad_query(env: Env, case: BadQuery, request: pytest.FixtureRequest) -> None:
    xfail_if_bug(request, env, case.bug, case.bug_on)
    url = await fill_url(env, case.url)
    before = await counts(env)
    r = await send(env, case.who, "GET", url)
    after = await counts(env)
    assert r.status_code < 500, f"server error: {r.status_code} {r.text[:300]}"
    check_problem(r, case.status, case.code, case.errors)
    assert after == before


async def test_replayed_idempotency_key_writes_one_customer(env: Env) -> None:
    key = f"idem-{next(_n)}"
    body = {"kind": "person", "name": f"李娜{key}"}
    before = await counts(env)
    a = await send(env, "sales", "POST", "/api/v1/customers", json_body=body, headers={"Idempotency-Key": key})
    b = await send(env, "sales", "POST", "/api/v1/customers", json_body=body, headers={"Idempotency-Key": key})
    c = await send(env, "sales", "POST", "/api/v1/customers", json_body={**body, "name": "王芳"},
                   headers={"Idempotency-Key": key})
    assert (a.status_code, b.status_code) == (201, 201) and a.json()["id"] == b.json()["id"]
    assert b.headers.get("idempotent-replayed") == "true"
    check_problem(c, 422, "idempotency_key_reused", None)
    after = await counts(env)
    assert after["customers"] == before["customers"] + 1 and after["idempotency_keys"] == before["idempotency_keys"] + 1


# ------------------------------------------------------------------------------------------------ property test

MAX_ID = 2**63 - 1
text_ = st.text(max_size=40)
scalars = (st.none() | st.booleans() | st.integers() | st.integers(-5, 50)
           | st.floats(allow_nan=False, allow_infinity=False) | text_)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text_, inner, max_size=4),
                           max_leaves=10)
phone_like = st.text(st.sampled_from("0123456789+-() "), max_size=20)
custom_values = st.dictionaries(
    st.sampled_from(["t", "num", "money", "day", "intent", "products", "vip", "am", "nope"]) | text_,
    json_values | st.sampled_from(["high", "low", "a", "2026-12-01", "120000.50", "1e20", "NaN"])
    | st.lists(st.sampled_from(["a", "b", "c"]), max_size=3),
    max_size=4,
)
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "kind": st.sampled_from(["company", "person"]) | json_values,
    "name": text_ | json_values,
    "industry": text_, "province": text_, "city": text_, "district": text_, "address": text_,
    "size": st.sampled_from(["1-20", "21-100", "1000+", "x"]) | json_values,
    "phones": st.lists(phone_like | text_, max_size=3) | json_values,
    "emails": st.lists(st.emails() | text_, max_size=3) | json_values,
    "wechat": text_ | json_values, "website": text_, "notes": text_,
    "source": st.sampled_from(["referral", "web", "nope"]) | json_values,
    "stage": st.sampled_from(["potential", "loyal", "won"]) | json_values,
    "grade": st.sampled_from(["A", "B", "E"]) | json_values,
    "tags": st.lists(text_, max_size=5) | json_values,
    "owner_id": st.integers(-MAX_ID, MAX_ID) | json_values,
    "birthday": st.dates().map(str) | text_ | json_values,
    "custom": custom_values | json_values,
    "id": json_values, "version": json_values, "team_id": json_values, "owner_name": json_values,
}
bodies = json_values | st.fixed_dictionaries({}, optional=FIELDS) | st.fixed_dictionaries(
    {"kind": st.sampled_from(["company", "person"]), "name": text_.filter(str.strip)},
    optional={k: v for k, v in FIELDS.items() if k not in ("kind", "name")})


@given(body=bodies, who=st.sampled_from(["admin", "sales", "marketing"]))
@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
async def test_random_customer_bodies_never_give_a_server_error(env: Env, body: Any, who: str) -> None:
    before = await counts(env)
    r = await send(env, who, "POST", "/api/v1/customers", json_body=body)
    assert r.status_code < 500, f"{r.status_code} for {body!r}: {r.text[:300]}"
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"]
        assert await counts(env) == before
    else:
        assert r.status_code == 201


times = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)).map(
    lambda d: d.isoformat()) | text_ | json_values
ACTIVITY_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "channel": st.sampled_from(["phone", "visit", "wechat", "nope"]) | json_values,
    "direction": st.sampled_from(["inbound", "outbound", "up"]) | json_values,
    "occurred_at": times, "next_step_at": times, "due_at": times,
    "duration_minutes": st.integers(-5, 2000) | json_values,
    "contact_ids": st.lists(st.integers(-MAX_ID, MAX_ID), max_size=3) | json_values,
    "user_id": st.integers(-MAX_ID, MAX_ID) | json_values,
    "assignee_id": st.integers(-MAX_ID, MAX_ID) | json_values,
    "subject": text_ | json_values, "summary": text_, "outcome": text_, "next_step": text_, "title": text_,
    "priority": st.sampled_from(["low", "urgent", "x"]) | json_values,
    "repeat": st.sampled_from(["none", "daily", "monthly", "x"]) | json_values,
    "remind_before_minutes": st.integers(-10, 20000) | json_values,
    "related_type": text_ | json_values, "related_id": st.integers(-MAX_ID, MAX_ID) | json_values,
    "follow_up": st.fixed_dictionaries({}, optional={"title": text_, "due_at": times,
                                                     "assignee_id": st.integers(-MAX_ID, MAX_ID)}) | json_values,
}


@given(body=st.fixed_dictionaries({}, optional=ACTIVITY_FIELDS) | json_values,
       route=st.sampled_from(["/api/v1/interactions", "/api/v1/tasks"]))
@settings(max_examples=120, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
async def test_random_activity_bodies_never_give_a_server_error(env: Env, body: Any, route: str) -> None:
    if isinstance(body, dict) and route.endswith("interactions"):
        body = {"customer_id": env.customer_id, **body}
    before = await counts(env)
    r = await send(env, "sales", "POST", route, json_body=body)
    assert r.status_code < 500, f"{r.status_code} for {body!r}: {r.text[:300]}"
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/problem+json")
        assert await counts(env) == before
