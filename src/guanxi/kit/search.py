"""Search tokens: any part of a name, pinyin and initials, phone digit runs, email parts.

SQLite FTS5 and PostgreSQL tsvector both match a prefix of a token; storing every suffix of a
name (and of its pinyin) turns "contains" into "a token starts with", which both index.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
MAX_SUFFIX = 12
MAX_PINYIN = 32


def words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def pinyin_of(text: str) -> tuple[str, str]:
    """Full pinyin and initials of the CJK characters: 张伟 → ("zhangwei", "zw")."""
    syl = [s for s in lazy_pinyin(text, style=Style.NORMAL, errors="ignore") if s.isalpha()]
    return "".join(syl), "".join(s[0] for s in syl)


def name_tokens(name: str) -> set[str]:
    tokens: set[str] = set()
    for word in words(name):
        if has_cjk(word):
            for i in range(len(word)):
                tokens.add(word[i : i + MAX_SUFFIX])
            syl = [s for s in lazy_pinyin(word, style=Style.NORMAL, errors="ignore") if s.isalpha()]
            for i in range(len(syl)):
                tokens.add("".join(syl[i:])[:MAX_PINYIN])
                tokens.add("".join(s[0] for s in syl[i:])[:MAX_PINYIN])
        else:
            tokens.add(word[:MAX_PINYIN])
    return tokens


def phone_tokens(e164: str) -> set[str]:
    digits = re.sub(r"\D", "", e164)
    national = digits[2:] if digits.startswith("86") else digits
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
def _folded(q: str) -> str:
    return "".join(words(q))


def score(q: str, name: str, phones_e164: Iterable[str], emails: Iterable[str], name_pinyin: str | None = None) -> int:
    """Higher is better: exact name, name prefix, name part, pinyin, initials, phone, email."""
    qf = _folded(q)
    nf = "".join(words(name))
    if not qf:
        return 0
    if nf == qf:
        return 100
    if nf.startswith(qf):
        return 90
    if qf in nf:
        return 80 - min(nf.index(qf), 20)
    if name_pinyin:
        full, _, initials = name_pinyin.partition(" ")
    else:
        full, initials = pinyin_of(name)
    if full == qf or initials == qf:
        return 70
    if full.startswith(qf) or initials.startswith(qf):
        return 60
    if qf in full or qf in initials:
        return 50
    if qf.isdigit() and any(qf in p for p in phones_e164):
        return 40
    if any(qf in "".join(words(e)) or q.lower() == e for e in emails):
        return 35
    return 10
