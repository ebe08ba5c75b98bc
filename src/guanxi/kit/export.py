"""File formats for exports: CSV (UTF-8 with BOM), .xlsx and vCard 3.0, all safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any

import xlsxwriter

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 64 * 1024
MAX_CELL = 32767  # characters Excel keeps in one cell
# what XML 1.0 cannot hold (the same set openpyxl refuses)
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


def neutralize(value: Any) -> str:
    """Text a spreadsheet will not run: a leading = + - @ tab or CR would start a formula (CSV/DDE injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_chunk(rows: Iterable[Sequence[Any]]) -> str:
    """CSV lines with CRLF endings, every cell neutralised."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for row in rows:
        writer.writerow([neutralize(v) for v in row])
    return buf.getvalue()


class XlsxWriter:
    """XlsxWriter in constant-memory mode: each finished row goes to a temporary file, so memory stays flat whatever
    the row count; every cell is a string (formula-looking text stays text, and so do "#N/A" and numbers). The book is
    written to a temporary file and read back in chunks."""

    def __init__(self, title: str) -> None:
        self.file = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)  # noqa: SIM115 - closed in chunks()
        self.file.close()
        self.book = xlsxwriter.Workbook(self.file.name, {"constant_memory": True, "strings_to_numbers": False,
                                                         "strings_to_formulas": False, "strings_to_urls": False})
        self.sheet = self.book.add_worksheet(_sheet_title(title))
        self.row = 0

    def append(self, row: Sequence[Any]) -> None:
        write = self.sheet.write_string
        r = self.row
        for col, v in enumerate(row):
            # control characters XML cannot hold would spoil the whole book: they are dropped from the cell
            text = neutralize(v)
            if not text.isprintable():  # rare; isprintable is a fast way to skip the regex for ordinary text
                text = ILLEGAL_CHARACTERS_RE.sub("", text)
            if text:
                write(r, col, text[:MAX_CELL])
        self.row = r + 1

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            self.book.close()
            with open(self.file.name, "rb") as f:  # noqa: ASYNC230 - a local temporary file
                while block := f.read(CHUNK):
                    yield block
        finally:
            os.unlink(self.file.name)


def _sheet_title(title: str) -> str:
    """Excel's sheet-name rules: at most 31 characters, none of []:*?/\\, not starting or ending with '."""
    clean = re.sub(r"[\[\]:*?/\\]", " ", title)[:31].strip("'").strip()
    return clean or "Sheet1"


async def encode(fmt: str, sheet: str, header: Sequence[Any], pages: AsyncIterator[list[list[Any]]],
                 on_page: Callable[[int], Awaitable[None]] | None = None) -> AsyncIterator[bytes]:
    """The one writer of every export: a header and pages of rows as CSV (BOM, CRLF) or .xlsx bytes.

    `on_page(rows_so_far)` runs after each page (a job's progress); CSV bytes leave page by page, an .xlsx
    book only once it is complete.
    """
    done = 0
    if fmt == "csv":
        yield (BOM + csv_chunk([header])).encode("utf-8")
        async for page in pages:
            yield csv_chunk(page).encode("utf-8")
            done += len(page)
            if on_page is not None:
                await on_page(done)
        return
    book = XlsxWriter(sheet)
    book.append(header)
    async for page in pages:
        for row in page:
            book.append(row)
        done += len(page)
        if on_page is not None:
            await on_page(done)
    async for chunk in book.chunks():
        yield chunk


# ------------------------------------------------------------------ vCard 3.0 (RFC 2426)


def vcard_escape(value: str) -> str:
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def vcard_fold(line: str) -> str:
    """Lines of at most 75 octets; a continuation starts with a space and a UTF-8 character is never split."""
    out: list[str] = []
    current, size, limit = "", 0, 75
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            out.append(current)
            current, size, limit = " ", 1, 75
        current += ch
        size += n
    out.append(current)
    return "\r\n".join(out)


def vcard(name: str, org: str | None, title: str | None, phones: Iterable[str], emails: Iterable[str]) -> str:
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"FN:{vcard_escape(name)}", f"N:{vcard_escape(name)};;;;"]
    if org:
        lines.append(f"ORG:{vcard_escape(org)}")
    if title:
        lines.append(f"TITLE:{vcard_escape(title)}")
    lines += [f"TEL;TYPE=CELL:{vcard_escape(ph)}" for ph in phones if ph]
    lines += [f"EMAIL;TYPE=INTERNET:{vcard_escape(e)}" for e in emails if e]
    lines.append("END:VCARD")
    return "".join(vcard_fold(line) + "\r\n" for line in lines)
