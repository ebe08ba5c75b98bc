"""The import's shortcuts give exactly what the plain code gives: memoised cell cleaning, the created-record JSON,
and the per-character caches of the search keys."""

from __future__ import annotations

import itertools
import unicodedata
from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from guanxi.authz.core import Principal
from guanxi.imports import engine
from guanxi.kit import search

P = Principal(user_id=1, workspace_id=1, name="admin", role_key="admin", scope="all",
              permissions={"customers": ["view", "edit"]}, field_rules={}, team_id=7, team_ids=frozenset({7}))
COLUMNS = ["name", "city", "industry", "stage", "grade", "tags", "birthday", "owner", "custom.budget", "custom.level", "custom.products",
           "custom.renew", "custom.visit", "custom.count", "custom.who", "custom.note"]
CELLS = {
    "city": ["杭州", " 杭州 ", "Ｈａｎｇｚｈｏｕ", "杭" * 31, ""],
    "industry": ["制造业", "x" * 51, ""],
    "stage": ["潜在客户", "忠诚客户", "loyal", "LOYAL", " 流失 ", "未知阶段", ""],
    "grade": ["A", "a", "A级", "B类客户", "Z", ""],
    "tags": ["VIP；老客户", "VIP,VIP", "x" * 31, ";".join(f"t{i}" for i in range(21)), "", "新"],
    "birthday": ["2020-05-01", "2020/5/1", "2023-13-45", "20200501", "1899-01-01", "２０２０年５月１日", ""],
    "owner": ["sales", "Sales", "不存在的人", ""],
    "custom.budget": ["1,500", "￥2000.5", "abc", "1e20", "-3", ""],
    "custom.level": ["gold", "GOLD", "金卡", "iron", ""],
    "custom.products": ["a、b", "b;a", "a;zzz", ""],
    "custom.renew": ["是", "否", "maybe", "1", ""],
    "custom.visit": ["2026-01-02", "2026-02-30", "soon", ""],
    "custom.count": ["3", "3.5", "x", ""],
    "custom.who": ["sales", "nobody", ""],
    "custom.note": ["x" * 2001, " 备注 ", ""],
}


def context(memo_max: int | None = None) -> engine.Ctx:
    defs = {
        "budget": engine.FieldDef("budget", "money", [], False, "预算", None),
        "level": engine.FieldDef("level", "select", [{"value": "gold", "label": "金卡"}, {"value": "silver", "label": "银卡"}],
                                 True, "等级", None),
        "products": engine.FieldDef("products", "multiselect", [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}],
                                    False, "产品", None),
        "renew": engine.FieldDef("renew", "boolean", [], False, "续约", None),
        "visit": engine.FieldDef("visit", "date", [], False, "拜访", None),
        "count": engine.FieldDef("count", "number", [], False, "数量", None),
        "who": engine.FieldDef("who", "user", [], False, "经理", None),
        "note": engine.FieldDef("note", "text", [], False, "说明", None),
    }
    ctx = engine.Ctx(p=P, type="customers", lang="zh-CN", mode="skip", columns=list(enumerate(COLUMNS)), defs=defs,
                     required_custom=["level"], may_assign=True, my_team=7)
    ctx.users = {"sales": (2, 7)}
    ctx.user_names = {2: "sales"}
    return ctx


def cleaned(ctx: engine.Ctx, rows: list[list[str]]) -> list[Any]:
    out = []
    for i, cells in enumerate(rows):
        r = engine.clean_row(ctx, i + 2, cells)
        out.append((r.values, [dict(e) for e in r.errors], r.identities))
    return out


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(*[st.sampled_from(CELLS.get(c, ["星河科技", "张伟", ""])) for c in COLUMNS]),
                min_size=1, max_size=30))
def test_memoised_cleaning_gives_what_cleaning_each_cell_gives(rows):
    rows = [list(r) for r in rows]
    memoised = engine._memo
    engine._memo = lambda ctx, row, column, key, raw, clean_one: clean_one(ctx, row, key, raw)  # every cell cleaned
    try:
        plain_rows = cleaned(context(), rows)
    finally:
        engine._memo = memoised
    memo = context()
    assert cleaned(memo, rows) == plain_rows
    assert cleaned(memo, rows) == plain_rows  # every cell from the memo now
    # a row's lists are its own: changing one does not change the next row's
    a, b = engine.clean_row(memo, 2, rows[0]), engine.clean_row(memo, 3, rows[0])
    for k, v in a.values.items():
        if isinstance(v, list):
            assert v is not b.values[k]


def test_the_memo_of_a_column_stops_growing():
    ctx = context()
    for i in range(engine.MEMO_MAX + 10):
        engine.clean_row(ctx, i, ["x", "", "", "", "", "", "", "", "", "", "", "", "", "", "", f"n{i}"])
    assert len(ctx.memo["custom.note"]) == engine.MEMO_MAX


values = st.one_of(st.none(), st.text(max_size=5), st.integers(-10**6, 10**6), st.booleans(),
                   st.dates(date(1900, 1, 1), date(2200, 1, 1)), st.lists(st.text(max_size=3), max_size=3),
                   st.dictionaries(st.text(max_size=3), st.one_of(st.text(max_size=3), st.integers(-10**15, 10**15), st.booleans(),
                                                                   st.decimals(allow_nan=False, places=2),
                                                                   st.lists(st.text(max_size=2), max_size=2)),
                                   max_size=3))


@hsettings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({f: values for f in {*engine.CUSTOMER_FIELDS, "team_id"}}))
def test_created_json_is_the_json_of_created_changes(rec):
    after = {f: rec.get(f) for f in engine.CUSTOMER_FIELDS} | {"team_id": rec["team_id"]}
    after = {k: v for k, v in after.items() if v not in (None, [], {})}
    assert engine.created_json(rec) == engine._json(engine.created_changes(after))
    assert engine.created_json({"birthday": date(2020, 5, 1), "custom": {"m": Decimal("1.50")}}) == (
        '[{"field":"birthday","old":null,"new":"2020-05-01"},{"field":"custom","old":null,"new":{"m":"1.50"}}]')


# ---------------------------------------------------------------- the search keys, as they were computed before the
# per-character caches


def _old_syllables(text: str) -> list[list[str]]:
    return [list(r) for ch in text if search._CJK.match(ch) and (r := search._readings(ch))]


def _old_sort_key(name: str) -> str:
    folded = unicodedata.normalize("NFKC", name).lower()
    return "".join(search.reading(ch) or ch if search._CJK.match(ch) else ch for ch in folded if not ch.isspace())[:200]


def _old_variants(readings: list[list[str]]) -> list[list[str]]:
    poly = [i for i, r in enumerate(readings) if len(r) > 1][:2]
    out = []
    for choice in itertools.product(*[(0, 1) if i in poly else (0,) for i in range(len(readings))]):
        out.append([readings[i][c] for i, c in enumerate(choice)])
    return out[:search.MAX_VARIANTS]


names = st.text(alphabet=st.sampled_from(list("张伟重庆长安银行厦门单曾乐𠮷野家星河科技有限公司ＡＢab12 　\t-_·（）") + ["\u3400", "\u9fff"]),
                max_size=30)


@hsettings(max_examples=400, deadline=None)
@given(names)
def test_search_keys_match_the_uncached_computation(name):
    assert search.sort_key(name) == _old_sort_key(name)
    assert search.syllables(name) == _old_syllables(name)
    assert search.variants(search.syllables(name)) == _old_variants(_old_syllables(name))
    key = " ".join(f"{''.join(v)} {''.join(s[0] for s in v)}" for v in _old_variants(_old_syllables(name)))[:400]
    assert search.pinyin_key(name) == key
