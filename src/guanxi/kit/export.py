"""File formats for exports: CSV (UTF-8 with BOM), .xlsx and vCard 3.0, all safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 64 * 1024


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
    """openpyxl in write-only mode: rows go to a temporary file, not memory; the saved book is read back in chunks."""

    def __init__(self, title: str) -> None:
        self.book = Workbook(write_only=True)
        self.sheet = self.book.create_sheet(title[:31] or "Sheet1")

    def append(self, row: Sequence[Any]) -> None:
        cells = []
        for v in row:
            # control characters XML cannot hold would stop the whole book: they are dropped from the cell
            cell = WriteOnlyCell(self.sheet, value=ILLEGAL_CHARACTERS_RE.sub("", neutralize(v)))
            cell.data_type = "s"  # always text: openpyxl would otherwise read "=..." as a formula
            cells.append(cell)
        self.sheet.append(cells)

    async def chunks(self) -> AsyncIterator[bytes]:
        with tempfile.TemporaryFile() as f:
            self.book.save(f)
            f.seek(0)
            while block := f.read(CHUNK):
                yield block


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
