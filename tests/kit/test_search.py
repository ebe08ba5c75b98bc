"""Search tokens: names are found by any of their usual spellings, with a small memory footprint."""

from __future__ import annotations

import subprocess
import sys

import pytest

from guanxi.kit import search


def test_usual_reading_first():
    assert search.pinyin_of("张伟") == ("zhangwei", "zw")
    assert search.pinyin_key("张伟") == "zhangwei zw"


def test_names_and_places_are_found_by_their_other_readings():
    tokens = search.name_tokens("重庆长安汽车有限公司")
    assert {"chongqingchanganqicheyouxiangong"[: search.MAX_PINYIN], "cqcaqcyxgs", "zqzaqcyxgs"} <= tokens
    assert {"sxx", "shanxiongxin"} <= search.name_tokens("单雄信")
    assert {"zgf", "zengguofan"} <= search.name_tokens("曾国藩")
    assert "zhaoshangyinhang" in search.name_tokens("招商银行")
    assert "xmhk" in search.name_tokens("厦门航空")


def test_spellings_are_bounded():
    name = "重长行厦朝乐单曾解仇查"
    assert len(search.variants(search.syllables(name))) <= search.MAX_VARIANTS
    assert len(search.pinyin_key(name * 10)) <= 400


def test_ranking_uses_every_spelling():
    key = search.pinyin_key("重庆银行")
    assert search.score("cqyh", "重庆银行", [], [], key) == 70
    assert search.score("chongq", "重庆银行", [], [], key) == 60
    assert search.score("zw", "张伟", [], [], None) == 70


def test_phrase_dictionary_stays_out_of_memory():
    code = "import guanxi.kit.search as s; s.name_tokens('重庆'); import sys; print('pypinyin.phrases_dict' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_name_key_folds_spacing_width_brackets_and_legal_form():
    from guanxi.kit.normalize import name_identity, name_key
    same = ["星河科技有限公司", "星河科技有限责任公司", "星河科技 股份有限公司", "ＸＩＮＧＨＥ", "星河科技"]
    assert {name_key(n) for n in same[:3] + same[4:]} == {"星河科技"}
    assert name_key("张 伟") == name_key("张伟") == "张伟"
    assert name_key("星河（北京）科技有限公司") == name_key("星河(北京)科技有限公司")
    assert name_key("公司") == "公司"  # a name that is only a legal form stays itself
    assert name_identity("张伟", "Ｈangzhou ") == ("name", "hangzhou|张伟")
    assert name_identity("  ", "杭州") is None


@pytest.mark.anyio
async def test_sql_ranking_agrees_with_search_score(db):
    """The list ranks in SQL (customers.repository.rank_expr); search.score is its spec, case by case."""
    from sqlalchemy import select

    from guanxi.customers import repository as repo
    from guanxi.customers.models import Customer
    from tests.fixtures.factories import make_customer, make_world

    w = await make_world(db)
    names = ["张伟", "张伟明", "李张伟", "重庆银行", "星河（北京）科技有限公司", "Apple Inc"]
    for n in names:
        await make_customer(db, w, "sales", name=n, phones=["13812345678"], emails=["zw.sales@xinghe.cn"])
    queries = ["张伟", "张", "伟", "zw", "zhangwei", "cqyh", "chongq", "北京科技", "apple", "12345678", "xinghe", "zzz"]
    async with db.session() as s:
        rows = (await s.execute(select(Customer.id, Customer.name, Customer.phones, Customer.emails,
                                       Customer.name_pinyin).where(Customer.workspace_id == w.workspace_id))).all()
        for q in queries:
            tier = repo.rank_expr(repo.dialect(s), q.isdigit(), True, True, True)
            got = dict((await s.execute(select(Customer.id, tier).where(Customer.workspace_id == w.workspace_id),
                                        repo.rank_params(q))).all())
            for r in rows:
                digits = ["".join(ch for ch in ph if ch.isdigit()) for ph in r.phones] if q.isdigit() else []
                assert got[r.id] == search.score(q, r.name, digits, r.emails, r.name_pinyin), (q, r.name)
