"""The demo company's history: the same on every load, believable relative to DEMO_NOW, on both databases."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from guanxi.accounts.models import User
from guanxi.activities.models import Interaction, Note, Task
from guanxi.audit.models import DomainEvent
from guanxi.customers.models import Customer
from guanxi.db import Database
from guanxi.demo.loader import DEMO_NOW, load_demo
from guanxi.kit.timeutil import day_start, local_today
from guanxi.migrate import upgrade
from guanxi.notifications.models import Notification

pytestmark = pytest.mark.anyio

N = 80


async def snapshot(url: str) -> dict[str, Any]:
    upgrade(url)
    db = Database(url, null_pool=True)
    try:
        assert await load_demo(db, N)
        async with db.session() as s:
            email = dict((await s.execute(select(User.id, User.email))).all())
            name = dict((await s.execute(select(Customer.id, Customer.name))).all())
            out = {
                "interactions": [(name[i.customer_id], i.occurred_at, i.channel, i.direction, email[i.user_id],
                                  i.subject, i.summary, i.outcome, i.next_step, len(i.contact_ids))
                                 for i in await s.scalars(select(Interaction).order_by(Interaction.id))],
                "tasks": [(t.title, t.due_at, t.status, t.completed_at, email[t.assignee_id], t.repeat, t.remind_at,
                           name[t.customer_id] if t.customer_id else None)
                          for t in await s.scalars(select(Task).order_by(Task.id))],
                "notes": [(name[n.customer_id], n.body, [email[u] for u in n.mentions])
                          for n in await s.scalars(select(Note).order_by(Note.id))],
                "notifications": [(email[n.user_id], n.kind, n.title, n.read_at is None)
                                  for n in await s.scalars(select(Notification).order_by(Notification.id))],
                "events": [(e.kind, e.at, name.get(e.customer_id)) for e in await s.scalars(
                    select(DomainEvent).order_by(DomainEvent.id))],
                "contacted": [(c.name, c.last_contacted_at) for c in await s.scalars(select(Customer).order_by(Customer.id))],
            }
        return out
    finally:
        await db.dispose()


async def test_the_demo_history_is_identical_and_believable(empty_database_url: str, tmp_path: Path) -> None:
    first = await snapshot(empty_database_url)
    if empty_database_url.startswith("sqlite"):
        again = await snapshot(f"sqlite+aiosqlite:///{tmp_path / 'again.db'}")
        assert again == first  # seeded: the same history on every load

    interactions, tasks = first["interactions"], first["tasks"]
    assert len(interactions) >= 2 * N
    assert {i[2] for i in interactions} >= {"phone", "visit", "wechat", "meeting"}
    assert all(i[1] <= DEMO_NOW for i in interactions)
    contacted = dict(first["contacted"])
    never = [n for n, at in contacted.items() if at is None]
    idle = [n for n, at in contacted.items() if at is not None and DEMO_NOW - at > timedelta(days=30)]
    recent = [n for n, at in contacted.items() if at is not None and DEMO_NOW - at <= timedelta(days=30)]
    assert never and len(idle) >= N // 8 and len(recent) >= N // 3
    for name_, at in contacted.items():  # last_contacted_at is the latest interaction
        mine = [i[1] for i in interactions if i[0] == name_]
        assert at == (max(mine) if mine else None)

    tomorrow = day_start(local_today("Asia/Shanghai", DEMO_NOW) + timedelta(days=1), "Asia/Shanghai")
    open_due = [t[1] for t in tasks if t[2] == "open"]
    assert any(d < DEMO_NOW for d in open_due), "some open tasks are overdue"
    assert any(DEMO_NOW <= d < tomorrow for d in open_due), "some are due later today"
    assert any(d >= tomorrow for d in open_due), "some are upcoming"
    assert any(t[2] == "done" and t[3] is not None for t in tasks)

    notes = first["notes"]
    assert notes and all("@[" in body and mentions for _, body, mentions in notes)
    assert {n[1] for n in first["notifications"]} >= {"mention"}

    events = first["events"]
    assert all(customer is not None for kind, _, customer in events)  # every demo event is on a timeline
    assert {k for k, _, _ in events} >= {"customer.created", "customer.updated", "interaction.created", "task.created",
                                         "task.completed", "note.created"}
    times = [at for _, at, _ in events]
    assert times == sorted(times), "ids grow with time, as the timeline expects"
