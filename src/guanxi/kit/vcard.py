"""Reading vCards (.vcf) as phones and mail programs export them: versions 2.1, 3.0 and 4.0.

Version 2.1 cards from Chinese phones carry names as quoted-printable bytes with CHARSET=UTF-8 (or GB18030 /
GBK on older handsets), with soft line breaks ("=" at the end of a line); 3.0 and 4.0 cards are UTF-8 text
folded with a leading space. Property names and parameters are ASCII, so lines are split as bytes and each
value is decoded on its own: its CHARSET, else UTF-8, else GB18030.
"""

from __future__ import annotations

import quopri
import re
from dataclasses import dataclass, field
from datetime import date

MAX_CARDS = 2_000


class VcardError(ValueError):
    """The file is not something we can read as vCards; `code` names why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Card:
    index: int  # 1-based position in the file
    name: str = ""
    title: str | None = None
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    birthday: date | None = None
    notes: str | None = None
    org: str | None = None
    problems: list[str] = field(default_factory=list)  # values we could not read (a bad BDAY …)


@dataclass
class _Prop:
    name: str
    params: dict[str, list[str]]
    raw: bytes


_LINE = re.compile(rb"\r\n|\n|\r")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _split_params(head: str) -> tuple[str, dict[str, list[str]]]:
    parts = head.split(";")
    name = parts[0].rsplit(".", 1)[-1].upper()  # "item1.TEL" → TEL (Apple's groups)
    params: dict[str, list[str]] = {}
    for part in parts[1:]:
        if not part:
            continue
        if "=" in part:
            k, _, v = part.partition("=")
            params.setdefault(k.strip().upper(), []).extend(x.strip().strip('"') for x in v.split(","))
        else:  # 2.1 bare parameters: TEL;CELL;VOICE / ENCODING-less QUOTED-PRINTABLE
            bare = part.strip().upper()
            key = "ENCODING" if bare in ("QUOTED-PRINTABLE", "BASE64", "8BIT", "7BIT", "B") else "TYPE"
            params.setdefault(key, []).append(bare)
    return name, params


def _head_end(line: bytes) -> int:
    """Where the value starts: the first colon outside a quoted parameter."""
    quoted = False
    for i, b in enumerate(line):
        if b == 0x22:
            quoted = not quoted
        elif b == 0x3A and not quoted:
            return i
    return -1


def _is_qp(params: dict[str, list[str]]) -> bool:
    return any(v.upper() == "QUOTED-PRINTABLE" for v in params.get("ENCODING", []))


def _logical_lines(data: bytes) -> list[bytes]:
    """Unfold: a line starting with a space or tab continues the last; a QP value ending in "=" continues too."""
    out: list[bytes] = []
    qp_open = False
    for raw in _LINE.split(data):
        if qp_open and out:
            out[-1] = out[-1][:-1] + raw.lstrip(b" \t") if out[-1].endswith(b"=") else out[-1] + raw
        elif raw[:1] in (b" ", b"\t") and out:
            out[-1] += raw[1:]
        else:
            if not raw.strip():
                qp_open = False
                continue
            out.append(raw)
        line = out[-1]
        end = _head_end(line)
        qp_open = end > 0 and line.endswith(b"=") and _is_qp(_split_params(line[:end].decode("latin-1"))[1])
    return out


def _decode(raw: bytes, params: dict[str, list[str]]) -> str:
    if _is_qp(params):
        raw = quopri.decodestring(raw)
    charsets = [c for c in params.get("CHARSET", []) if c] + ["utf-8", "gb18030"]
    for cs in charsets:
        try:
            return raw.decode("gb18030" if cs.lower() in ("gbk", "gb2312") else cs)
        except (LookupError, UnicodeDecodeError):
            continue
    return raw.decode("utf-8", errors="replace")


def _unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _components(value: str) -> list[str]:
    """Split a structured value (N, ORG) on unescaped semicolons."""
    parts, current, i = [], [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            current.append(value[i:i + 2])
            i += 2
            continue
        if ch == ";":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return [_unescape(p).strip() for p in parts]


def _name_from_n(parts: list[str]) -> str:
    family, given = (parts + ["", ""])[:2]
    if _CJK.search(family + given):
        return f"{family}{given}"  # 张 + 伟 → 张伟
    return " ".join(x for x in (given, family) if x)


def _birthday(value: str) -> date | None:
    v = value.strip()
    if "T" in v:
        v = v.split("T", 1)[0]
    digits = v.replace("-", "")
    if len(digits) == 8 and digits.isdigit() and not v.startswith("--"):
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    raise ValueError(value)


def parse(data: bytes) -> list[Card]:
    """Every card of a .vcf file; VcardError when the file is not vCard or holds none."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" in data[:4096]:
        try:  # UTF-16, as some Windows address books save
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            raise VcardError("vcard_invalid") from None
    cards: list[Card] = []
    props: list[_Prop] | None = None
    saw_any = False
    for line in _logical_lines(data):
        end = _head_end(line)
        if end <= 0:
            if props is not None:
                continue  # a stray line inside a card (a broken photo) is skipped, not fatal
            raise VcardError("vcard_invalid")
        head, raw = line[:end].decode("latin-1"), line[end + 1:]
        name, params = _split_params(head)
        value_upper = raw.strip().upper()
        if name == "BEGIN" and value_upper == b"VCARD":
            if props is not None:
                raise VcardError("vcard_invalid")
            props, saw_any = [], True
            continue
        if name == "END" and value_upper == b"VCARD":
            if props is None:
                raise VcardError("vcard_invalid")
            cards.append(_card(len(cards) + 1, props))
            if len(cards) > MAX_CARDS:
                raise VcardError("vcard_too_many")
            props = None
            continue
        if props is None:
            raise VcardError("vcard_invalid")
        props.append(_Prop(name, params, raw))
    if props is not None:
        raise VcardError("vcard_invalid")  # BEGIN without END: a cut-off file
    if not saw_any:
        raise VcardError("vcard_invalid")
    if not cards:
        raise VcardError("vcard_empty")
    return cards


def _card(index: int, props: list[_Prop]) -> Card:
    card = Card(index=index)
    fn = n = ""
    notes: list[str] = []
    for prop in props:
        if any(v.upper() in ("BASE64", "B") for v in prop.params.get("ENCODING", [])):
            continue  # photos, sounds
        text = _decode(prop.raw, prop.params).strip()
        if not text:
            continue
        if prop.name == "FN":
            fn = _unescape(text)
        elif prop.name == "N":
            n = _name_from_n(_components(text))
        elif prop.name == "TEL":
            phone = _unescape(text)
            phone = phone[4:] if phone.lower().startswith("tel:") else phone  # 4.0: a tel: URI
            if phone not in card.phones:
                card.phones.append(phone)
        elif prop.name == "EMAIL":
            email = _unescape(text)
            email = email[7:] if email.lower().startswith("mailto:") else email
            if email not in card.emails:
                card.emails.append(email)
        elif prop.name == "TITLE":
            card.title = _unescape(text)
        elif prop.name == "ORG":
            card.org = " ".join(x for x in _components(text) if x) or None
        elif prop.name == "NOTE":
            notes.append(_unescape(text))
        elif prop.name == "BDAY":
            try:
                card.birthday = _birthday(_unescape(text))
            except ValueError:
                card.problems.append(f"BDAY {text[:40]}")
    card.name = " ".join((fn or n).split())
    card.notes = "\n".join(notes) or None
    return card
