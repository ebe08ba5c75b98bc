"""Contacts (CSV and vCard), interactions and tasks through the same pipeline: customer references, duplicates,
scope, what is written."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from guanxi.activities.models import Interaction, Task
from guanxi.audit.models import DomainEvent
from guanxi.customers.models import Contact, Customer
from tests.fixtures.factories import call, make_world
from tests.imports.conftest import run_to_end, upload

pytestmark = pytest.mark.anyio


def csv_bytes(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


async def customer(client, w, who, **body) -> int:  # type: ignore[no-untyped-def]
    r = await call(client, w, who, "POST", "/api/v1/customers", json={"kind": "company", **body})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def test_contacts_by_customer_name_phone_or_id(client, db, settings):
    w = await make_world(db)
    a = await customer(client, w, "sales", name="星河科技有限公司", phones=["13812345678"])
    b = await customer(client, w, "sales", name="云栖数据")
    hidden = await customer(client, w, "other_team", name="远方公司")
    await customer(client, w, "sales", name="重名公司")
    await customer(client, w, "teammate", name="重名公司")  # the manager sees both: ambiguous for them
    rows = [["所属客户", "联系人", "职位", "手机", "邮箱", "生日"],
            ["星河科技有限公司", "张伟", "总经理", "13900001111", "zw@xinghe.cn", "1980-01-02"],
            ["138 1234 5678", "李娜", "采购", "", "", ""],
            [str(b), "王芳", "", "", "", ""],
            ["远方公司", "赵六", "", "", "", ""],
            ["不存在", "钱七", "", "", "", ""],
            ["星河科技有限公司", "张伟", "", "", "", ""],          # the same contact again: skipped
            ["云栖数据", "", "", "", "", ""]]
    imp = (await upload(client, w, "sales", "联系人.csv", csv_bytes(rows), "contacts")).json()
    assert imp["mapping"] == {"所属客户": "customer", "联系人": "name", "职位": "title", "手机": "phones", "邮箱": "emails",
                              "生日": "birthday"}
    preview = (await call(client, w, "sales", "GET", f"/api/v1/imports/{imp['id']}/preview")).json()["rows"]
    assert [p["action"] for p in preview] == ["create", "create", "create", "fail", "fail", "skip", "fail"]
    assert preview[0]["values"]["customer"] == "星河科技有限公司"
    assert preview[3]["errors"][0]["code"] == "customer_not_found"  # not visible to this sales rep
    assert preview[5]["duplicate"]["reason"] == "in_file"
    out = await run_to_end(client, db, settings, w, "sales", imp["id"])
    assert (out["created"], out["skipped"], out["failed"]) == (3, 1, 3)
    async with db.session() as s:
        contacts = (await s.execute(select(Contact.customer_id, Contact.name, Contact.title, Contact.phones,
                                           Contact.is_primary).where(Contact.workspace_id == w.workspace_id)
                                    .order_by(Contact.id))).all()
        assert contacts == [(a, "张伟", "总经理", ["139 0000 1111"], True), (a, "李娜", "采购", [], False),
                            (b, "王芳", None, [], True)]
        kinds = (await s.execute(select(DomainEvent.kind, DomainEvent.customer_id)
                                 .where(DomainEvent.record_type == "contact",
                                        DomainEvent.workspace_id == w.workspace_id))).all()
        assert sorted(kinds) == sorted([("contact.created", a), ("contact.created", a), ("contact.created", b)])
    r = await call(client, w, "sales", "GET", f"/api/v1/customers/{a}/contacts")
    assert [c["name"] for c in r.json()["items"]] == ["张伟", "李娜"]
    assert hidden
    # the same file again: every contact exists now
    imp = (await upload(client, w, "sales", "联系人.csv", csv_bytes(rows), "contacts")).json()
    out = await run_to_end(client, db, settings, w, "sales", imp["id"])
    assert (out["created"], out["skipped"]) == (0, 4)
    # a manager sees two customers of that name
    imp = (await upload(client, w, "manager", "c.csv", csv_bytes([["客户名称", "联系人"], ["重名公司", "某人"]]),
                        "contacts")).json()
    preview = (await call(client, w, "manager", "GET", f"/api/v1/imports/{imp['id']}/preview")).json()["rows"]
    assert preview[0]["errors"][0]["code"] == "customer_ambiguous"


async def test_vcard_contacts_update_mode(client, db, settings):
    w = await make_world(db)
    a = await customer(client, w, "admin", name="星河科技有限公司")
    card = ("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:张伟\r\nORG:星河科技有限公司;销售部\r\nTITLE:采购经理\r\n"
            "TEL;TYPE=CELL:13812345678\r\nEMAIL:zhangwei@xinghe.cn\r\nBDAY:1985-03-02\r\n"
            "NOTE:第一行\\n第二行\r\nEND:VCARD\r\n"
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:张伟\r\nORG:星河科技有限公司\r\nTEL:138-1234-5678\r\nTITLE:总监\r\n"
            "END:VCARD\r\n"
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:无名公司的人\r\nORG:无名公司\r\nEND:VCARD\r\n")
    imp = (await upload(client, w, "admin", "a.vcf", card.encode("gb18030"), "contacts")).json()
    assert imp["encoding"] == "gb18030"
    r = await call(client, w, "admin", "PUT", f"/api/v1/imports/{imp['id']}/mapping",
                   json={"mapping": imp["mapping"], "duplicate_mode": "update"})
    assert r.status_code == 200
    preview = (await call(client, w, "admin", "GET", f"/api/v1/imports/{imp['id']}/preview")).json()["rows"]
    assert [(p["line"], p["action"]) for p in preview] == [(1, "create"), (11, "update"), (18, "fail")]
    out = await run_to_end(client, db, settings, w, "admin", imp["id"])
    assert (out["created"], out["updated"], out["failed"]) == (1, 1, 1)
    async with db.session() as s:
        c = await s.scalar(select(Contact).where(Contact.customer_id == a))
        # 仅补充空白字段 (the default): the second card fills nothing the first gave, so the title stays
        assert (c.name, c.title, c.phones, c.emails, str(c.birthday), c.notes) == (
            "张伟", "采购经理", ["138 1234 5678"], ["zhangwei@xinghe.cn"], "1985-03-02", "第一行\n第二行")


async def test_interactions(client, db, settings):
    w = await make_world(db)
    a = await customer(client, w, "sales", name="星河科技有限公司")
    rows = [["客户名称", "沟通方式", "沟通时间", "主题", "内容", "时长", "沟通人"],
            ["星河科技有限公司", "电话", "2026-11-01 14:30", "报价", "客户对报价满意", "15", w.users["sales"].name],
            ["星河科技有限公司", "拜访", "2026/11/02", "", "上门演示", "", ""],
            ["星河科技有限公司", "电话", "2026-11-01 14:30", "报价", "again", "", ""],   # the same call: skipped
            ["星河科技有限公司", "飞鸽传书", "2026-11-03", "", "", "", ""],
            ["星河科技有限公司", "电话", "明天", "", "", "", ""],
            ["星河科技有限公司", "电话", "2099-01-01", "", "", "", ""]]
    imp = (await upload(client, w, "sales", "沟通.csv", csv_bytes(rows), "interactions")).json()
    assert imp["mapping"]["沟通方式"] == "channel" and imp["mapping"]["沟通时间"] == "occurred_at"
    preview = (await call(client, w, "sales", "GET", f"/api/v1/imports/{imp['id']}/preview")).json()["rows"]
    assert [p["action"] for p in preview] == ["create", "create", "skip", "fail", "fail", "fail"]
    assert [e["code"] for p in preview[3:] for e in p["errors"]] == ["invalid_option", "invalid_date", "in_future"]
    out = await run_to_end(client, db, settings, w, "sales", imp["id"])
    assert (out["created"], out["skipped"], out["failed"]) == (2, 1, 3)
    async with db.session() as s:
        items = (await s.execute(select(Interaction.channel, Interaction.occurred_at, Interaction.duration_minutes,
                                        Interaction.user_id).where(Interaction.customer_id == a)
                                 .order_by(Interaction.occurred_at))).all()
        assert [(i[0], i[1].isoformat(), i[2]) for i in items] == [
            ("phone", "2026-11-01T06:30:00+00:00", 15), ("visit", "2026-11-01T16:00:00+00:00", None)]
        last = await s.scalar(select(Customer.last_contacted_at).where(Customer.id == a))
        assert last == items[-1][1]
    r = await call(client, w, "sales", "GET", f"/api/v1/customers/{a}/timeline")
    assert [x["kind"] for x in r.json()["items"]].count("interaction") == 2
    # marketing may not import interactions
    r = await upload(client, w, "marketing", "沟通.csv", csv_bytes(rows), "interactions")
    assert r.status_code == 403


async def test_tasks(client, db, settings):
    w = await make_world(db)
    a = await customer(client, w, "sales", name="星河科技有限公司")
    rows = [["待办事项", "截止日期", "负责人", "客户名称", "优先级"],
            ["回访", "2026-12-01 10:00", "", "星河科技有限公司", "高"],
            ["寄样品", "2026-12-02", w.users["teammate"].name, "", "紧急"],
            ["给别组的人", "2026-12-02", w.users["other_team"].name, "星河科技有限公司", ""],
            ["", "2026-12-02", "", "", ""],
            ["回访", "2026-12-01 10:00", "", "星河科技有限公司", "高"]]
    imp = (await upload(client, w, "sales", "待办.csv", csv_bytes(rows), "tasks")).json()
    preview = (await call(client, w, "sales", "GET", f"/api/v1/imports/{imp['id']}/preview")).json()["rows"]
    assert [p["action"] for p in preview] == ["create", "create", "fail", "fail", "skip"]
    assert preview[2]["errors"][0]["code"] == "assignee_cannot_see"
    out = await run_to_end(client, db, settings, w, "sales", imp["id"])
    assert (out["created"], out["skipped"], out["failed"]) == (2, 1, 2)
    async with db.session() as s:
        tasks = (await s.execute(select(Task.title, Task.assignee_id, Task.customer_id, Task.priority, Task.status)
                                 .where(Task.workspace_id == w.workspace_id).order_by(Task.id))).all()
        assert tasks == [("回访", w.users["sales"].id, a, "high", "open"),
                         ("寄样品", w.users["teammate"].id, None, "urgent", "open")]
    r = await call(client, w, "sales", "GET", "/api/v1/tasks")
    assert "回访" in [t["title"] for t in r.json()["items"]]


async def test_imported_tasks_notify_their_assignees_and_get_reminders(client, db, settings):
    """As when a task is made in the app: the assignee's bell (not the importer's), a reminder an hour before unless
    the file says otherwise; several tasks for one person make one summary, not a flood."""
    from datetime import UTC, datetime, timedelta

    from guanxi.notifications.models import Notification

    w = await make_world(db)
    mate, mgr = w.users["teammate"], w.users["manager"]
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    fmt = "%Y-%m-%d %H:%M"
    rows = [["待办事项", "截止日期", "负责人", "提醒", "描述"],
            ["自己的事", soon.astimezone(_SH).strftime(fmt), "", "", ""],
            ["给队友", soon.astimezone(_SH).strftime(fmt), mate.name, "30", "带上合同"],
            ["给经理一", soon.astimezone(_SH).strftime(fmt), mgr.name, "不提醒", ""],
            ["给经理二", (soon + timedelta(days=1)).astimezone(_SH).strftime(fmt), mgr.name, "", ""],
            ["去年的事", "2020-01-02 10:00", "", "", ""],
            ["坏提醒", soon.astimezone(_SH).strftime(fmt), mate.name, "十分钟", ""]]
    imp = (await upload(client, w, "sales", "待办.csv", csv_bytes(rows), "tasks")).json()
    assert imp["mapping"]["提醒"] == "remind_before_minutes"
    preview = (await call(client, w, "sales", "GET", f"/api/v1/imports/{imp['id']}/preview")).json()["rows"]
    assert preview[5]["action"] == "fail" and preview[5]["errors"][0]["field"] == "remind_before_minutes"
    out = await run_to_end(client, db, settings, w, "sales", imp["id"])
    assert (out["created"], out["failed"]) == (5, 1)
    async with db.session() as s:
        tasks = {t.title: t for t in await s.scalars(select(Task).where(Task.workspace_id == w.workspace_id))}
        bells = list(await s.scalars(select(Notification).where(Notification.workspace_id == w.workspace_id)
                                     .order_by(Notification.id)))
    own, mine = tasks["自己的事"], tasks["给队友"]
    assert own.remind_before_minutes == 60 and own.remind_at == own.due_at - timedelta(minutes=60)
    assert own.reminded_at is None  # the reminder sweep sends it when the time comes
    assert mine.remind_before_minutes == 30 and mine.remind_at == mine.due_at - timedelta(minutes=30)
    assert tasks["给经理一"].remind_at is None and tasks["给经理一"].remind_before_minutes is None
    old = tasks["去年的事"]
    assert old.remind_at is not None and old.reminded_at is not None  # its reminder time passed long ago: not sent
    assert "坏提醒" not in tasks
    # nobody notifies themself; the teammate gets the app's own notification, the manager one summary of two
    assert all(n.user_id != w.users["sales"].id for n in bells)
    by_user = {u: [n for n in bells if n.user_id == u] for u in (mate.id, mgr.id)}
    assert len(bells) == 2
    [one] = by_user[mate.id]
    assert one.kind == "task_assigned" and one.title == f"{w.users['sales'].name} 给你分配了待办：给队友"
    assert one.body == "带上合同" and one.link == f"/tasks/{mine.id}" and one.record_id == mine.id
    assert one.actor_id == w.users["sales"].id
    [summary] = by_user[mgr.id]
    assert summary.kind == "task_assigned" and summary.title.startswith(f"{w.users['sales'].name} 通过导入给你分配了 2 个待办")
    assert summary.body == "给经理一\n给经理二" and summary.link == "/my-work"
    r = await call(client, w, "teammate", "GET", "/api/v1/notifications/unread-count")
    assert r.status_code == 200 and r.json()["count"] == 1


_SH = __import__("zoneinfo").ZoneInfo("Asia/Shanghai")
