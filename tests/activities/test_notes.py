"""Notes with @mentions, and the notifications they (and task assignments) make."""

import pytest
from sqlalchemy import func, select, update

from guanxi.accounts.models import User
from guanxi.activities.models import Note
from guanxi.notifications.models import Notification
from tests.fixtures.factories import call, make_customer, make_note, make_world

pytestmark = pytest.mark.anyio


def token(w, who):
    return f"@[{w.users[who].name}](user:{w.users[who].id})"


async def counts(db, w):
    async with db.session() as s:
        return (await s.scalar(select(func.count()).select_from(Note).where(Note.workspace_id == w.workspace_id)),
                await s.scalar(select(func.count()).select_from(Notification)
                               .where(Notification.workspace_id == w.workspace_id)))


async def test_mentions_notify_the_mentioned_not_the_author(client, db):
    w = await make_world(db, language="zh-CN")
    c = await make_customer(db, w, "sales", name="苏州顺达物流有限公司")
    async with db.session() as s:
        await s.execute(update(User).where(User.id == w.users["manager"].id).values(language="en"))
    body = f"{token(w, 'manager')} 请帮忙看下报价，{token(w, 'sales')} 自己也记一下。"
    r = await call(client, w, "sales", "POST", f"/api/v1/customers/{c.id}/notes",
                   json={"body": body, "mentions": [w.users["admin"].id]})
    assert r.status_code == 201, r.text
    note = r.json()
    assert note["mentions"] == [w.users["manager"].id, w.users["sales"].id, w.users["admin"].id]
    assert [m["name"] for m in note["mentioned"]] == [w.users[k].name for k in ("manager", "sales", "admin")]
    assert note["author_id"] == w.users["sales"].id and note["can_edit"] is True

    inbox = (await call(client, w, "manager", "GET", "/api/v1/notifications")).json()["items"]
    assert len(inbox) == 1
    n = inbox[0]
    assert n["kind"] == "mention" and n["link"] == f"/customers/{c.id}/notes/{note['id']}" and n["record_type"] == "note"
    assert n["title"] == f"{w.users['sales'].name} mentioned you in a note on 苏州顺达物流有限公司"  # their language
    assert n["body"].startswith(f"@{w.users['manager'].name} 请帮忙看下报价")
    assert n["actor_name"] == w.users["sales"].name and n["read_at"] is None
    admin_inbox = (await call(client, w, "admin", "GET", "/api/v1/notifications")).json()["items"]
    assert "提到了你" in admin_inbox[0]["title"]
    assert (await call(client, w, "sales", "GET", "/api/v1/notifications")).json()["items"] == []

    # an edit notifies only colleagues mentioned for the first time
    r = await call(client, w, "sales", "PATCH", f"/api/v1/customers/{c.id}/notes/{note['id']}",
                   json={"body": body + " " + token(w, "service")}, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert w.users["admin"].id in r.json()["mentions"]  # the explicit mention survives an edit of the body
    assert len((await call(client, w, "manager", "GET", "/api/v1/notifications")).json()["items"]) == 1
    assert len((await call(client, w, "service", "GET", "/api/v1/notifications")).json()["items"]) == 1


async def test_bad_mentions_write_nothing(client, db):
    w, w2 = await make_world(db), await make_world(db)
    c = await make_customer(db, w, "sales")
    before = await counts(db, w)

    async def post(body, who="sales"):
        r = await call(client, w, who, "POST", f"/api/v1/customers/{c.id}/notes", json=body)
        return r.status_code, r.json()

    status, body = await post({"body": "看一下", "mentions": [w2.users["admin"].id]})
    assert status == 422 and body["errors"][0]["field"] == "mentions.0" and body["errors"][0]["code"] == "invalid_user"
    status, body = await post({"body": f"@[别人](user:{w2.users['admin'].id}) 看一下"})
    assert status == 422 and body["errors"][0] == {"field": "body", "code": "invalid_user", "message": "用户不存在"}
    status, body = await post({"body": "@[大数](user:99999999999999999999) 看一下"})
    assert status == 422 and body["errors"][0]["code"] == "invalid_user"
    # other_team (own scope) cannot open this customer: mentioning them would leak the note
    status, body = await post({"body": "看一下", "mentions": [w.users["other_team"].id]})
    assert status == 422 and body["errors"][0]["code"] == "mention_cannot_see"
    status, body = await post({"body": "   "})
    assert status == 422
    status, body = await post({"body": "x" * 10_001})
    assert status == 422 and body["errors"][0]["code"] == "too_long"
    status, body = await post({"body": "看一下", "mentions": "admin"})
    assert status == 422 and body["errors"][0]["code"] == "invalid_type"
    status, body = await post({"body": "看一下"}, who="marketing")
    assert status == 403
    hidden = await make_customer(db, w, "other_team")
    r = await call(client, w, "sales", "POST", f"/api/v1/customers/{hidden.id}/notes", json={"body": "x"})
    assert r.status_code == 404
    assert (await call(client, w, "sales", "GET", f"/api/v1/customers/{hidden.id}/notes")).status_code == 404
    assert await counts(db, w) == before


async def test_only_the_author_or_an_admin_edits(client, db):
    w = await make_world(db)
    c = await make_customer(db, w, "sales")
    note = await make_note(db, w, c, "sales")
    url = f"/api/v1/customers/{c.id}/notes/{note.id}"
    listed = (await call(client, w, "manager", "GET", f"/api/v1/customers/{c.id}/notes")).json()["items"]
    assert [(x["id"], x["can_edit"]) for x in listed] == [(note.id, False)]
    r = await call(client, w, "manager", "PATCH", url, json={"body": "改"}, headers={"If-Match": "1"})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert (await call(client, w, "manager", "DELETE", url)).status_code == 403
    r = await call(client, w, "admin", "PATCH", url, json={"body": "管理员修正"}, headers={"If-Match": "1"})
    assert r.status_code == 200 and r.json()["body"] == "管理员修正"
    r = await call(client, w, "sales", "PATCH", url, json={"body": "再改"}, headers={"If-Match": "1"})
    assert r.status_code == 412
    r = await call(client, w, "sales", "PATCH", url, json={"body": "再改"})
    assert r.status_code == 428
    assert (await call(client, w, "sales", "DELETE", url)).status_code == 204
    assert (await call(client, w, "sales", "GET", f"/api/v1/customers/{c.id}/notes")).json()["items"] == []
    r = await call(client, w, "sales", "POST", f"{url}/restore")
    assert r.status_code == 200 and r.json()["deleted_at"] is None
    # a note is found under its own customer only
    other = await make_customer(db, w, "sales")
    r = await call(client, w, "sales", "PATCH", f"/api/v1/customers/{other.id}/notes/{note.id}", json={"body": "x"},
                   headers={"If-Match": "3"})
    assert r.status_code == 404


async def test_notes_page_newest_first(client, db):
    w = await make_world(db)
    c = await make_customer(db, w, "sales")
    ids = [(await make_note(db, w, c, "sales", body=f"第{i}条")).id for i in range(5)]
    seen, cursor = [], ""
    while True:
        page = (await call(client, w, "sales", "GET", f"/api/v1/customers/{c.id}/notes?limit=2{cursor}")).json()
        seen += [x["id"] for x in page["items"]]
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert seen == ids[::-1]


async def test_notifications_inbox(client, db):
    w, w2 = await make_world(db), await make_world(db)
    c = await make_customer(db, w, "sales")
    for i in range(3):
        r = await call(client, w, "sales", "POST", f"/api/v1/customers/{c.id}/notes",
                       json={"body": f"第{i}次 {token(w, 'manager')}"})
        assert r.status_code == 201
    inbox = (await call(client, w, "manager", "GET", "/api/v1/notifications?limit=2")).json()
    assert len(inbox["items"]) == 2 and inbox["next_cursor"]
    rest = (await call(client, w, "manager", "GET", f"/api/v1/notifications?cursor={inbox['next_cursor']}")).json()
    ids = [x["id"] for x in inbox["items"] + rest["items"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 3
    assert (await call(client, w, "manager", "GET", "/api/v1/notifications/unread-count")).json() == {
        "count": 3, "capped": False}
    r = await call(client, w, "manager", "POST", f"/api/v1/notifications/{ids[0]}/read")
    assert r.status_code == 200 and r.json()["read_at"] is not None
    unread = (await call(client, w, "manager", "GET", "/api/v1/notifications?unread=true")).json()["items"]
    assert [x["id"] for x in unread] == ids[1:]
    # someone else's notification is not found
    assert (await call(client, w, "sales", "POST", f"/api/v1/notifications/{ids[1]}/read")).status_code == 404
    assert (await call(client, w2, "admin", "POST", f"/api/v1/notifications/{ids[1]}/read")).status_code == 404
    r = await call(client, w, "manager", "POST", "/api/v1/notifications/read-all")
    assert r.json() == {"updated": 2}
    assert (await call(client, w, "manager", "GET", "/api/v1/notifications/unread-count")).json()["count"] == 0
    r = await call(client, w, "manager", "GET", "/api/v1/notifications?cursor=bad")
    assert r.status_code == 400
