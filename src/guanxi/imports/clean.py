"""Turning cells into values: phones, emails, dates, options, users — fast for the common case, exact always.

The fast paths give exactly what the app's own normalisers give (`guanxi.kit.normalize`): a mainland mobile number
that matches the mobile pattern of libphonenumber's own metadata is formatted without parsing, and an email of
plain ASCII characters is lower-cased once its domain has been checked by `normalize_email`; everything else
falls back to the normalisers themselves.
"""

from __future__ import annotations

import random
import re
import unicodedata
from datetime import UTC, date, datetime, time
from functools import lru_cache

from phonenumbers import PhoneMetadata

from guanxi.kit.normalize import PhoneError, normalize_email, normalize_phone
from guanxi.kit.timeutil import zone

_CN = PhoneMetadata.metadata_for_region("CN")
_MOBILE = re.compile(f"(?:{_CN.mobile.national_number_pattern})$") if _CN and _CN.mobile else None
_PHONE_PUNCT = re.compile(r"[\s\-().]")


def phone(raw: str) -> tuple[str, str]:
    """(display, E.164) like normalize_phone; PhoneError when it is not a phone number."""
    if raw.isascii():
        digits = _PHONE_PUNCT.sub("", raw)
        form = ""
        if digits.startswith("+86"):
            digits, form = digits[3:], "+"
        if len(digits) == 11 and digits.isdigit() and digits[0] == "1" and _MOBILE is not None and _MOBILE.match(digits):
            return f"{digits[:3]} {digits[3:7]} {digits[7:]}", "+86" + digits
        if not form and digits.startswith("0") and not digits.startswith("00"):
            digits, form = digits[1:], "0"
        if form and 9 <= len(digits) <= 11 and digits.isdigit() and digits[0] != "0":
            # Beijing, Shanghai, Guangzhou … (area codes 10 and 2x) decide validity within five digits, the
            # three-digit area codes within four (their area code and the first digit of the number)
            block = _block(form, digits[:5] if digits[0] in "12" else digits[:4], len(digits))
            if block is not None:
                valid, positions, prefix = block
                if not valid:
                    raise PhoneError(raw)
                shown = list(prefix + digits)
                for i in positions:
                    shown.insert(i, " ")
                return "".join(shown), "+86" + digits
    return normalize_phone(raw)


_BLOCKS: dict[tuple[str, str, int], tuple[bool, tuple[int, ...], str] | None] = {}
_SEEN: dict[tuple[str, str, int], int] = {}
_rng = random.Random(86)


def _block(form: str, head: str, length: int) -> tuple[bool, tuple[int, ...], str] | None:
    """What libphonenumber says about every number of a block (same form, leading digits and length): valid or
    not, and where the display puts its spaces. Learnt from normalize_phone on 16 random numbers of the block; a
    block whose numbers disagree is not learnt (None: each of its numbers goes to normalize_phone). Tests compare
    this path with normalize_phone on many thousands of numbers."""
    key = (form, head, length)
    if key in _BLOCKS:
        return _BLOCKS[key]
    seen_before = _SEEN.get(key, 0)
    if seen_before < 3:  # learning costs 16 parses: only for blocks that come back
        if len(_SEEN) < 200_000:
            _SEEN[key] = seen_before + 1
        return None
    seen: set[tuple[bool, tuple[int, ...], str]] = set()
    for _ in range(16):
        digits = head + "".join(_rng.choice("0123456789") for _ in range(length - len(head)))
        try:
            display, e164 = normalize_phone(("+86 " if form == "+" else "0") + digits)
        except PhoneError:
            seen.add((False, (), ""))
            continue
        plain = display.replace(" ", "")
        prefix = plain[: len(plain) - len(digits)]
        if e164 != "+86" + digits or not plain.endswith(digits) or prefix not in ("", "0"):
            seen.add((True, (-1,), "?"))  # not a shape we can replay
            continue
        seen.add((True, tuple(i for i, ch in enumerate(display) if ch == " "), prefix))
    learnt = seen.pop() if len(seen) == 1 else None
    if learnt is not None and learnt[1] == (-1,):
        learnt = None
    if len(_BLOCKS) < 200_000:
        _BLOCKS[key] = learnt
    return learnt


_EMAIL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@"
                    r"((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})$")


_SPECIAL_USE = ("arpa", "invalid", "local", "localhost", "onion", "test")  # email_validator refuses these


@lru_cache(maxsize=65536)
def _domain_ok(domain: str) -> bool:
    """A lower-case ASCII domain that matched _EMAIL: what email_validator still checks for such a domain.

    Punycode ("xn--") labels and any "--" go to email_validator itself (IDNA rules); tests compare the two."""
    if len(domain) > 253 or "--" in domain:
        return False
    return not any(domain == d or domain.endswith("." + d) for d in _SPECIAL_USE)


def email(raw: str) -> str:
    """Like normalize_email; ValueError when it is not an email address."""
    text = raw.strip()
    m = _EMAIL.match(text)
    if m and len(text) <= 254 and text.index("@") <= 64 and _domain_ok(m.group(1).lower()):
        return text.lower()
    return normalize_email(raw)  # anything else, and domains _domain_ok leaves to it


_SPLIT_LIST = re.compile(r"[;,，；、|\n/]+")
_SPLIT_EMAILS = re.compile(r"[;,，；、|\s/]+")


def split_list(raw: str) -> list[str]:
    return [p.strip() for p in _SPLIT_LIST.split(raw) if p.strip()]


def split_emails(raw: str) -> list[str]:
    return [p for p in _SPLIT_EMAILS.split(raw) if p]


_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_TIME = re.compile(r"(\d{1,2})[:：时点](\d{1,2})(?:[:：分](\d{1,2}))?")


def parse_date(raw: str) -> date:
    text = unicodedata.normalize("NFKC", raw).strip()
    m = _DATE.match(text) or _COMPACT.match(text)
    if not m:
        raise ValueError(raw)
    y, mo, d = (int(x) for x in m.groups())
    if not 1900 <= y <= 2200:
        raise ValueError(raw)
    return date(y, mo, d)


def parse_datetime(raw: str, tz: str) -> datetime:
    """A date with an optional time; without an offset it is the workspace's local time."""
    text = unicodedata.normalize("NFKC", raw).strip()
    try:
        value = datetime.fromisoformat(text.replace("/", "-"))
        if not 1900 <= value.year <= 2200:
            raise ValueError(raw)
        if value.tzinfo is None:
            value = value.replace(tzinfo=zone(tz))
        return value.astimezone(UTC)
    except ValueError:
        pass
    day = parse_date(text)
    rest = text[(_DATE.match(text) or _COMPACT.match(text)).end():]  # type: ignore[union-attr]
    t = time(0)
    if rest.strip():
        m = _TIME.search(rest)
        if not m:
            raise ValueError(raw)
        h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
        if ("下午" in rest or "pm" in rest.lower()) and h < 12:
            h += 12
        t = time(h, mi, s)
    return datetime.combine(day, t, zone(tz)).astimezone(UTC)


TRUE = {"是", "对", "true", "yes", "y", "1", "√", "✓", "x"}
FALSE = {"否", "不是", "false", "no", "n", "0", ""}


def parse_bool(raw: str) -> bool:
    v = raw.strip().lower()
    if v in TRUE:
        return True
    if v in FALSE:
        return False
    raise ValueError(raw)


@lru_cache(maxsize=65536)  # option labels, user names and emails repeat on every row
def fold(text: str) -> str:
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)).lower()


_SPACE = re.compile(r"\s+")


__all__ = ["PhoneError", "email", "fold", "parse_bool", "parse_date", "parse_datetime", "phone", "split_emails",
           "split_list"]
