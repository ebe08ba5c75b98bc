"""Phones and emails are normalised on the way in; text is folded for search and duplicates."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email

DEFAULT_REGION = "CN"


class PhoneError(ValueError):
    pass


def normalize_phone(raw: str) -> tuple[str, str]:
    """Return (display, E.164). Mainland numbers display in national format."""
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text or len(text) > 40:
        raise PhoneError(raw)
    try:
        num = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise PhoneError(raw) from None
    if not phonenumbers.is_valid_number(num):
        raise PhoneError(raw)
    e164 = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    if num.country_code == 86:
        display = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.NATIONAL)
    else:
        display = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return display, e164


def normalize_email(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw).strip()
    try:
        info = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise ValueError(raw) from None
    return info.normalized.lower()


_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Full-width to half-width, lower case, no spaces: 张 伟 and 张伟 fold alike."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", text)).lower()


def clean_text(value: str | None) -> str | None:
    if value is None:
        return None
    value = unicodedata.normalize("NFC", value).strip()
    return value or None


# Legal-form endings that name the same company: 星河科技有限公司, 星河科技有限责任公司, 星河科技股份有限公司, 星河科技.
_LEGAL_FORMS = ("股份有限公司", "有限责任公司", "有限公司", "集团公司", "公司", "co.,ltd", "co.ltd", "co,ltd", "ltd", "inc",
                "limited", "corporation", "corp")
_NAME_PUNCT = re.compile(r"[\s\-_.,，。·•、/\\()（）\[\]【】<>《》\"'“”‘’&＆+]+")
_FORM_KEYS = tuple(_NAME_PUNCT.sub("", form) for form in _LEGAL_FORMS)  # the forms as keys compare them


def name_key(name: str) -> str:
    """A customer name reduced to what tells companies and people apart, for duplicate checks.

    张伟 / 张 伟 / ＺＨＡＮＧ, full-width and half-width, brackets around a city (星河（北京）科技), and the legal form
    at the end (有限公司 / 有限责任公司 / 股份有限公司) all reduce to the same key.
    """
    key = _NAME_PUNCT.sub("", unicodedata.normalize("NFKC", name).lower())
    for form in _FORM_KEYS:
        if key.endswith(form) and len(key) > len(form):
            key = key[: -len(form)]
            break
    return key


def name_identity(name: str | None, city: str | None) -> tuple[str, str] | None:
    """("name", "<city>|<key>"): a very similar name in the same city marks a likely duplicate."""
    key = name_key(name or "")
    if not key:
        return None
    return "name", f"{fold(city or '')}|{key}"[:254]
