"""Loads the demo company into a database: the same workspace, people and customers every time."""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import insert, select

from guanxi.accounts import service as accounts
from guanxi.accounts.models import Team, User, Workspace
from guanxi.accounts.security import hash_password
from guanxi.activities.models import Interaction, Note, Task
from guanxi.activities.schemas import BUILTIN_CHANNELS
from guanxi.activities.service import MENTION
from guanxi.audit import service as audit
from guanxi.audit.models import AuditEntry, DomainEvent
from guanxi.customers import repository as repo
from guanxi.customers.models import Contact, Customer, CustomFieldDef, SourceChannel
from guanxi.customers.service import normalize_contact_points, with_name
from guanxi.db import Database
from guanxi.dedupe import repository as dedupe
from guanxi.dedupe.models import ContactIdentity
from guanxi.demo import activities as history_data
from guanxi.demo import data
from guanxi.kit.normalize import normalize_phone
from guanxi.kit.timeutil import zone
from guanxi.notifications.models import Notification

# a fixed "now" keeps the demo identical run after run
DEMO_NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
SHANGHAI = zone("Asia/Shanghai")


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
                                       label_en=f.get("label_en"),
                                       type=f["type"], options=f.get("options", []), required=False, position=i))
        for ch in data.CUSTOM_SOURCES:
            session.add(SourceChannel(workspace_id=ws.id, key=ch["key"], label=ch["label"]))
        await session.flush()
        admin = next(u for u in users.values() if u.role_id == roles["admin"])

        rows = data.demo_rows(n_customers) if n_customers else []
        log = Log()
        progress = Progress(console=console, transient=True, disable=console is None)
        with progress:
            task = progress.add_task("Demo customers", total=len(rows))
            for i, row in enumerate(rows):
                await _add_customer(session, ws.id, row, users, admin, log)
                if i % 200 == 199:
                    await session.flush()
                progress.advance(task)
        await log.write(session)
        await session.flush()
        await _contact_identities(session, ws.id)
        await dedupe.rebuild(session, ws.id)
        return True


async def _contact_identities(session: Any, ws_id: int) -> None:
    """Contacts were added in bulk: their identities in one go."""
    rows = (await session.execute(select(Contact.id, Contact.customer_id, Contact.name, Contact.phones,
                                         Contact.emails).where(Contact.workspace_id == ws_id))).all()
    values = [{"workspace_id": ws_id, "contact_id": cid, "kind": k, "value": v}
              for cid, customer_id, name, phones, emails in rows
              for k, v in dedupe.contact_identities(customer_id, name, phones or [], emails or [])]
    for start in range(0, len(values), 1000):
        await session.execute(insert(ContactIdentity), values[start:start + 1000])


class Log:
    """Domain events and audit rows of the whole demo, written at the end in time order, so that ids grow with
    time as they do when people work: the timeline is ordered by event id."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.audit: list[dict[str, Any]] = []

    def change(self, ws_id: int, at: datetime, actor: Any, action: str, record_type: str, record_id: int, label: str,
               changes: list[dict[str, Any]], customer_id: int, *, audit_row: bool = True) -> None:
        plain = audit._plain(changes)
        self.events.append({"workspace_id": ws_id, "at": at, "kind": f"{record_type}.{audit.past(action)}",
                            "record_type": record_type, "record_id": record_id, "actor_id": actor.id,
                            "customer_id": customer_id, "payload": {"label": label, "changes": plain}})
        if audit_row:
            self.audit.append({"workspace_id": ws_id, "at": at, "user_id": actor.id, "user_name": actor.name,
                           "action": action, "record_type": record_type, "record_id": record_id,
                               "record_label": label[:200], "changes": {"items": plain}})

    async def write(self, session: Any) -> None:
        for model, rows in ((DomainEvent, self.events), (AuditEntry, self.audit)):
            rows.sort(key=lambda r: (r["at"], r["record_type"] != "customer"))
            for start in range(0, len(rows), 1000):
                await session.execute(insert(model), rows[start:start + 1000])


async def _add_customer(session: Any, ws_id: int, row: dict[str, Any], users: dict[str, Any], admin: Any,
                        log: Log) -> None:
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
    identities = with_name(c, identities)
    await repo.replace_identities(session, c, identities)
    await repo.index_search(session, c, identities)
    actor = owner or admin
    audit.record(session, workspace_id=ws_id, action="create", record_type="customer", record_id=c.id, label=c.name,
                 changes=[{"field": "name", "old": None, "new": c.name}], user_id=actor.id, user_name=actor.name)
    contacts: list[Contact] = []
    for ct in row.get("contacts") or []:
        cerr: list[Any] = []
        cp, ce, _ = normalize_contact_points(ct.get("phones"), ct.get("emails"), cerr)
        b = ct.get("birthday")
        contacts.append(Contact(workspace_id=ws_id, customer_id=c.id, created_by=actor.id, created_at=when,
                                updated_at=when, version=1, name=ct["name"], title=ct.get("title"), phones=cp,
                                emails=ce, wechat=ct.get("wechat"),
                                birthday=date.fromisoformat(b) if isinstance(b, str) else b,
                                is_primary=bool(ct.get("is_primary")), notes=ct.get("notes")))
    session.add_all(contacts)
    log.change(ws_id, when, actor, "create", "customer", c.id, c.name, [{"field": "name", "old": None, "new": c.name}],
               c.id, audit_row=False)  # its audit row is written above
    await _add_history(session, ws_id, c, contacts, row, users, log)


def _at(days_ago: float) -> datetime:
    return (DEMO_NOW - timedelta(days=days_ago)).replace(second=0, microsecond=0)


async def _add_history(session: Any, ws_id: int, c: Customer, contacts: list[Contact], row: dict[str, Any],
                       users: dict[str, Any], log: Log) -> None:
    """Interactions, follow-up tasks, notes with @mentions and the notifications they made (see demo/activities)."""
    h = history_data.history(row)
    if not h.interactions and not h.tasks:
        return
    if contacts:
        await session.flush()
    owner = users.get(row.get("owner") or "") or next(iter(users.values()))
    interactions: list[Interaction] = []
    for x in h.interactions:
        user = users[x.user]
        at = max(_at(x.days_ago), c.created_at + timedelta(minutes=30))  # never before the customer was entered
        logged = min(DEMO_NOW, at + timedelta(minutes=10 + int(x.days_ago * 37) % 50))
        interactions.append(Interaction(
            workspace_id=ws_id, customer_id=c.id, channel=x.channel, direction=x.direction, occurred_at=at,
            duration_minutes=x.duration, user_id=user.id, subject=x.subject, summary=x.summary, outcome=x.outcome,
            next_step=x.next_step, contact_ids=[contacts[x.contact].id] if x.contact is not None else [],
            created_by=user.id, created_at=logged, updated_at=logged, version=1))
    session.add_all(interactions)
    tasks: list[Task] = []
    for t in h.tasks:
        due = _at(t.due_days_ago)
        follows = interactions[t.after] if t.after is not None else None
        created = follows.created_at if follows is not None else max(c.created_at, min(DEMO_NOW, due - timedelta(days=30)))
        assignee, by = users[t.user], users[t.by]
        remind_at = due - timedelta(minutes=t.remind_before) if t.remind_before is not None else None
        done = _at(t.done_days_ago) if t.done_days_ago is not None else None
        tasks.append(Task(
            workspace_id=ws_id, customer_id=c.id, title=t.title, due_at=due, assignee_id=assignee.id,
            team_id=assignee.team_id, priority=t.priority, status="done" if done else "open", completed_at=done,
            remind_before_minutes=t.remind_before, remind_at=remind_at,
            reminded_at=remind_at if remind_at is not None and done is None and remind_at < DEMO_NOW else None,
            repeat=t.repeat, repeat_day=due.astimezone(SHANGHAI).day if t.repeat == "monthly" else None,
            created_by=by.id, created_at=created, updated_at=done or created, version=2 if done else 1))
        if follows is not None and done is None:
            follows.next_step_at = due
    session.add_all(tasks)
    await session.flush()
    for t, task in zip(h.tasks, tasks, strict=True):
        if t.after is not None:
            task.related_type, task.related_id = "interaction", interactions[t.after].id

    stage = "potential"
    for x, i in zip(h.interactions, interactions, strict=True):
        user = users[x.user]
        label = f"{c.name} · {BUILTIN_CHANNELS[i.channel][0]} · {i.subject}"
        log.change(ws_id, i.created_at, user, "create", "interaction", i.id, label,
                   [{"field": f, "old": None, "new": getattr(i, f)} for f in ("channel", "occurred_at", "subject")],
                   c.id)
        if x.stage_to and x.stage_to != stage:
            moved = i.created_at + timedelta(minutes=1)
            log.change(ws_id, moved, owner, "update", "customer", c.id, c.name,
                       [{"field": "stage", "old": stage, "new": x.stage_to}], c.id)
            stage = x.stage_to
            # the stage change is an edit of the customer: the list's "recently updated" order shows it
            c.updated_at, c.version = max(c.updated_at, moved), c.version + 1
    c.last_contacted_at = max((i.occurred_at for i in interactions), default=None)

    for t, task in zip(h.tasks, tasks, strict=True):
        by, assignee = users[t.by], users[t.user]
        log.change(ws_id, task.created_at, by, "create", "task", task.id, task.title,
                   [{"field": "title", "old": None, "new": task.title}, {"field": "due_at", "old": None,
                                                                         "new": task.due_at}], c.id)
        if task.completed_at is not None:
            log.change(ws_id, task.completed_at, assignee, "complete", "task", task.id, task.title,
                       [{"field": "status", "old": "open", "new": "done"}], c.id)
        if by.id != assignee.id:
            title = task.title
            session.add(Notification(
                workspace_id=ws_id, user_id=assignee.id, kind="task_assigned", actor_id=by.id, link=f"/tasks/{task.id}",
                record_type="task", record_id=task.id, created_at=task.created_at,
                read_at=task.created_at + timedelta(hours=2) if task.created_at < DEMO_NOW - timedelta(days=3) else None,
                title=(f"{by.name} assigned you a task: {title}" if assignee.language == "en"
                       else f"{by.name} 给你分配了待办：{title}")))

    for n in h.notes:
        author = users[n.author]
        body = n.body
        for key in n.mentions:
            body = body.replace("{@" + key + "}", f"@[{users[key].name}](user:{users[key].id})")
        at = _at(n.days_ago)
        note = Note(workspace_id=ws_id, customer_id=c.id, body=body, mentions=[users[k].id for k in n.mentions],
                    created_by=author.id, created_at=at, updated_at=at, version=1)
        session.add(note)
        await session.flush()
        log.change(ws_id, at, author, "create", "note", note.id, f"{c.name} · {body[:40]}",
                   [{"field": "body", "old": None, "new": body}], c.id)
        for key in n.mentions:
            who = users[key]
            if who.id == author.id:
                continue
            session.add(Notification(
                workspace_id=ws_id, user_id=who.id, kind="mention", actor_id=author.id, link=f"/customers/{c.id}",
                record_type="note", record_id=note.id, created_at=at, body=MENTION.sub(lambda m: "@" + m[1], body),
                read_at=at + timedelta(hours=1) if n.days_ago > 7 else None,
                title=(f"{author.name} mentioned you in a note on {c.name}" if who.language == "en"
                       else f"{author.name} 在「{c.name}」的备注中提到了你")))
