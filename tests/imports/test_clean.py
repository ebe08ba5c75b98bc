"""The import's fast paths give exactly what the app's normalisers give, and the cell parsers read what people type."""

from __future__ import annotations

import random
from datetime import date

import pytest

from guanxi.imports import clean
from guanxi.kit import search
from guanxi.kit.normalize import PhoneError, normalize_email, normalize_phone


def _slow_phone(x: str) -> object:
    try:
        return normalize_phone(x)
    except PhoneError:
        return "invalid"


def _fast_phone(x: str) -> object:
    try:
        return clean.phone(x)
    except PhoneError:
        return "invalid"


def test_phones_match_normalize_phone():
    rng = random.Random(2026)
    samples = []
    for _ in range(20_000):
        kind = rng.random()
        if kind < 0.4:  # mobiles, valid and not (140, 141, 154 … are no mobile blocks)
            d = f"1{rng.randint(0, 9)}{rng.randint(0, 9)}" + "".join(rng.choice("0123456789") for _ in range(8))
            samples.append(rng.choice(["{}", "+86 {}", "{}-", "86{}"]).format(d).rstrip("-"))
        else:  # landlines of every area code, with and without the national prefix
            area = str(rng.choice([10, 20, 21, 22, 23, 24, 25, 27, 28, 29, *range(310, 1000)]))
            sub = "".join(rng.choice("0123456789") for _ in range(rng.choice([7, 8, 8])))
            samples.append(rng.choice(["0{}-{}", "0{} {}", "+86 {} {}", "(0{}){}", "0{}{}", "{}{}"]).format(area, sub))
    samples += ["13812345678", "138-1234-5678", "１３８１２３４５６７８", "+1 415 555 2671", "12345", "", "   "]
    mismatches = [x for x in samples if _slow_phone(x) != _fast_phone(x)]
    assert mismatches == []


def test_emails_match_normalize_email():
    rng = random.Random(7)
    domains = ["xinghe.cn", "Example.COM", "a-b.com.cn", "ab--cd.com", "xn--fiqs8s.cn", "mail.test", "x.local",
               "localhost", "a.arpa", "中国.cn", "q.onion", "b.invalid", "1.2.3.4", "sub.domain.co", "a.b-.com"]
    locals_ = ["zhang.wei", "Li_Lei+crm", "a..b", ".a", "o'brien", "x" * 65, "用户", "a b", "ok"]
    samples = [f"{lo}@{d}" for lo in locals_ for d in domains]
    samples += [f"user{rng.randint(0, 10**6)}@{rng.choice(domains)}" for _ in range(500)]
    samples += ["no-at-sign", "a@b", "a@@b.cn", " Sales@XingHe.CN ", "a@" + "x" * 250 + ".com"]

    def slow(x: str) -> str:
        try:
            return normalize_email(x)
        except ValueError:
            return "invalid"

    def fast(x: str) -> str:
        try:
            return clean.email(x)
        except ValueError:
            return "invalid"

    assert [x for x in samples if slow(x) != fast(x)] == []


def test_pinyin_cache_gives_the_same_documents():
    names = ["重庆长安汽车股份有限公司", "单田芳", "张 伟", "乐清市曾氏五金", "Daniel Wong", "厦门银行", "𠮷野家"]
    for name in names:
        search._syllables.cache_clear()
        first = (search.pinyin_key(name), search.document(name, ["+8613812345678"], ["a@b.cn"]))
        assert first == (search.pinyin_key(name), search.document(name, ["+8613812345678"], ["a@b.cn"]))
    assert search.pinyin_key("重庆") == "zhongqing zq chongqing cq"


@pytest.mark.parametrize(("raw", "expected"), [
    ("2020-05-01", date(2020, 5, 1)), ("2020/5/1", date(2020, 5, 1)), ("2020.05.01", date(2020, 5, 1)),
    ("2020年5月1日", date(2020, 5, 1)), ("20200501", date(2020, 5, 1)), ("２０２０－０５－０１", date(2020, 5, 1)),
    ("2020-05-01 00:00", date(2020, 5, 1)),
])
def test_dates(raw, expected):
    assert clean.parse_date(raw) == expected


@pytest.mark.parametrize("raw", ["2023-13-45", "明天", "05/01/2020", "1899-01-01", "2020-02-30"])
def test_bad_dates(raw):
    with pytest.raises(ValueError):
        clean.parse_date(raw)


def test_datetimes_are_the_workspaces_local_time():
    assert clean.parse_datetime("2026-11-01 14:30", "Asia/Shanghai").isoformat() == "2026-11-01T06:30:00+00:00"
    assert clean.parse_datetime("2026年11月1日 下午2:30", "Asia/Shanghai").isoformat() == "2026-11-01T06:30:00+00:00"
    assert clean.parse_datetime("2026-11-01T14:30:00+00:00", "Asia/Shanghai").isoformat() == "2026-11-01T14:30:00+00:00"
    with pytest.raises(ValueError):
        clean.parse_datetime("2026-11-01 25:99", "Asia/Shanghai")
