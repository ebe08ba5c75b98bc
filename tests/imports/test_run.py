"""Running customer imports: preview, duplicates (skip / update / create), custom fields, owners, progress,
failed rows, and that imported customers are what the app makes (search, identities, timeline, audit)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import select

from guanxi.audit.models import AuditEntry, DomainEvent
from guanxi.customers.models import Customer, CustomerIdentity
from guanxi.imports import runner
from guanxi.imports.models import Import
from tests.fixtures.factories import call, make_custom_field, make_world
from tests.imports.conftest import run_to_end, upload

pytestmark = pytest.mark.anyio


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue().encode(encoding)


async def customers_of(db, w) -> list[Customer]:  # type: ignore[no-untyped-def]
    async with db.session() as s:
        return list(await s.scalars(select(Customer).where(Customer.workspace_id == w.workspace_id)
                                    .order_by(Customer.id)))


HEADER = ["客户名称", "手机", "邮箱", "城市", "客户阶段", "客户等级", "负责人", "成立日期", "标签", "备注"]


async def test_preview_shows_values_problems_and_actions_per_row(client, db):
    w = await make_world(db)
    rows = [HEADER,
            ["星河科技有限公司", "138 1234 5678", "Sales@XingHe.cn", "杭州", "忠诚客户", "A", "", "2020/5/1", "VIP；老客户", "好"],
            ["", "12345", "not-an-email@", "上海", "未知阶段", "Z", "不存在的人", "2023-13-45", "", ""],
            ["云栖数据", "+86 139-1234-5678", "", "杭州", "", "", w.users["sales"].name, "", "", ""]]
    imp = (await upload(client, w, "admin", "客户.csv", csv_bytes(rows))).json()
    r = await call(client, w, "admin", "GET", f"/api/v1/imports/{imp['id']}/preview?limit=20")
    assert r.status_code == 200, r.text
    good, bad, third = r.json()["rows"]
    assert good["line"] == 2 and good["action"] == "create" and good["errors"] == [] and good["duplicate"] is None
    assert good["values"]["phones"] == "138 1234 5678" and good["values"]["emails"] == "sales@xinghe.cn"
    assert good["values"]["stage"] == "loyal" and good["values"]["birthday"] == "2020-05-01"
    assert good["values"]["tags"] == "VIP; 老客户"
    assert bad["action"] == "fail" and bad["line"] == 3
    codes = {(e["field"], e["code"]) for e in bad["errors"]}
    assert codes == {("name", "required"), ("phones", "invalid_phone"), ("emails", "invalid_email"),
                     ("stage", "invalid_option"), ("grade", "invalid_option"), ("owner", "invalid_user"),
                     ("birthday", "invalid_date")}
    assert all(e["message"] for e in bad["errors"]) and next(
        e for e in bad["errors"] if e["code"] == "invalid_phone")["message"] == "不是有效的电话号码"
    assert third["values"]["owner"] == w.users["sales"].name and third["values"]["phones"] == "139 1234 5678"
    # a cell that failed shows what the file says, so the user sees what to fix
    assert bad["values"]["phones"] == "12345" and bad["values"]["emails"] == "not-an-email@"
    assert bad["values"]["stage"] == "未知阶段" and bad["values"]["birthday"] == "2023-13-45"
    r = await call(client, w, "admin", "GET", f"/api/v1/imports/{imp['id']}/preview?limit=1")
    assert len(r.json()["rows"]) == 1
    # previews write nothing
    assert await customers_of(db, w) == []


async def test_import_creates_what_the_app_creates(client, db, settings):
    w = await make_world(db)
    await make_custom_field(db, w, "level", "select", ["gold", "silver"], label="会员等级")
    await make_custom_field(db, w, "budget", "money", label="预算")
    await make_custom_field(db, w, "renew", "boolean", label="续约")
    rows = [HEADER + ["会员等级", "预算", "续约"],
            ["星河科技有限公司", "13812345678", "a@xinghe.cn", "杭州", "忠诚客户", "A", w.users["sales"].name,
             "2020-05-01", "VIP,老客户", "重要", "GOLD", "1,500", "是"],
            ["云栖数据", "13912345678", "", "杭州", "", "", w.users["other_team"].email, "", "", "", "", "", "否"]]
    imp = (await upload(client, w, "admin", "客户.csv", csv_bytes(rows))).json()
    out = await run_to_end(client, db, settings, w, "admin", imp["id"])
    assert (out["status"], out["created"], out["failed"], out["processed"], out["total_rows"]) == ("done", 2, 0, 2, 2)
    assert out["started_at"] and out["finished_at"] and out["has_failed_rows"] is False
    a, b = await customers_of(db, w)
    assert a.name == "星河科技有限公司" and a.kind == "company" and a.phones == ["138 1234 5678"]
    assert a.stage == "loyal" and a.grade == "A" and a.tags == ["VIP", "老客户"] and a.notes == "重要"
    assert a.custom == {"level": "gold", "budget": "1500.00", "renew": True} and str(a.birthday) == "2020-05-01"
    assert (a.owner_id, a.team_id) == (w.users["sales"].id, w.users["sales"].team_id)
    assert (b.owner_id, b.team_id) == (w.users["other_team"].id, w.users["other_team"].team_id)
    assert a.name_pinyin and a.created_by == w.users["admin"].id and a.version == 1
    # the customer API reads it like any other
    r = await call(client, w, "sales", "GET", f"/api/v1/customers/{a.id}")
    assert r.status_code == 200 and r.json()["custom"]["level"] == "gold"
    # search by name, pinyin and phone
    for q in ("星河", "xinghe", "13812345678"):
        r = await call(client, w, "admin", "GET", f"/api/v1/customers?q={q}")
        assert [c["id"] for c in r.json()["items"]] == [a.id], q
    # identities for duplicate checks, one audit row and one event per customer, "created" on the timeline
    async with db.session() as s:
        idents = set((await s.execute(select(CustomerIdentity.kind, CustomerIdentity.value)
                                      .where(CustomerIdentity.customer_id == a.id))).all())
        assert idents == {("phone", "+8613812345678"), ("email", "a@xinghe.cn"), ("name", "杭州|星河科技")}
        audits = (await s.execute(select(AuditEntry.action, AuditEntry.record_id, AuditEntry.user_id)
                                  .where(AuditEntry.workspace_id == w.workspace_id,
                                         AuditEntry.record_type == "customer"))).all()
        assert sorted(audits) == sorted([("create", a.id, w.users["admin"].id), ("create", b.id, w.users["admin"].id)])
        events = (await s.execute(select(DomainEvent.kind, DomainEvent.customer_id)
                                  .where(DomainEvent.workspace_id == w.workspace_id))).all()
        assert sorted(events) == sorted([("customer.created", a.id), ("customer.created", b.id)])
    r = await call(client, w, "admin", "GET", f"/api/v1/customers/{a.id}/timeline")
    assert [x["kind"] for x in r.json()["items"]] == ["created"]
    r = await call(client, w, "admin", "GET", f"/api/v1/customers/{a.id}/history")
    changes = {c["field"]: c["new"] for c in r.json()["items"][0]["changes"]}
    assert changes["name"] == "星河科技有限公司" and changes["custom"]["level"] == "gold"


async def api_customer(client, w, who, **body):  # type: ignore[no-untyped-def]
    """Made through the API, so it has every identity (phone, email, name in city) the app gives it."""
    r = await call(client, w, who, "POST", "/api/v1/customers", json={"kind": "company", **body})
    assert r.status_code == 201, r.text
    return Customer(id=r.json()["id"], name=r.json()["name"])


async def test_duplicates_skip_update_create(client, db, settings):
    w = await make_world(db)
    existing = await api_customer(client, w, "sales", name="星河科技有限公司", city="杭州", phones=["13812345678"],
                                  emails=["old@xinghe.cn"], tags=["老"])
    hidden = await api_customer(client, w, "other_team", name="远方公司", city="广州", phones=["13700000000"])
    rows = [["客户名称", "手机", "邮箱", "城市", "标签", "备注"],
            ["星河科技", "138-1234-5678", "", "杭州", "新", "by phone"],                # existing, phone
            ["某某", "", "OLD@xinghe.cn", "", "", "by email"],                          # existing, email
            ["星河科技有限责任公司", "", "", "杭州", "", "by name in city"],              # existing, name in city
            ["张 伟", "13512345678", "", "上海", "", "first"],                          # new
            ["张伟", "", "", "上海", "", "same name, same city"],                        # in file, name
            ["ＺＨＡＮＧ", "13512345678", "", "北京", "", "same phone"],                  # in file, phone
            ["星河科技", "", "", "苏州", "", "another city: new"],                       # new
            ["远方", "13700000000", "", "", "", "not visible to sales"]]                # existing, not visible
    data = csv_bytes(rows)

    async def run(mode: str, who: str = "sales", **more: str) -> tuple[dict, list]:  # type: ignore[type-arg]
        imp = (await upload(client, w, who, "dups.csv", data)).json()
        r = await call(client, w, who, "PUT", f"/api/v1/imports/{imp['id']}/mapping",
                       json={"mapping": imp["mapping"], "duplicate_mode": mode, **more})
        assert r.status_code == 200, r.text
        preview = (await call(client, w, who, "GET", f"/api/v1/imports/{imp['id']}/preview")).json()["rows"]
        return imp, preview

    imp, preview = await run("skip")
    dups = [(p["duplicate"] or {}).get("reason") for p in preview]
    assert dups == ["phone", "email", "name", None, "in_file", "in_file", None, "phone"]
    assert [p["action"] for p in preview] == ["skip", "skip", "skip", "create", "skip", "skip", "create", "skip"]
    assert preview[0]["duplicate"]["existing_id"] == existing.id and preview[0]["duplicate"]["existing_name"] == existing.name
    assert preview[4]["duplicate"]["line"] == 5 and preview[5]["duplicate"]["line"] == 5
    assert preview[7]["duplicate"] == {"reason": "phone", "existing_id": None, "existing_name": None, "line": None}
    out = await run_to_end(client, db, settings, w, "sales", imp["id"])
    assert (out["created"], out["updated"], out["skipped"], out["failed"]) == (2, 0, 6, 0)
    names = [c.name for c in await customers_of(db, w)]
    assert names.count("张 伟") == 1 and "星河科技" in names and len(names) == 4
    imp, preview = await run("skip")  # again: everything is a duplicate now
    assert [p["action"] for p in preview] == ["skip"] * 8

    # update, 用文件覆盖: existing records take the file's non-empty values; lists are joined; hidden ones fail the row
    w2 = await make_world(db)
    w = w2
    existing = await api_customer(client, w, "sales", name="星河科技有限公司", city="杭州", phones=["13812345678"],
                                  emails=["old@xinghe.cn"], tags=["老"])
    hidden = await api_customer(client, w, "other_team", name="远方公司", city="广州", phones=["13700000000"])
    imp, preview = await run("update", update_fields="overwrite")
    assert imp["update_fields"] == "fill"  # until the mapping says otherwise
    assert [p["action"] for p in preview] == ["update", "update", "update", "create", "update", "update", "create",
                                              "fail"]
    assert preview[7]["errors"][0]["code"] == "duplicate_not_visible"
    out = await run_to_end(client, db, settings, w, "sales", imp["id"])
    assert (out["created"], out["updated"], out["skipped"], out["failed"]) == (2, 5, 0, 1), out
    async with db.session() as s:
        e = await s.get(Customer, existing.id)
        assert e.tags == ["老", "新"] and e.notes == "by name in city" and e.version == 2
        assert e.phones == ["138 1234 5678"] and e.emails == ["old@xinghe.cn"]
        h = await s.get(Customer, hidden.id)
        assert h.version == 1
        # rows 5 and 6 update the customer row 4 created; later rows of the file win
        zw = await s.scalar(select(Customer).where(Customer.workspace_id == w.workspace_id,
                                                   Customer.phones.is_not(None), Customer.notes == "same phone"))
        assert (zw.name, zw.city, zw.phones) == ("ＺＨＡＮＧ", "北京", ["135 1234 5678"])
        assert e.name == "星河科技有限责任公司"  # the file's name too: "overwrite" takes every value the file has
        ev = (await s.execute(select(DomainEvent.kind).where(DomainEvent.customer_id == existing.id)
                              .order_by(DomainEvent.id))).scalars().all()
        assert list(ev) == ["customer.created", "customer.updated"]  # one update per customer and batch
    r = await call(client, w, "sales", "GET", f"/api/v1/customers/{existing.id}/history")
    assert {c["field"] for c in r.json()["items"][0]["changes"]} == {"name", "tags", "notes"}

    # create: duplicates are created anyway
    w3 = await make_world(db)
    w = w3
    await api_customer(client, w, "sales", name="星河科技有限公司", city="杭州", phones=["13812345678"])
    await api_customer(client, w, "other_team", name="远方公司", city="广州", phones=["13700000000"])
    imp, preview = await run("create")
    assert [p["action"] for p in preview] == ["create"] * 8 and preview[0]["duplicate"]["reason"] == "phone"
    out = await run_to_end(client, db, settings, w, "sales", imp["id"])
    assert (out["created"], out["skipped"]) == (8, 0)
    assert len(await customers_of(db, w)) == 10


async def test_owner_follows_the_importers_scope(client, db, settings):
    w = await make_world(db)
    rows = [["客户名称", "负责人"], ["甲公司", w.users["teammate"].name], ["乙公司", w.users["other_team"].email],
            ["丙公司", ""]]
    # a manager may give customers to their team, not to another team
    imp = (await upload(client, w, "manager", "a.csv", csv_bytes(rows))).json()
    assert imp["mapping"]["负责人"] == "owner"
    out = await run_to_end(client, db, settings, w, "manager", imp["id"])
    assert (out["created"], out["failed"]) == (2, 1)
    owners = {c.name: c.owner_id for c in await customers_of(db, w)}
    assert owners == {"甲公司": w.users["teammate"].id, "丙公司": w.users["manager"].id}
    r = await call(client, w, "manager", "GET", f"/api/v1/imports/{imp['id']}/failed-rows")
    assert "负责人" in r.content.decode("utf-8-sig")
    # a sales rep's imported customers are theirs
    imp = (await upload(client, w, "sales", "b.csv", csv_bytes([["客户名称"], ["丁公司"]]))).json()
    await run_to_end(client, db, settings, w, "sales", imp["id"])
    c = next(c for c in await customers_of(db, w) if c.name == "丁公司")
    assert (c.owner_id, c.team_id) == (w.users["sales"].id, w.users["sales"].team_id)


async def test_failed_rows_file_and_progress(client, db, settings):
    w = await make_world(db)
    rows = [["客户名称", "手机", "备注"]]
    for i in range(250):
        rows.append([f"客户{i:03d}" if i % 50 else "", f"138{i:08d}" if i % 70 else "12", "=cmd|' /C calc'!A0"])
    imp = (await upload(client, w, "admin", "批量.csv", csv_bytes(rows))).json()
    assert (await call(client, w, "admin", "POST", f"/api/v1/imports/{imp['id']}/run")).status_code == 202
    seen: list[runner.Progress] = []
    assert await runner.run_import(db, settings, imp["id"], batch=60, on_progress=seen.append) == "done"
    assert [p.processed for p in seen] == [60, 120, 180, 240, 250]
    assert all(p.total == 250 for p in seen) and seen[-1].created + seen[-1].failed == 250
    out = (await call(client, w, "admin", "GET", f"/api/v1/imports/{imp['id']}")).json()
    failed_lines = sorted({i + 2 for i in range(250) if i % 50 == 0 or i % 70 == 0})
    assert out["failed"] == len(failed_lines) and out["created"] == 250 - len(failed_lines) and out["has_failed_rows"]
    r = await call(client, w, "admin", "GET", f"/api/v1/imports/{imp['id']}/failed-rows")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith("\ufeff".encode())
    got = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"), newline="")))
    assert got[0] == ["客户名称", "手机", "备注", "行号", "错误原因"]
    assert [int(x[3]) for x in got[1:]] == failed_lines
    first = got[1]
    assert first[0] == "" and first[2] == "'=cmd|' /C calc'!A0" and first[4] == "客户名称: 必填; 电话: 不是有效的电话号码"
    r = await call(client, w, "admin", "GET", f"/api/v1/imports/{imp['id']}/failed-rows",
                   headers={"Accept-Language": "en"})
    # the header follows the reader's language; the reasons were written in the importer's
    assert r.content.decode("utf-8-sig").splitlines()[0] in ("客户名称,手机,备注,行号,错误原因", "客户名称,手机,备注,Line,Error")


async def test_row_errors_are_in_the_importers_language(client, db, settings):
    w = await make_world(db, language="en")
    imp = (await upload(client, w, "admin", "a.csv", csv_bytes([["Name", "Mobile"], ["", "12"]]))).json()
    await run_to_end(client, db, settings, w, "admin", imp["id"])
    r = await call(client, w, "admin", "GET", f"/api/v1/imports/{imp['id']}/failed-rows")
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "Name,Mobile,Line,Error"
    assert lines[1] == ",12,2,Name: Required; Phones: Not a valid phone number"


async def test_list_get_cancel_and_isolation(client, db, settings):
    w = await make_world(db)
    other = await make_world(db)
    mine = (await upload(client, w, "sales", "a.csv", csv_bytes([["客户名称"], ["甲"]]))).json()
    theirs = (await upload(client, w, "teammate", "b.csv", csv_bytes([["客户名称"], ["乙"]]))).json()
    foreign = (await upload(client, other, "admin", "c.csv", csv_bytes([["客户名称"], ["丙"]]))).json()
    r = await call(client, w, "sales", "GET", "/api/v1/imports")
    assert [i["id"] for i in r.json()["items"]] == [mine["id"]]
    r = await call(client, w, "admin", "GET", "/api/v1/imports")
    assert [i["id"] for i in r.json()["items"]] == [theirs["id"], mine["id"]]  # newest first
    assert r.json()["items"][0]["created_by_name"] == w.users["teammate"].name
    r = await call(client, w, "admin", "GET", "/api/v1/imports?type=contacts")
    assert r.json()["items"] == []
    for url in (f"/api/v1/imports/{foreign['id']}", f"/api/v1/imports/{foreign['id']}/preview",
                f"/api/v1/imports/{foreign['id']}/failed-rows", f"/api/v1/imports/{theirs['id']}"):
        r = await call(client, w, "sales", "GET", url)
        assert r.status_code == 404 and r.json()["code"] == "not_found", url
    for url in (f"/api/v1/imports/{foreign['id']}/run", f"/api/v1/imports/{foreign['id']}/cancel"):
        assert (await call(client, w, "admin", "POST", url)).status_code == 404
    r = await call(client, w, "admin", "PUT", f"/api/v1/imports/{foreign['id']}/mapping",
                   json={"mapping": {}, "duplicate_mode": "skip"})
    assert r.status_code == 404
    # cancel a queued import: the job then does nothing
    assert (await call(client, w, "sales", "POST", f"/api/v1/imports/{mine['id']}/run")).status_code == 202
    r = await call(client, w, "sales", "POST", f"/api/v1/imports/{mine['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["finished_at"]
    assert await runner.run_import(db, settings, mine["id"]) is None
    assert await customers_of(db, w) == []
    r = await call(client, w, "sales", "POST", f"/api/v1/imports/{mine['id']}/run")
    assert r.status_code == 409


async def test_cancel_while_running_keeps_committed_batches(client, db, settings):
    w = await make_world(db)
    rows = [["客户名称"]] + [[f"客户{i}"] for i in range(100)]
    imp = (await upload(client, w, "admin", "a.csv", csv_bytes(rows))).json()
    await call(client, w, "admin", "POST", f"/api/v1/imports/{imp['id']}/run")
    assert await runner.run_import(db, settings, imp["id"], batch=30, stop_after=2) == "running"
    r = await call(client, w, "admin", "POST", f"/api/v1/imports/{imp['id']}/cancel")
    assert r.json()["status"] == "cancelled" and r.json()["processed"] == 60
    assert await runner.run_import(db, settings, imp["id"]) is None  # nothing to resume
    assert len(await customers_of(db, w)) == 60


async def test_resume_after_an_interrupted_run_repeats_nothing(client, db, settings):
    w = await make_world(db)
    rows = [["客户名称", "手机"]] + [[f"客户{i}", f"139{i:08d}"] for i in range(95)] + [["客户3", "13900000003"]]
    imp = (await upload(client, w, "admin", "a.csv", csv_bytes(rows))).json()
    await call(client, w, "admin", "POST", f"/api/v1/imports/{imp['id']}/run")
    assert await runner.run_import(db, settings, imp["id"], batch=20, stop_after=2) == "running"
    # the process holding it is alive (it is us): another run leaves it alone until the lease runs out
    assert await runner.run_import(db, settings, imp["id"], batch=20) is None
    async with db.session() as s:
        row = await s.get(Import, imp["id"])
        row.locked_until = row.started_at  # the lease ran out
    assert await runner.run_import(db, settings, imp["id"], batch=20) == "done"
    out = (await call(client, w, "admin", "GET", f"/api/v1/imports/{imp['id']}")).json()
    assert (out["processed"], out["created"], out["skipped"]) == (96, 95, 1)
    names = [c.name for c in await customers_of(db, w)]
    assert len(names) == len(set(names)) == 95


async def test_imported_customers_sort_and_rank_like_typed_ones(client, db, settings):
    """An imported customer carries the derived name keys the list sorts and search ranks by."""
    from guanxi.kit import search

    w = await make_world(db)
    imp = (await upload(client, w, "admin", "a.csv", csv_bytes([["客户名称", "城市"], ["张伟", "杭州"],
                                                                  ["阿里巴巴（中国）有限公司", "杭州"]]))).json()
    await run_to_end(client, db, settings, w, "admin", imp["id"])
    got = await customers_of(db, w)
    assert [(c.name_sort, c.name_fold) for c in got] == [(search.sort_key(c.name), search.fold_name(c.name)) for c in got]
    listed = (await call(client, w, "admin", "GET", "/api/v1/customers?sort=name")).json()["items"]
    assert [c["name"] for c in listed] == ["阿里巴巴（中国）有限公司", "张伟"]
    found = (await call(client, w, "admin", "GET", "/api/v1/customers?q=zw")).json()["items"]
    assert [c["name"] for c in found] == ["张伟"]


async def test_duplicates_created_anyway_appear_on_the_duplicates_page(client, db, settings):
    w = await make_world(db)
    rows = [["客户名称", "手机", "城市"], ["星河科技有限公司", "13812345678", "杭州"],
            ["星河科技有限责任公司", "13812345678", "杭州"]]
    imp = (await upload(client, w, "admin", "dup.csv", csv_bytes(rows))).json()
    await run_to_end(client, db, settings, w, "admin", imp["id"], mode="create")
    groups = (await call(client, w, "admin", "GET", "/api/v1/duplicates/customers")).json()["items"]
    assert len(groups) == 1 and sorted(m["name"] for m in groups[0]["members"]) == ["星河科技有限公司", "星河科技有限责任公司"]
    contacts = [["所属客户", "姓名", "手机"], ["星河科技有限公司", "王芳", "13912345678"],
                ["星河科技有限公司", "王 芳", "13912345678"]]
    imp = (await upload(client, w, "admin", "c.csv", csv_bytes(contacts), type_="contacts")).json()
    await run_to_end(client, db, settings, w, "admin", imp["id"], mode="create")
    groups = (await call(client, w, "admin", "GET", "/api/v1/duplicates/contacts")).json()["items"]
    assert len(groups) == 1 and len(groups[0]["members"]) == 2


async def test_update_fills_blanks_by_default_or_overwrites_when_asked(client, db, settings):
    """仅补充空白字段 (the default) keeps every value the record has — a name-variant match "张 伟" leaves "张伟" —
    and fills its empty ones; 用文件覆盖 takes the file's non-empty values. An empty cell never clears anything."""
    rows = [["客户名称", "手机", "城市", "行业", "网站", "备注", "标签"],
            ["张 伟", "13912340000", "", "制造业", "zhangwei.cn", "文件备注", "导入"],
            ["张伟", "13912340000", "", "", "", "第二行备注", ""]]
    data = csv_bytes(rows)

    async def go(**more: str) -> tuple[Any, Any, dict[str, Any]]:
        w = await make_world(db)
        c = await api_customer(client, w, "sales", name="张伟", city="上海", phones=["13912340000"], notes="老备注",
                               tags=["老客户"])
        imp = (await upload(client, w, "sales", "更新.csv", data)).json()
        r = await call(client, w, "sales", "PUT", f"/api/v1/imports/{imp['id']}/mapping",
                       json={"mapping": imp["mapping"], "duplicate_mode": "update", **more})
        assert r.status_code == 200, r.text
        out = await run_to_end(client, db, settings, w, "sales", imp["id"])
        assert (out["created"], out["updated"], out["failed"]) == (0, 2, 0), out
        async with db.session() as s:
            return w, await s.get(Customer, c.id), out

    w, fill, out = await go()  # no update_fields: the default, as older clients send it
    assert out["update_fields"] == "fill"
    assert (fill.name, fill.city, fill.notes) == ("张伟", "上海", "老备注")  # kept
    assert (fill.industry, fill.website) == ("制造业", "zhangwei.cn")  # filled in
    assert fill.tags == ["老客户", "导入"] and fill.phones == ["139 1234 0000"] and fill.version == 2
    r = await call(client, w, "sales", "GET", f"/api/v1/customers/{fill.id}/history")
    assert {c["field"] for c in r.json()["items"][0]["changes"]} == {"industry", "website", "tags"}

    _, over, out = await go(update_fields="overwrite")
    assert out["update_fields"] == "overwrite"
    assert (over.name, over.notes, over.industry) == ("张伟", "第二行备注", "制造业")  # the last row of the file wins
    assert over.city == "上海"  # an empty cell clears nothing
    assert over.tags == ["老客户", "导入"]

    w = await make_world(db)
    imp = (await upload(client, w, "sales", "更新.csv", data)).json()
    r = await call(client, w, "sales", "PUT", f"/api/v1/imports/{imp['id']}/mapping",
                   json={"mapping": imp["mapping"], "duplicate_mode": "update", "update_fields": "replace"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"].endswith("update_fields")
    assert (await call(client, w, "sales", "GET", f"/api/v1/imports/{imp['id']}")).json()["duplicate_mode"] == "skip"


async def test_imported_creation_reads_on_the_timeline_as_one_made_by_hand(client, db, settings):
    """An import's `customer.created` / `contact.created` events name their audit row instead of repeating the new
    values; the timeline shows the same entry as for a customer made in the app, field rules included."""
    w = await make_world(db)
    await make_custom_field(db, w, "level", "select", ["gold", "silver"], label="会员等级")
    body = {"kind": "company", "name": "星河科技有限公司", "phones": ["13812345678"], "emails": ["a@xinghe.cn"],
            "city": "杭州", "stage": "loyal", "grade": "A", "tags": ["VIP", "老客户"], "notes": "重要",
            "birthday": "2020-05-01", "owner_id": w.users["sales"].id, "custom": {"level": "gold"}}
    r = await call(client, w, "admin", "POST", "/api/v1/customers", json=body)
    assert r.status_code == 201, r.text
    typed = r.json()["id"]
    rows = [HEADER + ["会员等级"],
            ["星河科技有限公司", "13812345678", "a@xinghe.cn", "杭州", "忠诚客户", "A", w.users["sales"].name,
             "2020-05-01", "VIP,老客户", "重要", "gold"]]
    imp = (await upload(client, w, "admin", "客户.csv", csv_bytes(rows))).json()
    out = await run_to_end(client, db, settings, w, "admin", imp["id"], mode="create")
    assert out["created"] == 1
    imported = max(c.id for c in await customers_of(db, w))
    async with db.session() as s:
        payload = await s.scalar(select(DomainEvent.payload).where(DomainEvent.record_id == imported,
                                                                   DomainEvent.kind == "customer.created"))
    assert payload == {"label": "星河科技有限公司", "audited": "create"}

    def same(entry: dict[str, Any], cid: int) -> dict[str, Any]:
        return {k: (v.replace(f"/{cid}", "/ID") if k == "link" else v) for k, v in entry.items()
                if k not in ("id", "at", "record_id")}

    for who in ("admin", "sales", "marketing"):  # marketing sees phones masked and notes hidden
        a = (await call(client, w, who, "GET", f"/api/v1/customers/{typed}/timeline")).json()["items"]
        b = (await call(client, w, who, "GET", f"/api/v1/customers/{imported}/timeline")).json()["items"]
        assert [x["kind"] for x in b] == ["created"]
        assert same(b[0], imported) == same(a[-1], typed), who
        assert b[0]["payload"]["changes"], who
    # an imported contact too
    rows = [["所属客户", "联系人", "职位"], [str(imported), "张伟", "总经理"]]
    imp = (await upload(client, w, "admin", "联系人.csv", csv_bytes(rows), "contacts")).json()
    assert (await run_to_end(client, db, settings, w, "admin", imp["id"]))["created"] == 1
    b = (await call(client, w, "admin", "GET", f"/api/v1/customers/{imported}/timeline")).json()["items"]
    assert b[0]["title"] == "添加了联系人 张伟"
    assert {c["field"]: c["new"] for c in b[0]["payload"]["changes"]} == {"name": "张伟", "title": "总经理",
                                                                        "is_primary": True}
