"""Search tokens: names are found by any of their usual spellings, with a small memory footprint."""

from __future__ import annotations

import subprocess
import sys

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
