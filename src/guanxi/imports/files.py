"""Reading import files: CSV (UTF-8, UTF-8 with BOM, GB18030/GBK), .xlsx and vCard, checked before anything is kept.

An upload is streamed to a temporary file under the imports directory while its size is counted, then checked
(`inspect`): type by content, encoding, header, column count, zip entry sizes of a workbook. Only a file that
passes every check is moved into place; any failure leaves nothing behind. `records()` then yields the data
records of a stored file in file order, the same way every time, so an import resumes by skipping the records
it has already committed.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from guanxi.kit.errors import FieldError, Problem

CHUNK = 1024 * 1024
MAX_COLUMNS = 200
MAX_CELL = 32_000  # characters in one cell
SAMPLE_ROWS = 5
# a workbook whose parts unpack to more than this, or unpack far more than such files do, is refused unread
XLSX_MAX_UNPACKED = 1024 * 1024 * 1024
XLSX_MAX_RATIO = 200
XLSX_MAX_ENTRIES = 5000
VCARD_HEADERS = ["FN", "TEL", "EMAIL", "TITLE", "ORG", "BDAY", "NOTE"]
_BINARY_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"%PDF", b"MZ", b"\x7fELF", b"\xd0\xcf\x11\xe0", b"Rar!",
                 b"\x1f\x8b", b"7z\xbc\xaf", b"BZh", b"RIFF", b"OggS", b"ID3", b"\x00\x00\x01\x00")

csv.field_size_limit(MAX_CELL * 4)


def refuse(status: int, code: str) -> Problem:
    return Problem(status, code, errors=[FieldError("file", code)])


@dataclass
class FileInfo:
    file_format: str  # csv xlsx vcf
    encoding: str | None
    delimiter: str | None
    headers: list[str]
    sample: list[list[str]]
    total_rows: int | None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def header_hash(self) -> str:
        return hashlib.sha256("\x1f".join(h.strip().lower() for h in self.headers).encode()).hexdigest()


def extension(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


async def receive(src: Any, directory: Path, max_bytes: int) -> tuple[Path, int]:
    """Copy an upload (starlette UploadFile or a binary file) to a temporary file, refusing it once it is too big."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".upload-{uuid.uuid4().hex}"
    size = 0
    try:
        with open(tmp, "wb") as out:  # noqa: ASYNC230 - megabyte writes to local disk, as attachments do
            while True:
                chunk = await src.read(CHUNK) if _is_async(src) else src.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise refuse(413, "file_too_large")
                out.write(chunk)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, size


def _is_async(src: Any) -> bool:
    import inspect

    return inspect.iscoroutinefunction(getattr(src, "read", None))


# ------------------------------------------------------------------ checks


def inspect_file(path: Path, filename: str, import_type: str) -> FileInfo:
    """Everything the import needs to know about the file, or a Problem that says what is wrong with it."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(64 * 1024)
    if size == 0 or not head.strip(b"\xef\xbb\xbf \t\r\n"):
        raise refuse(422, "empty_file")
    ext = extension(filename)
    if head.startswith(b"PK\x03\x04"):
        if ext != "xlsx":
            raise refuse(422, "unsupported_file_type")
        return _inspect_xlsx(path)
    if ext == "xlsx":
        raise refuse(422, "invalid_xlsx")
    if ext not in ("csv", "txt", "tsv", "vcf"):
        raise refuse(422, "unsupported_file_type")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise refuse(422, "unknown_encoding")  # UTF-16: save it as UTF-8 or GBK
    if head.startswith(_BINARY_MAGIC) or b"\x00" in head:
        raise refuse(422, "unsupported_file_type")
    encoding = detect_encoding(path)
    if ext == "vcf" or head.lstrip(b"\xef\xbb\xbf \r\n").upper().startswith(b"BEGIN:VCARD"):
        if import_type != "contacts":
            raise refuse(422, "unsupported_file_type")
        return _inspect_vcf(path, encoding)
    return _inspect_csv(path, encoding)


def detect_encoding(path: Path) -> str:
    """utf-8-sig when the whole file is UTF-8 (with or without BOM), else gb18030 (GBK's superset) when it decodes
    as that without control characters; anything else is an encoding we do not know."""
    for enc in ("utf-8-sig", "gb18030"):
        dec = codecs.getincrementaldecoder(enc)()
        try:
            with open(path, "rb") as f:
                while chunk := f.read(CHUNK):
                    text = dec.decode(chunk)
                    if _CONTROL.search(text):
                        raise UnicodeDecodeError(enc, b"", 0, 1, "control character")
                dec.decode(b"", final=True)
            return enc
        except UnicodeDecodeError:
            continue
    raise refuse(422, "unknown_encoding")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _clean_header(headers: list[str]) -> list[str]:
    return [h.strip().lstrip("\ufeff") for h in headers]


def _inspect_csv(path: Path, encoding: str) -> FileInfo:
    with open(path, encoding=encoding, newline="") as f:
        first = f.readline()
    delimiter = _sniff_delimiter(first)
    headers: list[str] | None = None
    sample: list[list[str]] = []
    total = 0
    try:
        with open(path, encoding=encoding, newline="") as f:
            reader = csv.reader(f, delimiter=delimiter)
            for row in reader:
                if len(row) > MAX_COLUMNS:
                    raise refuse(422, "too_many_columns")
                if headers is None:
                    if not any(c.strip() for c in row):
                        continue  # blank lines before the header
                    headers = _clean_header(row)
                    continue
                if not any(c.strip() for c in row):
                    continue
                total += 1
                if len(sample) < SAMPLE_ROWS:
                    sample.append(row)
    except csv.Error:
        raise refuse(422, "unsupported_file_type") from None
    if headers is None:
        raise refuse(422, "empty_file")
    _check_header(headers, sample)
    if total == 0:
        raise refuse(422, "empty_file")  # a header and nothing to import
    return FileInfo("csv", encoding, delimiter, headers, [_pad(r, len(headers)) for r in sample], total)


def _check_header(headers: list[str], sample: list[list[str]]) -> None:
    """A header names columns: a first row of values (numbers, phones, emails, dates) or blanks is none."""
    named = [h for h in headers if h]
    if not named:
        raise refuse(422, "no_header")
    looks_like_data = sum(1 for h in named if _VALUE.match(h))
    if looks_like_data * 2 > len(named) or len(set(named)) < len(named) // 2:
        raise refuse(422, "no_header")


_VALUE = re.compile(r"^(\+?[\d\s\-().]{5,}|[^@\s]+@[^@\s]+\.\w+|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}.*|\d+(\.\d+)?)$")


def _pad(row: list[str], n: int) -> list[str]:
    row = [c[:MAX_CELL] for c in row[:n]]
    return row + [""] * (n - len(row))


def _inspect_xlsx(path: Path) -> FileInfo:
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            names = {i.filename for i in infos}
            if len(infos) > XLSX_MAX_ENTRIES or "xl/workbook.xml" not in names:
                raise refuse(422, "invalid_xlsx")
            unpacked = 0
            for i in infos:
                unpacked += i.file_size
                if i.file_size > 1024 * 1024 and i.file_size > XLSX_MAX_RATIO * max(i.compress_size, 1):
                    raise refuse(422, "invalid_xlsx")
            if unpacked > XLSX_MAX_UNPACKED:
                raise refuse(422, "invalid_xlsx")
    except (zipfile.BadZipFile, OSError, EOFError):
        raise refuse(422, "invalid_xlsx") from None
    headers: list[str] | None = None
    sample: list[list[str]] = []
    try:
        wb, ws = _open_sheet(path)
        try:
            if (ws.max_column or 0) > MAX_COLUMNS:
                raise refuse(422, "too_many_columns")
            total = 0
            for row in ws.iter_rows(values_only=True):
                if len(row) > MAX_COLUMNS and any(v is not None for v in row[MAX_COLUMNS:]):
                    raise refuse(422, "too_many_columns")
                cells = [cell_text(v) for v in row]
                if headers is None:
                    if any(cells):
                        headers = _clean_header(_trim(cells))
                    continue
                if not any(c.strip() for c in cells):
                    continue
                total += 1
                if len(sample) < SAMPLE_ROWS:
                    sample.append(cells)
        finally:
            wb.close()
    except Problem:
        raise
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds of errors on a damaged workbook
        raise refuse(422, "invalid_xlsx") from None
    if headers is None:
        raise refuse(422, "empty_file")
    _check_header(headers, sample)
    if total == 0:
        raise refuse(422, "empty_file")
    return FileInfo("xlsx", None, None, headers, [_pad(r, len(headers)) for r in sample], total)


def _trim(cells: list[str]) -> list[str]:
    while cells and not cells[-1]:
        cells = cells[:-1]
    return cells


class _Workbook:
    """A read-only workbook opened from a file object (openpyxl checks the name's extension, and uploads are kept
    under names of our own); closing it closes the file too."""

    def __init__(self, path: Path) -> None:
        from openpyxl import load_workbook

        self.fh = open(path, "rb")  # noqa: SIM115 - closed by close()
        try:
            self.wb = load_workbook(self.fh, read_only=True, data_only=True)
        except BaseException:
            self.fh.close()
            raise

    def close(self) -> None:
        try:
            self.wb.close()
        finally:
            self.fh.close()


def _open_sheet(path: Path) -> tuple[Any, Any]:
    wb = _Workbook(path)
    try:
        return wb, wb.wb.worksheets[0]
    except BaseException:
        wb.close()
        raise


def cell_text(v: Any) -> str:
    """A cell as the text a person sees: whole numbers without ".0" (phone numbers), dates as ISO."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e16 else repr(v)
    if isinstance(v, datetime):
        return v.date().isoformat() if v.time() == time(0) else v.isoformat(sep=" ", timespec="minutes")
    if isinstance(v, date):
        return v.isoformat()
    return str(v).strip()


# ------------------------------------------------------------------ vCard


def _vcard_cards(text_lines: Iterator[str]) -> Iterator[tuple[int, list[str]]]:
    """(line of BEGIN:VCARD, [FN, TEL, EMAIL, TITLE, ORG, BDAY, NOTE]); several TEL/EMAIL joined with ';'."""
    card: dict[str, list[str]] | None = None
    start = 0
    pending: str | None = None
    lineno = 0

    def unfolded() -> Iterator[tuple[int, str]]:
        nonlocal pending, lineno
        at = 0
        for raw in text_lines:
            lineno += 1
            raw = raw.rstrip("\r\n")
            if raw[:1] in (" ", "\t") and pending is not None:
                pending += raw[1:]
                continue
            if pending is not None:
                yield at, pending
            pending, at = raw, lineno
        if pending is not None:
            yield at, pending

    for at, line in unfolded():
        name, _, value = line.partition(":")
        prop = name.split(";")[0].split(".")[-1].upper()
        if prop == "BEGIN" and value.strip().upper() == "VCARD":
            card, start = {k: [] for k in VCARD_HEADERS}, at
            card["_N"] = []
            continue
        if card is None:
            continue
        if prop == "END":
            fn = card["FN"][0] if card["FN"] else " ".join(card["_N"][:1]).strip()
            yield start, [fn, ";".join(card["TEL"]), ";".join(card["EMAIL"]),
                          *(card[k][0] if card[k] else "" for k in ("TITLE", "ORG", "BDAY", "NOTE"))]
            card = None
            continue
        value = _vcard_unescape(value.strip())
        if prop == "N":
            parts = [p.strip() for p in value.split(";")]
            family, given = (parts + ["", ""])[:2]
            # Chinese names are family name first with no space: 张 + 伟 → 张伟
            cjk = any("\u3400" <= ch <= "\u9fff" for ch in family + given)
            card["_N"].append((family + given) if cjk else " ".join(x for x in (given, family) if x))
        elif prop == "ORG":
            card["ORG"].append(value.split(";")[0].strip())
        elif prop in card:
            card[prop].append(value)


def _vcard_unescape(value: str) -> str:
    return value.replace("\\n", "\n").replace("\\N", "\n").replace("\\,", ",").replace("\\;", ";").replace("\\\\", "\\")


def _inspect_vcf(path: Path, encoding: str) -> FileInfo:
    sample: list[list[str]] = []
    total = 0
    with open(path, encoding=encoding, newline="") as f:
        for _, cells in _vcard_cards(iter(f)):
            total += 1
            if len(sample) < SAMPLE_ROWS:
                sample.append(cells)
    if total == 0:
        raise refuse(422, "empty_file")
    return FileInfo("vcf", encoding, None, list(VCARD_HEADERS), sample, total)


# ------------------------------------------------------------------ reading records


def records(path: Path, file_format: str, encoding: str | None, delimiter: str | None, n_headers: int,
            skip: int = 0) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of every data record after the header, blank rows left out, the first `skip` skipped.

    The line is the file's 1-based line (CSV: where the record starts), sheet row (xlsx) or BEGIN:VCARD line.
    """
    it = _all_records(path, file_format, encoding, delimiter)
    n = 0
    for line, cells in it:
        if n < skip:
            n += 1
            continue
        n += 1
        yield line, _pad(cells, n_headers)


def _all_records(path: Path, file_format: str, encoding: str | None, delimiter: str | None) -> Iterator[tuple[int, list[str]]]:
    if file_format == "vcf":
        with open(path, encoding=encoding or "utf-8-sig", newline="") as f:
            yield from _vcard_cards(iter(f))
        return
    if file_format == "xlsx":
        wb, ws = _open_sheet(path)
        try:
            seen_header = False
            for rownum, row in enumerate(ws.iter_rows(values_only=True), start=1):
                cells = [cell_text(v) for v in row[:MAX_COLUMNS]]
                if not any(cells):
                    continue
                if not seen_header:
                    seen_header = True
                    continue
                yield rownum, cells
        finally:
            wb.close()
        return
    with open(path, encoding=encoding or "utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter or ",")
        seen_header = False
        last = 0
        for row in reader:
            start, last = last + 1, reader.line_num
            if not any(c.strip() for c in row):
                continue
            if not seen_header:
                seen_header = True
                continue
            yield start, row


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)
