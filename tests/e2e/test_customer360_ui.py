"""Customer 360 in the browser: the timeline, logging an interaction, tasks, @mentions and the bell."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import (
    ADMIN,
    DESKTOP,
    SALES_EAST,
    Api,
    failure_shot,
    login,
    new_context,
    screenshot,
)

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails) with the reason
    expect = None  # type: ignore[assignment]

pytestmark = pytest.mark.e2e

MANAGER_EAST = "lina@xinghe-demo.cn"  # 李娜, manager of 华东销售部 (张伟's team)
PHONE_SMALL = {"width": 375, "height": 812}


def iso(d: dt.datetime) -> str:
    return d.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def quiet(pg: Any) -> None:
    """Let toasts fade and animations end, for a clean screenshot."""
    pg.locator(".el-message").last.wait_for(state="detached", timeout=10_000)
    pg.mouse.move(0, 0)
    pg.wait_for_timeout(400)


def entries(pg: Any) -> Any:
    return pg.get_by_test_id("timeline-entry")


def open_customer(pg: Any, customer_id: int) -> None:
    pg.goto(f"/customers/{customer_id}")
    pg.get_by_test_id("customer-title").wait_for()
    pg.get_by_test_id("timeline").wait_for()
    pg.wait_for_load_state("networkidle")


def seed_history(api: Api, customer: dict[str, Any]) -> None:
    """A few weeks of a real relationship, through the API: calls, a visit, notes, tasks, stage and grade moves."""
    cid = customer["id"]
    now = dt.datetime.now(dt.UTC)
    contacts = api.get(f"/customers/{cid}/contacts")["items"]
    ids = [contacts[0]["id"]] if contacts else []
    api.post("/interactions", {
        "customer_id": cid, "channel": "wechat", "contact_ids": ids, "occurred_at": iso(now - dt.timedelta(days=9)),
        "subject": "初次接洽", "summary": "老客户介绍加了微信。客户在为新办公楼采购会议室设备，预算约 15 万。",
        "outcome": "愿意了解方案"})
    api.post("/interactions", {
        "customer_id": cid, "channel": "phone", "contact_ids": ids, "occurred_at": iso(now - dt.timedelta(days=6)),
        "duration_minutes": 25, "subject": "需求电话",
        "summary": "确认 6 间会议室需要智能会议屏，关注无线投屏和视频会议兼容性。", "outcome": "约定上门演示",
        "next_step": "准备演示样机和报价", "next_step_at": iso(now - dt.timedelta(days=2))})
    current = api.get(f"/customers/{cid}")
    stage = "first_purchase" if current["stage"] != "first_purchase" else "repeat"
    r = api.client.patch(f"/customers/{cid}", json={"stage": stage},
                         headers={"X-CSRF-Token": api.csrf, "If-Match": f'"{current["version"]}"'})
    r.raise_for_status()
    api.post(f"/customers/{cid}/notes", {"body": "客户对价格比较敏感，报价前先和经理确认折扣空间。"})
    done = api.post("/tasks", {"title": "寄送产品资料和成功案例", "due_at": iso(now - dt.timedelta(days=3)),
                               "customer_id": cid, "priority": "high"})
    api.post(f"/tasks/{done['id']}/complete", {})
    api.post("/interactions", {
        "customer_id": cid, "channel": "visit", "contact_ids": ids, "occurred_at": iso(now - dt.timedelta(days=1)),
        "duration_minutes": 90, "subject": "上门演示",
        "summary": "在客户会议室演示了 86 寸会议屏，采购和 IT 负责人都参加了。\n客户对书写体验很满意，希望先试用两台。",
        "outcome": "同意试用两周", "next_step": "安排试用设备送货", "next_step_at": iso(now + dt.timedelta(days=2)),
        "follow_up": {"title": "安排试用设备送货", "due_at": iso(now + dt.timedelta(days=2)),
                      "remind_before_minutes": 60}})
    current = api.get(f"/customers/{cid}")
    grade = "A" if current["grade"] != "A" else "B"
    r = api.client.patch(f"/customers/{cid}", json={"grade": grade},
                         headers={"X-CSRF-Token": api.csrf, "If-Match": f'"{current["version"]}"'})
    r.raise_for_status()
    api.post("/tasks", {"title": "准备正式报价单", "due_at": iso(now - dt.timedelta(days=1)), "customer_id": cid})
    api.post("/tasks", {"title": "电话确认试用反馈", "due_at": iso(now + dt.timedelta(hours=2)), "customer_id": cid,
                        "priority": "urgent"})


@pytest.fixture(scope="module")
def rep(server: str) -> Iterator[Api]:
    api = Api(server, SALES_EAST)
    yield api
    api.close()


@pytest.fixture(scope="module")
def account(rep: Api) -> dict[str, Any]:
    """One of 张伟's company customers with a contact and a few weeks of history."""
    mine = rep.get("/customers", filter=[f"owner_id:eq:{rep.me['id']}", "kind:eq:company"], sort="name", limit=100)
    customer = next(c for c in mine["items"] if c["contact_count"])
    seed_history(rep, customer)
    return rep.get(f"/customers/{customer['id']}")


def test_log_interaction_with_follow_up_task(page: Any, account: dict[str, Any]) -> None:
    uniq = uuid.uuid4().hex[:4]
    summary = f"电话回访试用情况（{uniq}）：两台会议屏运行稳定，行政希望再加一台放前台。"
    next_step = f"发送三台的正式报价 {uniq}"
    login(page, SALES_EAST)
    open_customer(page, account["id"])
    expect(page.get_by_test_id("tab-timeline")).to_be_visible()
    expect(entries(page).first).to_be_visible()  # the 360 view is what the page opens on

    page.get_by_test_id("log-interaction").click()
    form = page.get_by_test_id("interaction-form")
    form.wait_for()
    expect(form.get_by_test_id("interaction-channel-phone")).to_have_attribute("aria-checked", "true")
    expect(form.get_by_test_id("interaction-contacts")).to_contain_text(re.compile(r"\S"))  # the primary contact
    form.get_by_test_id("interaction-summary").fill(summary)
    form.get_by_test_id("interaction-outcome").fill("客户认可，等报价")
    form.get_by_test_id("interaction-next-step").fill(next_step)
    form.get_by_test_id("interaction-follow-up").click()
    expect(form.get_by_test_id("follow-up-title")).to_have_value(next_step)  # prefilled from the next step
    files = form.get_by_test_id("interaction-files")
    files.set_input_files([{"name": "试用反馈.txt", "mimeType": "text/plain", "buffer": "两台运行稳定。\n".encode()}])
    expect(form.get_by_test_id("interaction-file")).to_have_count(1)
    page.mouse.move(0, 0)
    page.set_viewport_size({"width": 1280, "height": 1180})
    form.locator(".el-drawer__body").evaluate("e => e.scrollTo(0, 0)")
    page.wait_for_timeout(300)
    screenshot(page, "log-interaction.png")
    page.set_viewport_size(DESKTOP)

    # a file the server refuses: its reason shows beside it, and nothing else is lost
    files.set_input_files([{"name": "setup.exe", "mimeType": "application/octet-stream", "buffer": b"MZ\x90\x00" * 8}])
    with page.expect_response(lambda r: r.url.endswith("/api/v1/interactions") and r.request.method == "POST") as created:
        form.get_by_test_id("interaction-save").click()
    assert created.value.status == 201, created.value.text()
    body = created.value.json()
    assert body["follow_up_task"]["title"] == next_step
    assert body["channel"] == "phone" and body["contact_ids"], body
    error = form.get_by_test_id("interaction-file-error")
    expect(error).to_have_count(1)
    expect(error).not_to_be_empty()
    expect(form.get_by_test_id("interaction-upload-warning")).to_be_visible()
    expect(form.get_by_test_id("interaction-file").filter(has_text="试用反馈.txt")).to_contain_text("已上传")
    form.get_by_test_id("interaction-file").filter(has_text="setup.exe").get_by_test_id("interaction-file-remove").click()
    form.get_by_test_id("interaction-save").click()
    form.wait_for(state="hidden")

    # both on the timeline: the interaction with everything said, and the follow-up task
    logged = entries(page).filter(has_text=summary)
    expect(logged).to_have_count(1)
    expect(logged.get_by_test_id("timeline-channel")).to_have_text("电话")
    expect(logged.get_by_test_id("timeline-outcome")).to_contain_text("客户认可，等报价")
    expect(logged.get_by_test_id("timeline-next-step")).to_contain_text(next_step)
    expect(logged.get_by_test_id("timeline-attachment")).to_contain_text("试用反馈.txt")
    task_entry = page.locator('[data-testid="timeline-entry"][data-kind="task_created"]').filter(has_text=next_step)
    expect(task_entry).to_have_count(1)
    expect(page.get_by_test_id("customer-tasks").get_by_test_id("task-row").filter(has_text=next_step)).to_be_visible()
    expect(page.get_by_test_id("customer-last-contacted")).to_contain_text("今天")

    # filter chips: only interactions
    with page.expect_response(lambda r: "/timeline?" in r.url and "kinds=interaction" in r.url):
        page.get_by_test_id("timeline-chip-interaction").click()
    # the list re-renders after the response: wait until the other kinds are gone
    others = '[data-testid="timeline-entry"]:not([data-kind^="interaction"]):not([data-kind^="attachment"])'
    expect(page.locator(others)).to_have_count(0)
    kinds = set(page.locator('[data-testid="timeline-entry"]').evaluate_all("els => els.map(e => e.dataset.kind)"))
    assert kinds <= {"interaction", "attachment", "interaction_deleted", "attachment_deleted"}, kinds
    with page.expect_response(lambda r: "/timeline?" in r.url and "kinds=" not in r.url):
        page.get_by_test_id("timeline-chip-all").click()
    expect(page.locator('[data-testid="timeline-entry"][data-kind="note"]').first).to_be_visible()
    quiet(page)
    page.set_viewport_size({"width": 1280, "height": 1400})
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(300)
    screenshot(page, "customer-timeline.png")


def test_server_field_error_shows_next_to_the_time(page: Any, account: dict[str, Any]) -> None:
    login(page, SALES_EAST)
    open_customer(page, account["id"])
    page.get_by_test_id("log-interaction").click()
    form = page.get_by_test_id("interaction-form")
    form.get_by_test_id("interaction-summary").fill("写错了时间的一条记录")
    when = form.get_by_test_id("interaction-occurred-at").locator("input")
    when.fill("2031-01-01 10:00")
    when.press("Enter")
    with page.expect_response(lambda r: r.url.endswith("/api/v1/interactions") and r.request.method == "POST") as resp:
        form.get_by_test_id("interaction-save").click()
    assert resp.value.status == 422
    field = resp.value.json()["errors"][0]
    assert field["field"] == "occurred_at", field
    error = form.get_by_test_id("interaction-error-occurred_at")
    expect(error).to_have_text(field["message"])
    item = form.locator(".el-form-item", has=page.get_by_test_id("interaction-occurred-at"))
    assert item.get_by_test_id("interaction-error-occurred_at").count() == 1  # under the field it belongs to
    expect(form.get_by_test_id("interaction-summary")).to_have_value("写错了时间的一条记录")  # nothing lost


def test_edit_an_interaction(page: Any, rep: Api, account: dict[str, Any]) -> None:
    uniq = uuid.uuid4().hex[:4]
    rep.post("/interactions", {"customer_id": account["id"], "channel": "email", "subject": f"报价邮件 {uniq}",
                               "summary": "发送了三台会议屏的报价。", "outcome": "等待回复"})
    login(page, SALES_EAST)
    open_customer(page, account["id"])
    logged = entries(page).filter(has_text=f"报价邮件 {uniq}")
    logged.get_by_test_id("timeline-entry-menu").click()
    page.locator("[data-testid=edit-interaction]:visible").click()
    form = page.get_by_test_id("interaction-form")
    expect(form.get_by_test_id("interaction-channel-email")).to_have_attribute("aria-checked", "true")
    expect(form.get_by_test_id("interaction-summary")).to_have_value("发送了三台会议屏的报价。")
    form.get_by_test_id("interaction-outcome").fill("客户已回复，要求九五折")
    with page.expect_response(lambda r: "/api/v1/interactions/" in r.url and r.request.method == "PATCH") as saved:
        form.get_by_test_id("interaction-save").click()
    assert saved.value.ok, saved.value.text()
    assert set(saved.value.request.post_data_json) == {"outcome"}  # only what changed is sent
    form.wait_for(state="hidden")
    edited = page.locator('[data-testid="timeline-entry"][data-kind="interaction"]').filter(has_text="修改了沟通记录")
    expect(edited.first.get_by_test_id("timeline-change")).to_contain_text("等待回复")
    expect(edited.first.get_by_test_id("timeline-change")).to_contain_text("客户已回复，要求九五折")


def test_complete_tasks_from_my_work(page: Any, rep: Api, account: dict[str, Any]) -> None:
    uniq = uuid.uuid4().hex[:4]
    now = dt.datetime.now(dt.UTC)
    follow_up = f"回访确认试用效果 {uniq}"
    weekly = f"整理每周客户周报 {uniq}"
    rep.post("/interactions", {"customer_id": account["id"], "channel": "meeting", "summary": "季度回顾会议",
                               "follow_up": {"title": follow_up, "due_at": iso(now + dt.timedelta(days=2))}})
    rep.post("/tasks", {"title": weekly, "due_at": iso(now + dt.timedelta(minutes=90)), "customer_id": account["id"],
                        "repeat": "weekly"})

    login(page, SALES_EAST)
    page.get_by_test_id("nav-my-work").click()
    page.wait_for_url(re.compile(r".*/my-work$"))
    row = page.get_by_test_id("task-row").filter(has_text=follow_up)
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("task-customer")).to_have_text(account["name"])
    for bucket in ("overdue", "today", "upcoming"):
        expect(page.get_by_test_id(f"my-work-count-{bucket}")).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.mouse.move(0, 0)
    page.set_viewport_size({"width": 1280, "height": 1000})
    screenshot(page, "my-work.png")
    page.set_viewport_size(DESKTOP)

    # one click completes it; it moves to 最近完成
    with page.expect_response(lambda r: r.url.endswith("/complete") and r.request.method == "POST") as done:
        row.get_by_test_id("task-complete").click()
    assert done.value.ok and done.value.json()["next"] is None
    finished = page.get_by_test_id("my-work-section-done").get_by_test_id("task-row").filter(has_text=follow_up)
    expect(finished).to_have_attribute("data-status", "done")

    # a repeating task: done, and its next occurrence is there, a week later
    with page.expect_response(lambda r: r.url.endswith("/complete") and r.request.method == "POST") as done:
        page.get_by_test_id("task-row").filter(has_text=weekly).first.get_by_test_id("task-complete").click()
    following = done.value.json()["next"]
    assert following and following["title"] == weekly
    expect(page.locator(".el-message").filter(has_text="下一次")).to_be_visible()
    expect(page.locator(f'[data-testid="task-row"][data-task-id="{following["id"]}"]')).to_have_attribute(
        "data-status", "open")

    # and the customer's timeline says it was done
    finished.get_by_test_id("task-customer").click()
    page.get_by_test_id("timeline").wait_for()
    done_entry = page.locator('[data-testid="timeline-entry"][data-kind="task_done"]').filter(has_text=follow_up)
    expect(done_entry).to_have_count(1)
    expect(done_entry.get_by_test_id("timeline-task-status")).to_have_text("已完成")


def test_task_reminder_arrives_in_the_bell(page: Any, rep: Api, account: dict[str, Any]) -> None:
    """A reminder is sent by the background job queue inside `guanxi serve` and shows in the bell."""
    title = f"提醒：给{account['name']}回电 {uuid.uuid4().hex[:4]}"
    login(page, SALES_EAST)
    bell = page.get_by_test_id("notification-bell")
    bell.wait_for()
    due = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    task = rep.post("/tasks", {"title": title, "due_at": iso(due), "customer_id": account["id"],
                               "remind_before_minutes": 5})  # remind_at is already past: due at the next sweep
    assert task["remind_at"], task
    badge = page.get_by_test_id("notification-badge").locator(".el-badge__content")
    for _ in range(40):  # the bell refreshes on focus (and every 20 s by itself)
        page.evaluate("window.dispatchEvent(new Event('focus'))")
        page.wait_for_timeout(500)
        if badge.count() and badge.is_visible():
            bell.click()
            item = page.get_by_test_id("notification-item").filter(has_text=title)
            if item.count():
                break
            page.keyboard.press("Escape")
    item = page.get_by_test_id("notification-item").filter(has_text=title)
    expect(item).to_have_count(1)
    expect(item).to_have_attribute("data-kind", "reminder")


def test_mention_notifies_the_colleague(page: Any, browser: Any, server: str, account: dict[str, Any],
                                        request: pytest.FixtureRequest) -> None:
    manager_api = Api(server, MANAGER_EAST)
    before = manager_api.get("/notifications/unread-count")["count"]
    manager_api.close()

    # 李娜 is at her desk with Guanxi open
    ctx = new_context(browser, server)
    manager = ctx.new_page()
    try:
        login(manager, MANAGER_EAST)
        bell = manager.get_by_test_id("notification-bell")
        bell.wait_for()

        # 张伟 writes a note on his customer and mentions her
        login(page, SALES_EAST)
        open_customer(page, account["id"])
        box = page.get_by_test_id("note-input")
        box.click()
        box.press_sequentially("@li", delay=40)
        option = page.get_by_test_id("mention-option").filter(has_text="李娜")
        option.first.click()
        box.press_sequentially("折扣超过 15%，请审批", delay=10)
        with page.expect_response(lambda r: r.url.endswith("/notes") and r.request.method == "POST") as posted:
            page.get_by_test_id("note-submit").click()
        assert posted.value.status == 201, posted.value.text()
        note = posted.value.json()
        assert note["body"].startswith(f"@[李娜](user:{note['mentions'][0]})"), note["body"]
        entry = page.locator('[data-testid="timeline-entry"][data-kind="note"]').filter(has_text="请审批")
        expect(entry.get_by_test_id("timeline-mention")).to_have_text("@李娜")

        # her bell updates without a reload (the count is fetched again when the window gets focus)
        manager.evaluate("window.dispatchEvent(new Event('focus'))")
        badge = manager.get_by_test_id("notification-badge").locator(".el-badge__content")
        expect(badge).to_have_text(str(before + 1))
        bell.click()
        item = manager.get_by_test_id("notification-item").first
        expect(item).to_have_attribute("data-kind", "mention")
        expect(item).to_contain_text("张伟")
        expect(item).to_contain_text(account["name"])
        expect(item).to_contain_text("请审批")
        manager.wait_for_timeout(400)
        screenshot(manager, "notifications.png")

        # it links to the customer, and counts as read
        item.click()
        manager.wait_for_url(re.compile(rf".*/customers/{account['id']}\?focus=note:{note['id']}$"))  # opens on the note
        expect(manager.get_by_test_id("customer-title")).to_have_text(account["name"])
        if before:
            expect(badge).to_have_text(str(before))
        else:
            expect(badge).to_be_hidden()
    finally:
        failure_shot(request, manager)
        ctx.close()


def test_filter_customers_not_contacted_for_30_days(page: Any, admin_api: Api, account: dict[str, Any]) -> None:
    expected = admin_api.get("/customers", filter="idle_days:gte:30", limit=1)["total"]
    login(page, ADMIN)
    page.get_by_test_id("customer-row").first.wait_for()
    expect(page.get_by_test_id("column-header-last_contacted_at")).to_be_visible()
    row = page.get_by_test_id("customer-row").filter(has_text=account["name"])

    with page.expect_response(lambda r: "/api/v1/customers?" in r.url and "idle_days%3Agte%3A30" in r.url):
        page.get_by_test_id("preset-idle30").click()
    expect(page.get_by_test_id("preset-idle30")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("list-total")).to_contain_text(str(expected))
    expect(page.get_by_test_id("last-contacted").first).to_have_text(re.compile(r"从未联系|\d+ 天前"))

    # the customer talked to today is not in it
    with page.expect_response(lambda r: "/api/v1/customers?" in r.url and "q=" in r.url):
        page.get_by_test_id("customer-search").fill(account["name"])
    page.get_by_test_id("empty-state").wait_for()
    with page.expect_response(lambda r: "/api/v1/customers?" in r.url and "idle_days" not in r.url):
        page.get_by_test_id("preset-idle30").click()
    expect(row.get_by_test_id("last-contacted")).to_have_text("今天")

    # the same filter in the filter builder, with another number of days
    page.get_by_test_id("open-filters").click()
    days = page.get_by_test_id("filter-idle-days").locator("input")
    days.fill("7")
    with page.expect_response(lambda r: "idle_days%3Agte%3A7" in r.url):
        page.get_by_test_id("filter-apply").click()
    page.get_by_test_id("empty-state").wait_for()


def test_log_a_visit_at_phone_width(browser: Any, server: str, account: dict[str, Any],
                                    request: pytest.FixtureRequest) -> None:
    ctx = new_context(browser, server, viewport=PHONE_SMALL, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    summary = f"现场拜访（{uuid.uuid4().hex[:4]}）：看了前台安装位置，需要加长线缆。"
    try:
        login(page, SALES_EAST)
        open_customer(page, account["id"])
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE_SMALL["width"], f"the customer page is {width}px wide"

        page.get_by_test_id("log-interaction").click()  # 1
        form = page.get_by_test_id("interaction-form")
        form.wait_for()
        form.get_by_test_id("interaction-channel-visit").click()
        form.get_by_test_id("interaction-summary").fill(summary)
        box = form.bounding_box()
        assert box is not None and box["width"] <= PHONE_SMALL["width"], box
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_SMALL["width"]
        save = form.get_by_test_id("interaction-save")
        expect(save).to_be_in_viewport()  # the footer stays on screen
        page.wait_for_timeout(300)
        screenshot(page, "mobile-log-interaction.png")
        with page.expect_response(lambda r: r.url.endswith("/api/v1/interactions") and r.request.method == "POST") as r:
            save.click()  # 2
        assert r.value.status == 201 and r.value.json()["channel"] == "visit"
        form.wait_for(state="hidden")
        logged = entries(page).filter(has_text=summary)
        expect(logged.get_by_test_id("timeline-channel")).to_have_text("拜访")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_SMALL["width"]
    finally:
        failure_shot(request, page)
        ctx.close()


def test_admin_manages_interaction_channels(page: Any) -> None:
    label = f"钉钉{uuid.uuid4().hex[:3]}"
    login(page, ADMIN)
    page.get_by_test_id("nav-settings").click()
    page.get_by_test_id("nav-settings-interaction-channels").click()
    page.wait_for_url(re.compile(r".*/settings/interaction-channels$"))
    rows = page.get_by_test_id("channel-row")
    expect(rows.filter(has_text="面谈")).to_have_count(1)
    expect(rows.filter(has_text="面谈").get_by_test_id("channel-delete")).to_have_count(0)  # built in

    page.get_by_test_id("channel-label").fill(label)
    page.get_by_test_id("channel-label-en").fill("DingTalk")
    page.get_by_test_id("channel-add").click()
    mine = rows.filter(has_text=label)
    expect(mine).to_contain_text("DingTalk")

    # a second channel with the same name: the server's message, next to the field
    page.get_by_test_id("channel-label").fill(label)
    page.get_by_test_id("channel-add").click()
    expect(page.get_by_test_id("field-error-label")).not_to_be_empty()

    mine.get_by_test_id("channel-edit").click()
    dialog = page.get_by_test_id("channel-form")
    dialog.get_by_test_id("channel-field-label-en").fill("DingTalk chat")
    dialog.get_by_test_id("channel-save").click()
    expect(mine).to_contain_text("DingTalk chat")

    mine.get_by_test_id("channel-delete").click()
    page.locator(".el-message-box").get_by_role("button", name="删除").click()
    expect(rows.filter(has_text=label)).to_have_count(0)

