"""Loads the demo company into a database: the same workspace, people and customers every time."""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import select

from guanxi.accounts import service as accounts
from guanxi.accounts.models import Team, User, Workspace
from guanxi.accounts.security import hash_password
from guanxi.audit import service as audit
from guanxi.customers import repository as repo
from guanxi.customers.models import Contact, Customer, CustomFieldDef, SourceChannel
from guanxi.customers.service import normalize_contact_points
from guanxi.db import Database
from guanxi.demo import data
from guanxi.kit.normalize import normalize_phone

# a fixed "now" keeps the demo identical run after run
DEMO_NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


async def load_demo(db: Database, n_customers: int = 360, *, if_empty: bool = False, console: Console | None = None) -> bool:
    async with db.session() as session:
        existing = await session.scalar(select(Workspace.id).where(Workspace.slug == data.WORKSPACE["slug"]))
        if existing is not None:
            if if_empty:
                return False
            raise SystemExit("The demo workspace already exists; use a fresh database or --if-empty.")
        ws = await accounts.create_workspace(session, data.WORKSPACE["name"], data.WORKSPACE["slug"])
        roles = {r: (await accounts.role_by_key(session, ws.id, r)).id for r in
                 ("admin", "manager", "sales", "service", "marketing", "readonly")}
        teams: dict[str, Team] = {}
        for t in data.TEAMS:  # parents come first in TEAMS
            parent = teams[t["parent"]] if t["parent"] else None
            team = Team(workspace_id=ws.id, name=t["name"], parent_id=parent.id if parent else None,
                        path=f"{parent.path}{parent.id}/" if parent else "/")
            session.add(team)
            await session.flush()
            teams[t["key"]] = team
        pw = hash_password(data.DEMO_PASSWORD)
        users: dict[str, Any] = {}
        for u in data.USERS:
            user = User(workspace_id=ws.id, email=u["email"], mobile=normalize_phone(u["mobile"])[1] if u.get("mobile") else None,
                        name=u["name"], password_hash=pw, language=u.get("language", "zh-CN"),
                        timezone=u.get("timezone", "Asia/Shanghai"), active=True, role_id=roles[u["role"]],
                        team_id=teams[u["team"]].id if u.get("team") else None)
            session.add(user)
            await session.flush()
            users[u["key"]] = user
        for t in data.TEAMS:
            if t.get("manager"):
                teams[t["key"]].manager_id = users[t["manager"]].id
        for i, f in enumerate(data.CUSTOM_FIELDS):
            session.add(CustomFieldDef(workspace_id=ws.id, entity="customer", key=f["key"], label=f["label"],
                                       type=f["type"], options=f.get("options", []), required=False, position=i))
        for ch in data.CUSTOM_SOURCES:
            session.add(SourceChannel(workspace_id=ws.id, key=ch["key"], label=ch["label"]))
        await session.flush()
        admin = next(u for u in users.values() if u.role_id == roles["admin"])

        rows = data.customers(n_customers) if n_customers else []
        progress = Progress(console=console, transient=True, disable=console is None)
        with progress:
            task = progress.add_task("Demo customers", total=len(rows))
            for i, row in enumerate(rows):
                await _add_customer(session, ws.id, row, users, admin)
                if i % 200 == 199:
                    await session.flush()
                progress.advance(task)
        return True


async def _add_customer(session: Any, ws_id: int, row: dict[str, Any], users: dict[str, Any], admin: Any) -> None:
    errors: list[Any] = []
    phones, emails, identities = normalize_contact_points(row.get("phones"), row.get("emails"), errors)
    owner = users.get(row.get("owner") or "")
    when = DEMO_NOW - timedelta(days=int(row.get("created_days_ago", 0)), hours=zlib.crc32(row["name"].encode()) % 9)
    updated = min(DEMO_NOW, when + timedelta(days=int(row.get("created_days_ago", 0)) // 3))
    custom = dict(row.get("custom") or {})
    for k, v in list(custom.items()):
        if isinstance(v, str) and v in users:  # user-type custom fields carry user keys in the data file
            custom[k] = users[v].id
    birthday = row.get("birthday")
    c = Customer(
        workspace_id=ws_id, created_by=(owner or admin).id, created_at=when, updated_at=updated, version=1,
        kind=row["kind"], name=row["name"], industry=row.get("industry"), size=row.get("size"),
        province=row.get("province"), city=row.get("city"), district=row.get("district"), address=row.get("address"),
        phones=phones, emails=emails, wechat=row.get("wechat"), website=row.get("website"), source=row.get("source"),
        stage=row.get("stage") or "potential", grade=row.get("grade"), tags=list(row.get("tags") or []),
        owner_id=owner.id if owner else None, team_id=owner.team_id if owner else None,
        birthday=date.fromisoformat(birthday) if isinstance(birthday, str) else birthday, notes=row.get("notes"),
        custom=custom,
    )
    session.add(c)
    await session.flush()
    await repo.replace_identities(session, c, identities)
    await repo.index_search(session, c, identities)
    actor = owner or admin
    audit.record(session, workspace_id=ws_id, action="create", record_type="customer", record_id=c.id, label=c.name,
                 changes=[{"field": "name", "old": None, "new": c.name}], user_id=actor.id, user_name=actor.name)
    for ct in row.get("contacts") or []:
        cerr: list[Any] = []
        cp, ce, _ = normalize_contact_points(ct.get("phones"), ct.get("emails"), cerr)
        b = ct.get("birthday")
        session.add(Contact(workspace_id=ws_id, customer_id=c.id, created_by=actor.id, created_at=when,
                            updated_at=when, version=1, name=ct["name"], title=ct.get("title"), phones=cp, emails=ce,
                            wechat=ct.get("wechat"), birthday=date.fromisoformat(b) if isinstance(b, str) else b,
                            is_primary=bool(ct.get("is_primary")), notes=ct.get("notes")))
