"""Large imports clean and build their rows in a worker process: the result is exactly what the same import
gives in one process, also when the run is interrupted and resumed; the fast phone and email paths the cleaning
uses agree with the app's normalisers on any input."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select

from guanxi.audit.models import AuditEntry, DomainEvent
from guanxi.customers.models import Customer, CustomerIdentity
from guanxi.dedupe.models import DuplicateGroup
from guanxi.imports import clean, runner
from guanxi.imports.models import Import, ImportFailure
from guanxi.kit.normalize import PhoneError, normalize_email, normalize_phone
from tests.fixtures.factories import call, make_world
from tests.imports.conftest import upload

pytestmark = pytest.mark.anyio

HEADER = ["客户名称", "手机", "邮箱", "城市", "客户阶段", "负责人", "成立日期", "标签", "备注", "微信"]


def sample_file(sales_name: str) -> bytes:
    rows = [HEADER]
    for i in range(240):
        if i % 37 == 5:
            rows.append(["", "12345", "not-an-email@", "杭州", "未知阶段", "不存在的人", "2023-13-45", "", "", ""])
        elif i % 29 == 3:  # an earlier row again: its phone, or its name in the same city written another way
            j = i - 2
            rows.append([f"鹏程{j}物流" if i % 2 else f"鹏程{j} 物流", f"137{j:08d}" if i % 2 else "", "",
                         "杭州", "忠诚客户", "", "", "新标签", "又一行", ""])
        else:
            rows.append([f"鹏程{i}物流", f"137{i:08d}; 0571-8{i:07d}", f"Sales{i}@PengCheng{i}.cn", "杭州",
                         ["潜在客户", "忠诚客户", "流失"][i % 3], sales_name if i % 4 == 0 else "", "2020/5/1",
                         "VIP；老客户", f"备注{i}", f"wx{i}"])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue().encode("utf-8-sig")


async def outcome(db, w, import_id: int) -> dict:  # type: ignore[no-untyped-def]
    """Everything an import leaves, without ids and times: customers, identities, groups, audit, events (user and
    team ids as the world's names for them: the two runs go to two workspaces)."""
    workspace_id = w.workspace_id
    who = {u.id: f"user:{k}" for k, u in w.users.items()} | {None: None}
    team = {t: f"team:{k}" for k, t in w.teams.items()} | {None: None}

    def named(changes: list[dict]) -> str:
        out = [dict(c, new=(who if c["field"] == "owner_id" else team)[c["new"]])
               if c["field"] in ("owner_id", "team_id") else c for c in changes]
        return json.dumps(out, sort_keys=True, ensure_ascii=False)

    async with db.session() as s:
        imp = await s.get(Import, import_id)
        cs = list(await s.scalars(select(Customer).where(Customer.workspace_id == workspace_id).order_by(Customer.id)))
        by_id = {c.id: c.name for c in cs}
        customers = [(c.name, c.name_pinyin, c.name_sort, c.name_fold, c.phones, c.emails, c.city, c.stage, c.tags,
                      who[c.owner_id], team[c.team_id], c.birthday, c.notes, c.wechat, c.version) for c in cs]
        idents = sorted((by_id[i.customer_id], i.kind, i.value) for i in await s.scalars(
            select(CustomerIdentity).where(CustomerIdentity.workspace_id == workspace_id)))
        groups = sorted((g.kind, g.value, g.size, by_id[g.anchor_id]) for g in await s.scalars(
            select(DuplicateGroup).where(DuplicateGroup.workspace_id == workspace_id)))
        audits = sorted((a.action, a.record_label, named(a.changes["items"]))
                        for a in await s.scalars(select(AuditEntry).where(AuditEntry.workspace_id == workspace_id,
                                                                          AuditEntry.record_type == "customer")))
        events = sorted((e.kind, by_id[e.customer_id], e.payload["label"], named(e.payload.get("changes", [])),
                         sorted(e.payload))
                        for e in await s.scalars(select(DomainEvent).where(DomainEvent.workspace_id == workspace_id,
                                                                           DomainEvent.record_type == "customer")))
        failures = [(f.line, f.error) for f in await s.scalars(
            select(ImportFailure).where(ImportFailure.import_id == import_id).order_by(ImportFailure.line))]
        counts = (imp.status, imp.processed, imp.created, imp.updated, imp.skipped, imp.failed)
    return {"counts": counts, "customers": customers, "identities": idents, "groups": groups, "audits": audits,
            "events": events, "failures": failures}


async def search_names(client, w, q: str) -> list[str]:  # type: ignore[no-untyped-def]
    r = await call(client, w, "admin", "GET", f"/api/v1/customers?q={q}")
    assert r.status_code == 200, r.text
    return sorted(c["name"] for c in r.json()["items"])


@pytest.mark.parametrize("mode", ["skip", "update", "create"])
async def test_the_worker_gives_what_one_process_gives_even_when_interrupted(client, db, settings, mode):
    base = settings
    got = []
    for use_worker in (False, True):
        w = await make_world(db)
        data = sample_file(w.users["sales"].name)
        imp = (await upload(client, w, "admin", "客户.csv", data)).json()
        r = await call(client, w, "admin", "PUT", f"/api/v1/imports/{imp['id']}/mapping",
                       json={"mapping": imp["mapping"], "duplicate_mode": mode})
        assert r.status_code == 200, r.text
        await call(client, w, "admin", "POST", f"/api/v1/imports/{imp['id']}/run")
        settings = base.model_copy(update={"import_worker_min_rows": 0 if use_worker else 10**9})
        # two batches, then the process "dies": the lease runs out and another run resumes from the checkpoint
        assert await runner.run_import(db, settings, imp["id"], batch=50, stop_after=2) == "running"
        async with db.session() as s:
            row = await s.get(Import, imp["id"])
            assert row.checkpoint == 100
            row.locked_until = row.started_at
        timings: dict[str, float] = {}
        assert await runner.run_import(db, settings, imp["id"], batch=50, timings=timings) == "done"
        assert (timings.get("worker_cpu", 0) > 0) == use_worker
        got.append(await outcome(db, w, imp["id"]))
        assert await search_names(client, w, "13700000200") == ["鹏程200物流"]
        assert await search_names(client, w, "pengcheng201") == ["鹏程201物流"]  # pinyin
        assert await search_names(client, w, "sales202") == ["鹏程202物流"]
    one, two = got
    assert one["counts"] == two["counts"] and one["counts"][1] == 240
    assert one["counts"][2] > 150 and one["counts"][5] == 7
    assert one["counts"][3] > 0 if mode == "update" else one["counts"][4] > 0 if mode == "skip" else True
    for part in ("customers", "identities", "groups", "failures", "audits", "events"):
        assert one[part] == two[part], part
    # one audit row and one event per customer created or changed (rows folded into an earlier row of the same
    # batch count as updated and change that row's new customer)
    assert one["counts"][2] <= len(one["events"]) == len(one["audits"]) <= one["counts"][2] + one["counts"][3]
    names = [c[0] for c in two["customers"]]
    assert len(names) == len(set(names)) or mode == "create"  # no row twice (only "create anyway" repeats)
    if mode == "create":
        assert two["groups"], "customers created anyway are listed as duplicates"


async def test_a_failing_worker_fails_the_import(client, db, settings):
    w = await make_world(db)
    imp = (await upload(client, w, "admin", "客户.csv", sample_file(w.users["sales"].name))).json()
    await call(client, w, "admin", "POST", f"/api/v1/imports/{imp['id']}/run")
    settings = settings.model_copy(update={"import_worker_min_rows": 0})
    async with db.session() as s:
        row = await s.get(Import, imp["id"])
        row.storage_path = row.storage_path + ".gone"  # the worker cannot open the file
    assert await runner.run_import(db, settings, imp["id"], batch=50) == "failed"
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Customer)
                              .where(Customer.workspace_id == w.workspace_id)) == 0
        assert (await s.get(Import, imp["id"])).status == "failed"


# ------------------------------------------------------------------ fast paths = slow paths, on any input

def _phone(f, x: str) -> object:  # type: ignore[no-untyped-def]
    try:
        return f(x)
    except PhoneError:
        return "invalid"


def _email(f, x: str) -> object:  # type: ignore[no-untyped-def]
    try:
        return f(x)
    except ValueError:
        return "invalid"


digits = st.text("0123456789", min_size=0, max_size=13)
mobile = st.builds(lambda a, b: f"1{a}{b}", st.sampled_from("3456789"), st.text("0123456789", min_size=9, max_size=9))
landline = st.builds(lambda area, sub: f"{area}{sub}",
                     st.sampled_from(["10", "20", "21", "22", "23", "24", "25", "27", "28", "29",
                                      *(str(a) for a in range(310, 1000, 7))]),
                     st.text("0123456789", min_size=6, max_size=9))
phones = st.one_of(
    st.builds(lambda fmt, d: fmt.format(d), st.sampled_from(["{}", "+86 {}", "+86{}", "0{}", "(0{})", "86{}", "+{}",
                                                             "00{}", "{}-"]), st.one_of(mobile, landline, digits)),
    st.builds(lambda d, sep: sep.join([d[:3], d[3:7], d[7:]]), st.one_of(mobile, landline), st.sampled_from(
        [" ", "-", ".", "", "  "])),
    st.text(st.sampled_from("0123456789 -+().#x１２３"), max_size=20),
)


@hsettings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(phones)
def test_fast_phone_path_equals_phonenumbers(raw):
    assert _phone(clean.phone, raw) == _phone(normalize_phone, raw)


local = st.text(st.sampled_from("abcXYZ019._+-'!#~"), min_size=0, max_size=70)
domain = st.one_of(
    st.sampled_from(["xinghe.cn", "Example.COM", "a-b.com.cn", "ab--cd.com", "xn--fiqs8s.cn", "mail.test", "x.local",
                     "localhost", "a.arpa", "中国.cn", "q.onion", "b.invalid", "1.2.3.4", "a.b-.com", "x.co", "c.c"]),
    st.builds(lambda labels, tld: ".".join([*labels, tld]),
              st.lists(st.text(st.sampled_from("ab9-"), min_size=0, max_size=64), min_size=1, max_size=3),
              st.text(st.sampled_from("cnoma1-"), min_size=0, max_size=6)),
)
emails = st.one_of(st.builds(lambda lo, d, pad: f"{pad}{lo}@{d}{pad}", local, domain, st.sampled_from(["", " "])),
                   st.text(max_size=30))


@hsettings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(emails)
def test_fast_email_path_equals_email_validator(raw):
    assert _email(clean.email, raw) == _email(normalize_email, raw)
