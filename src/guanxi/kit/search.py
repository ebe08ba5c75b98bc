"""Search tokens: any part of a name, pinyin and initials, phone digit runs, email parts.

SQLite FTS5 and PostgreSQL tsvector both match a prefix of a token; storing every suffix of a
name (and of its pinyin) turns "contains" into "a token starts with", which both index.
"""

from __future__ import annotations

import itertools
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any

# pypinyin's phrase dictionary costs ~45 MB in every server process; names need readings, not phrases:
# characters read differently in names and places get their other reading indexed too (ALT_READINGS).
os.environ.setdefault("PYPINYIN_NO_PHRASES", "true")

from pypinyin import Style, lazy_pinyin

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
MAX_SUFFIX = 12
MAX_PINYIN = 32


def words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


# Second readings that matter for names and places (surnames 单 Shan, 曾 Zeng; 重庆 Chongqing, 银行 yinhang …).
ALT_READINGS = {
    "重": "chong", "长": "chang", "行": "hang", "厦": "xia", "朝": "zhao", "乐": "yue", "单": "shan", "曾": "zeng",
    "解": "xie", "仇": "qiu", "查": "zha", "区": "ou", "朴": "piao", "盛": "cheng", "翟": "zhai", "尉": "yu",
    "覃": "qin", "会": "kuai", "调": "diao", "藏": "zang", "都": "du", "传": "zhuan", "柏": "bo", "秘": "bi",
    "种": "chong", "缪": "miao", "莘": "shen", "蔚": "yu", "句": "gou", "参": "shen", "番": "pan", "蚌": "beng",
    "六": "lu",
}
MAX_VARIANTS = 4


@lru_cache(maxsize=32768)
def _readings(ch: str) -> tuple[str, ...]:
    """A character's readings, the usual one first; () when pypinyin has none. Without phrases a character
    reads the same wherever it stands, so the answer is cached per character (bulk imports index millions)."""
    found = lazy_pinyin([ch], style=Style.NORMAL, errors="ignore")
    if not found or not found[0].isalpha():
        return ()
    alt = ALT_READINGS.get(ch)
    return (found[0], alt) if alt and alt != found[0] else (found[0],)


def reading(ch: str) -> str:
    """The usual toneless reading of one CJK character ("" when pypinyin has none)."""
    r = _readings(ch)
    return r[0] if r else ""


def syllables(text: str) -> list[list[str]]:
    """Readings per CJK character, the usual one first: 重庆 → [["zhong", "chong"], ["qing"]]."""
    return [list(r) for r in _syllables(text)]


class _PerChar(dict[str, Any]):
    """A value per character, computed on first sight: a bulk import asks about the same few thousand characters
    millions of times."""

    def __init__(self, compute: Callable[[str], Any]) -> None:
        super().__init__()
        self.compute = compute

    def __missing__(self, ch: str) -> Any:
        value = self.compute(ch)
        if len(self) < 65536:  # a file of every code point does not grow it without end
            self[ch] = value
        return value


# a CJK character's readings (None for any other character, or a CJK one pypinyin cannot read)
_CHAR_READINGS = _PerChar(lambda ch: (_readings(ch) or None) if _CJK.match(ch) else None)
# what a character of a folded name adds to its sort key
_SORT_CHAR = _PerChar(lambda ch: "" if ch.isspace() else (reading(ch) or ch) if _CJK.match(ch) else ch)


@lru_cache(maxsize=4096)  # a name's pinyin key and its search document read the same name one after the other
def _syllables(text: str) -> tuple[tuple[str, ...], ...]:
    return tuple(r for r in map(_CHAR_READINGS.__getitem__, text) if r)


def sort_key(name: str) -> str:
    """How names sort in a Chinese list: by pinyin, letters and digits as themselves (阿里 < Baidu < 张伟)."""
    folded = unicodedata.normalize("NFKC", name).lower()
    return "".join(map(_SORT_CHAR.__getitem__, folded))[:200]


def variants(readings: Sequence[Sequence[str]]) -> list[list[str]]:
    """At most MAX_VARIANTS spellings; the first uses every usual reading, the rest each swap in other ones."""
    poly = [i for i, r in enumerate(readings) if len(r) > 1][:2]
    if not poly:  # most names: one spelling
        return [[r[0] for r in readings]]
    out = []
    for choice in itertools.product(*[(0, 1) if i in poly else (0,) for i in range(len(readings))]):
        out.append([readings[i][c] for i, c in enumerate(choice)])
    return out[:MAX_VARIANTS]


def pinyin_of(text: str) -> tuple[str, str]:
    """Full pinyin and initials with the usual readings: 张伟 → ("zhangwei", "zw")."""
    syl = [r[0] for r in syllables(text)]
    return "".join(syl), "".join(s[0] for s in syl)


def pinyin_key(text: str) -> str:
    """Stored beside the name for ranking: "full initials" per spelling, space-separated."""
    return " ".join(f"{''.join(v)} {''.join(s[0] for s in v)}" for v in variants(syllables(text)))[:400]


def name_tokens(name: str) -> set[str]:
    tokens: set[str] = set()
    for word in words(name):
        if has_cjk(word):
            tokens.update(word[i : i + MAX_SUFFIX] for i in range(len(word)))
            for syl in variants(syllables(word)):
                full = initials = ""
                for s in reversed(syl):  # every suffix, built from the end
                    full, initials = s + full, s[0] + initials
                    tokens.add(full[:MAX_PINYIN])
                    tokens.add(initials[:MAX_PINYIN])
        else:
            tokens.add(word[:MAX_PINYIN])
    return tokens


_NOT_DIGIT = re.compile(r"\D")


def phone_tokens(e164: str) -> set[str]:
    digits = _NOT_DIGIT.sub("", e164)
    national = digits.removeprefix("86")
    tokens = {national[i:] for i in range(len(national) - 3)}
    tokens.add(digits)
    return tokens


def email_tokens(email: str) -> set[str]:
    return set(words(email))


def document(name: str, phones_e164: Iterable[str], emails: Iterable[str], extra: Iterable[str] = ()) -> str:
    tokens = name_tokens(name)
    for p in phones_e164:
        tokens |= phone_tokens(p)
    for e in emails:
        tokens |= email_tokens(e)
    for x in extra:
        tokens |= set(words(x))
    return " ".join(sorted(tokens))


def query_terms(q: str) -> list[str]:
    return [w[:MAX_PINYIN] for w in words(q)][:8]


@lru_cache(maxsize=256)
def fold_name(text: str) -> str:
    """Letters and digits only, NFKC, lower case: what name matching compares (kept as customers.name_fold)."""
    return "".join(words(text))[:200]



PHONE, EMAIL, OTHER = 40, 35, 10  # scores of matches that come from neither the name nor its pinyin


def score(q: str, name: str, phones_e164: Iterable[str], emails: Iterable[str], name_pinyin: str | None = None) -> int:
    """Higher is better: exact name, name prefix, name part, pinyin, initials, phone, email."""
    qf = fold_name(q)
    nf = "".join(words(name))
    if not qf:
        return 0
    if nf == qf:
        return 100
    if nf.startswith(qf):
        return 90
    if qf in nf:
        return 80 - min(nf.index(qf), 20)
    spellings = (name_pinyin or pinyin_key(name)).split(" ")
    if qf in spellings:
        return 70
    if any(sp.startswith(qf) for sp in spellings):
        return 60
    if any(qf in sp for sp in spellings):
        return 50
    if qf.isdigit() and any(qf in p for p in phones_e164):
        return PHONE
    if any(qf in "".join(words(e)) or q.lower() == e for e in emails):
        return EMAIL
    return OTHER
