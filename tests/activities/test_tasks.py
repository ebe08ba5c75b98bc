"""Tasks: assignment and its notification, scope, buckets in the caller's time zone, repeats, my work."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from guanxi.accounts.models import User
from guanxi.activities.models import Task
from guanxi.kit.models import utcnow
from guanxi.notifications.models import Notification
from tests.fixtures.factories import call, make_customer, make_task, make_world

pytestmark = pytest.mark.anyio


def iso(dt):
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def notifications_of(db, user_id):
    async with db.session() as s:
        return list(await s.scalars(select(Notification).where(Notification.user_id == user_id)
                                    .order_by(Notification.id)))


async def test_create_defaults_and_assignment_notifies(client, db):
    w = await make_world(db)
    c = await make_customer(db, w, "sales")
    due = utcnow() + timedelta(days=3)
    r = await call(client, w, "sales", "POST", "/api/v1/tasks", json={
        "title": "准备报价单", "due_at": iso(due), "customer_id": c.id, "remind_before_minutes": 60,
        "priority": "high"})
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["assignee_id"] == w.users["sales"].id and t["team_id"] == w.teams["a"]
    assert t["status"] == "open" and t["priority"] == "high" and t["repeat"] == "none" and t["overdue"] is False
    assert t["customer_name"] == c.name and t["assignee_name"] == w.users["sales"].name
    assert datetime.fromisoformat(t["remind_at"]) == datetime.fromisoformat(t["due_at"]) - timedelta(minutes=60)
    assert t["reminded_at"] is None
    assert await notifications_of(db, w.users["sales"].id) == []  # nobody is notified of their own task

    # the manager gives a task to a team member: they hear of it, in their language
    r = await call(client, w, "manager", "POST", "/api/v1/tasks", json={
        "title": "跟进续费", "due_at": iso(due), "customer_id": c.id, "assignee_id": w.users["sales"].id})
    assert r.status_code == 201, r.text
    assert r.json()["team_id"] == w.teams["a"]
    [n] = await notifications_of(db, w.users["sales"].id)
    assert n.kind == "task_assigned" and n.link == f"/tasks/{r.json()['id']}" and "跟进续费" in n.title
    assert n.actor_id == w.users["manager"].id

    # reassigning notifies the new assignee and moves the team along; they must be able to see the customer
    tid = r.json()["id"]
    r = await call(client, w, "manager", "PATCH", f"/api/v1/tasks/{tid}", json={"assignee_id": w.users["subteam"].id},
                   headers={"If-Match": '"1"'})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "assignee_cannot_see"
    r = await call(client, w, "manager", "PATCH", f"/api/v1/tasks/{tid}",
                   json={"assignee_id": w.users["subteam"].id, "customer_id": None}, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.json()["team_id"] == w.teams["a1"] and r.json()["version"] == 2
    assert len(await notifications_of(db, w.users["subteam"].id)) == 1


async def test_bad_assignees_and_customers(client, db):
    w, w2 = await make_world(db), await make_world(db)
    mine = await make_customer(db, w, "sales")
    hidden = await make_customer(db, w, "other_team")
    due = iso(utcnow() + timedelta(days=1))

    async def post(body, who="sales"):
        r = await call(client, w, who, "POST", "/api/v1/tasks", json={"title": "回访", "due_at": due, **body})
        return r.status_code, r.json()

    status, body = await post({"assignee_id": w2.users["sales"].id})
    assert status == 422 and body["errors"][0] == {"field": "assignee_id", "code": "invalid_user",
                                                   "message": "用户不存在"}
    status, body = await post({"customer_id": hidden.id})
    assert status == 404 and body["code"] == "not_found"  # an invisible customer is not found, not forbidden
    # the teammate (own scope) would never see a task on a customer owned by sales
    status, body = await post({"customer_id": mine.id, "assignee_id": w.users["teammate"].id})
    assert status == 422 and body["errors"][0]["code"] == "assignee_cannot_see"
    status, body = await post({"customer_id": mine.id, "assignee_id": w.users["manager"].id})
    assert status == 201
    async with db.session() as s:
        await s.execute(update(User).where(User.id == w.users["teammate"].id).values(active=False))
    status, body = await post({"assignee_id": w.users["teammate"].id}, who="manager")
    assert status == 422 and body["errors"][0]["code"] == "invalid_user"
    status, body = await post({"priority": "asap", "repeat": "yearly", "remind_before_minutes": 20000})
    assert status == 422
    assert {e["field"] for e in body["errors"]} == {"priority", "repeat", "remind_before_minutes"}
    status, body = await post({"related_type": "opportunity"})
    assert status == 422 and body["errors"][0]["field"] == "related_id"
    status, body = await post({"team_id": 1})
    assert status == 422 and body["code"] == "read_only_field"
    status, body = await post({}, who="marketing")
    assert status == 403


async def test_scope_sales_manager_and_other_workspaces(client, db):
    w, w2 = await make_world(db), await make_world(db)
    own = await make_task(db, w, "sales")
    teammate = await make_task(db, w, "teammate")
    subteam = await make_task(db, w, "subteam")
    other_team = await make_task(db, w, "other_team")
    # assigned to sales, but about a customer sales cannot see: invisible to sales
    hidden_customer = await make_task(db, w, "sales", customer=await make_customer(db, w, "other_team"))
    foreign = await make_task(db, w2, "sales")

    async def seen(who, q=""):
        r = await call(client, w, who, "GET", f"/api/v1/tasks?limit=200{q}")
        assert r.status_code == 200, r.text
        return {x["id"] for x in r.json()["items"]}

    assert await seen("sales") == {own.id}
    assert await seen("manager") == {teammate.id, subteam.id, own.id}
    assert await seen("manager", "&mine=true") == set()
    assert await seen("admin") == {own.id, teammate.id, subteam.id, other_team.id, hidden_customer.id}
    assert foreign.id not in await seen("admin")
    for tid in (teammate.id, hidden_customer.id, foreign.id):
        assert (await call(client, w, "sales", "GET", f"/api/v1/tasks/{tid}")).status_code == 404
    assert (await call(client, w, "manager", "GET", f"/api/v1/tasks/{other_team.id}")).status_code == 404


async def test_edit_complete_reopen_bin_restore(client, db):
    w = await make_world(db)
    t = await make_task(db, w, "sales", remind_before_minutes=15, due_at=utcnow() + timedelta(days=1))
    url = f"/api/v1/tasks/{t.id}"
    r = await call(client, w, "sales", "PATCH", url, json={"title": "新标题"})
    assert r.status_code == 428
    r = await call(client, w, "sales", "PATCH", url, json={"title": "新标题"}, headers={"If-Match": '"3"'})
    assert r.status_code == 412
    later = utcnow() + timedelta(days=5)
    r = await call(client, w, "sales", "PATCH", url, json={"due_at": iso(later), "remind_before_minutes": 120},
                   headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert datetime.fromisoformat(r.json()["remind_at"]) == datetime.fromisoformat(r.json()["due_at"]) - timedelta(hours=2)
    r = await call(client, w, "sales", "POST", f"{url}/complete")
    assert r.status_code == 200 and r.json()["task"]["status"] == "done" and r.json()["next"] is None
    assert r.json()["task"]["completed_at"] is not None and r.headers["etag"] == '"3"'
    again = await call(client, w, "sales", "POST", f"{url}/complete")
    assert again.json()["task"]["version"] == 3  # completing a done task changes nothing
    r = await call(client, w, "sales", "POST", f"{url}/reopen")
    assert r.json()["status"] == "open" and r.json()["completed_at"] is None
    r = await call(client, w, "sales", "PATCH", url, json={"status": "cancelled"}, headers={"If-Match": '"4"'})
    assert r.json()["status"] == "cancelled"
    assert (await call(client, w, "sales", "DELETE", url)).status_code == 204
    assert (await call(client, w, "sales", "GET", url)).status_code == 404
    binned = (await call(client, w, "sales", "GET", "/api/v1/tasks?deleted=true")).json()["items"]
    assert [x["id"] for x in binned] == [t.id]
    assert (await call(client, w, "sales", "POST", f"{url}/restore")).status_code == 200
    assert (await call(client, w, "service", "DELETE", url)).status_code == 403
    hist = (await call(client, w, "admin", "GET", "/api/v1/audit?record_type=task")).json()["items"]
    assert [h["action"] for h in hist] == ["restore", "delete", "update", "reopen", "complete", "update"]


async def test_monthly_repeat_keeps_the_day_clamped_to_month_end(client, db):
    w = await make_world(db)
    shanghai = ZoneInfo("Asia/Shanghai")
    # the 31st at 09:00 in Shanghai, which is still the 31st in UTC; years ahead so it never rolls past "now"
    due = datetime(2031, 1, 31, 9, 0, tzinfo=shanghai)
    r = await call(client, w, "sales", "POST", "/api/v1/tasks", json={"title": "月度回访", "due_at": iso(due),
                                                                        "repeat": "monthly", "remind_before_minutes": 30})
    tid = r.json()["id"]
    dues = []
    for _ in range(4):
        r = await call(client, w, "sales", "POST", f"/api/v1/tasks/{tid}/complete")
        assert r.status_code == 200, r.text
        nxt = r.json()["next"]
        assert nxt["status"] == "open" and nxt["previous_id"] == tid and nxt["repeat"] == "monthly"
        local = datetime.fromisoformat(nxt["due_at"]).astimezone(shanghai)
        dues.append((local.month, local.day, local.hour))
        assert datetime.fromisoformat(nxt["remind_at"]) == datetime.fromisoformat(nxt["due_at"]) - timedelta(minutes=30)
        tid = nxt["id"]
    assert dues == [(2, 28, 9), (3, 31, 9), (4, 30, 9), (5, 31, 9)]

    # done, reopened, done again: still one next occurrence
    r = await call(client, w, "sales", "POST", f"/api/v1/tasks/{tid}/complete")
    assert r.json()["next"] is not None
    r = await call(client, w, "sales", "POST", f"/api/v1/tasks/{tid}/reopen")
    assert r.json()["status"] == "open"
    r = await call(client, w, "sales", "POST", f"/api/v1/tasks/{tid}/complete")
    assert r.json()["next"] is None
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Task).where(Task.previous_id == tid)) == 1


async def test_monthly_repeat_in_local_time_across_the_utc_date_line(client, db):
    w = await make_world(db)
    shanghai = ZoneInfo("Asia/Shanghai")
    due = datetime(2031, 3, 31, 1, 30, tzinfo=shanghai)  # 2031-03-30 17:30 UTC
    r = await call(client, w, "sales", "POST", "/api/v1/tasks", json={"title": "月报", "due_at": iso(due),
                                                                        "repeat": "monthly"})
    nxt = (await call(client, w, "sales", "POST", f"/api/v1/tasks/{r.json()['id']}/complete")).json()["next"]
    local = datetime.fromisoformat(nxt["due_at"]).astimezone(shanghai)
    assert (local.month, local.day, local.hour, local.minute) == (4, 30, 1, 30)


async def test_daily_and_weekly_repeats_skip_to_the_future(client, db):
    w = await make_world(db)
    for repeat, step in (("daily", 1), ("weekly", 7)):
        due = utcnow() - timedelta(days=20, hours=1)
        r = await call(client, w, "sales", "POST", "/api/v1/tasks", json={"title": repeat, "due_at": iso(due),
                                                                            "repeat": repeat})
        nxt = (await call(client, w, "sales", "POST", f"/api/v1/tasks/{r.json()['id']}/complete")).json()["next"]
        nd = datetime.fromisoformat(nxt["due_at"])
        assert utcnow() < nd <= utcnow() + timedelta(days=step)
        assert (nd - due).total_seconds() % 86400 == 0  # same time of day


async def test_buckets_and_my_work_in_the_callers_time_zone(client, db):
    w = await make_world(db)
    tz = ZoneInfo("America/Los_Angeles")
    async with db.session() as s:
        await s.execute(update(User).where(User.id == w.users["sales"].id).values(timezone="America/Los_Angeles"))
    now = utcnow()
    end_of_today = datetime.combine(now.astimezone(tz).date() + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    if end_of_today - now < timedelta(minutes=10):
        pytest.skip("too close to midnight in Los Angeles to place a task later today")
    overdue = await make_task(db, w, "sales", due_at=now - timedelta(hours=3))
    today = await make_task(db, w, "sales", due_at=now + (end_of_today - now) / 2)
    upcoming = await make_task(db, w, "sales", due_at=end_of_today + timedelta(hours=1))
    await make_task(db, w, "sales", due_at=now - timedelta(days=2), status="done")
    teammate_overdue = await make_task(db, w, "teammate", due_at=now - timedelta(days=1))

    async def bucket(name, who="sales"):
        r = await call(client, w, who, "GET", f"/api/v1/tasks?bucket={name}")
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()["items"]]

    assert await bucket("overdue") == [overdue.id]
    assert await bucket("today") == [today.id]
    assert await bucket("upcoming") == [upcoming.id]
    work = (await call(client, w, "sales", "GET", "/api/v1/my-work")).json()
    assert work["scope"] == "mine" and work["time_zone"] == "America/Los_Angeles"
    assert {k: [x["id"] for x in work[k]["items"]] for k in ("overdue", "today", "upcoming")} == {
        "overdue": [overdue.id], "today": [today.id], "upcoming": [upcoming.id]}
    assert work["overdue"]["count"] == 1 and work["overdue"]["items"][0]["overdue"] is True
    team = (await call(client, w, "manager", "GET", "/api/v1/my-work?scope=team")).json()
    assert [x["id"] for x in team["overdue"]["items"]] == [teammate_overdue.id, overdue.id]
    mine = (await call(client, w, "manager", "GET", "/api/v1/my-work")).json()
    assert mine["overdue"]["count"] == 0
    r = await call(client, w, "sales", "GET", "/api/v1/my-work?scope=everyone")
    assert r.status_code == 422


async def test_idempotent_create(client, db):
    w = await make_world(db)
    body = {"title": "打电话", "due_at": iso(utcnow() + timedelta(days=1))}
    h = {"Idempotency-Key": "t-1"}
    a = await call(client, w, "sales", "POST", "/api/v1/tasks", json=body, headers=h)
    b = await call(client, w, "sales", "POST", "/api/v1/tasks", json=body, headers=h)
    assert a.json()["id"] == b.json()["id"] and b.headers["idempotent-replayed"] == "true"
    c = await call(client, w, "sales", "POST", "/api/v1/tasks", json={**body, "title": "发邮件"}, headers=h)
    assert c.status_code == 422 and c.json()["code"] == "idempotency_key_reused"


async def test_team_change_moves_the_users_tasks(client, db):
    w = await make_world(db)
    t = await make_task(db, w, "teammate")
    r = await call(client, w, "admin", "PATCH", f"/api/v1/users/{w.users['teammate'].id}", json={"team_id": w.teams["b"]})
    assert r.status_code == 200, r.text
    async with db.session() as s:
        assert await s.scalar(select(Task.team_id).where(Task.id == t.id)) == w.teams["b"]
    assert (await call(client, w, "manager", "GET", f"/api/v1/tasks/{t.id}")).status_code == 404
