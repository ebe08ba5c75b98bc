"""Attachment bytes: checked by extension and by content, stored on disk content-addressed per workspace.

A file is accepted only when its extension is on the list *and* its first bytes are what that extension
promises (a PDF starts with %PDF-, a .docx is a zip with a Word document inside, ...). Executables are
refused whatever they are called, also inside an Office zip. Nothing reaches the store before every check
has passed: the upload is copied to a temporary file in the same directory and moved into place last.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from guanxi.kit.errors import FieldError, Problem

HEAD = 64 * 1024  # bytes kept for sniffing
CHUNK = 1024 * 1024

# extension → (content kind the bytes must have, the content type we serve it with)
ALLOWED: dict[str, tuple[str, str]] = {
    "pdf": ("pdf", "application/pdf"),
    "png": ("png", "image/png"),
    "jpg": ("jpeg", "image/jpeg"),
    "jpeg": ("jpeg", "image/jpeg"),
    "gif": ("gif", "image/gif"),
    "webp": ("webp", "image/webp"),
    "docx": ("zip", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xlsx": ("zip", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "pptx": ("zip", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    "doc": ("ole", "application/msword"),
    "xls": ("ole", "application/vnd.ms-excel"),
    "txt": ("text", "text/plain"),
    "csv": ("text", "text/csv"),
    "mp3": ("mp3", "audio/mpeg"),
    "m4a": ("m4a", "audio/mp4"),
    "amr": ("amr", "audio/amr"),
}
# the part an Office Open XML package of each kind must contain
OOXML_MAIN = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml", "pptx": "ppt/presentation.xml"}
EXECUTABLE_EXTENSIONS = frozenset({
    "exe", "dll", "com", "scr", "msi", "bat", "cmd", "ps1", "vbs", "vbe", "js", "jse", "wsf", "hta", "jar", "sh",
    "apk", "app", "bin", "elf", "so", "dylib", "lnk", "cpl", "sys", "pif"})
_EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
                     b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"dex\n")
_M4A_BRANDS = (b"M4A ", b"M4B ", b"mp42", b"mp41", b"isom", b"iso2")


def _refuse(status: int, code: str) -> Problem:
    return Problem(status, code, errors=[FieldError("file", code)])


def extension(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


def sniff(head: bytes) -> str | None:
    """What the first bytes say the file is; None for binary we do not know."""
    if head.startswith(b"#!AMR"):
        return "amr"
    if head.startswith(_EXECUTABLE_MAGIC) or head.startswith(b"#!"):
        return "executable"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    if head[4:8] == b"ftyp" and head[8:12] in _M4A_BRANDS:
        return "m4a"
    if _is_text(head):
        return "text"
    return None


def _is_text(head: bytes) -> bool:
    """UTF-8 (with or without BOM) or GB18030, as Chinese Excel saves CSV, and no control characters."""
    if b"\x00" in head:
        return False
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = head.decode(encoding)
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # a character cut at the end of the sniffed block is fine
                continue
            text = head[: exc.start].decode(encoding)
        controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f\x1a")
        return controls == 0
    return False


def _check_ooxml(path: Path, ext: str) -> None:
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _refuse(415, "attachment_type_mismatch") from None
    lowered = [n.lower() for n in names]
    if any(extension(n.rsplit("/", 1)[-1]) in EXECUTABLE_EXTENSIONS for n in lowered) or any(
            n.endswith("vbaproject.bin") for n in lowered):
        raise _refuse(415, "attachment_executable")
    if "[Content_Types].xml" not in names or OOXML_MAIN[ext] not in names:
        raise _refuse(415, "attachment_type_mismatch")


def safe_filename(raw: str | None, ext: str) -> str:
    """The last path part, printable, no characters that break headers or file systems, at most 200 chars."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>:|?*;' and not 0xD800 <= ord(ch) <= 0xDFFF)
    name = name.strip(" .")
    if len(name) > 200:
        stem = name[: 200 - len(ext) - 1].rstrip(" .")
        name = f"{stem}.{ext}"
    return name if name and extension(name) == ext else f"attachment.{ext}"


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987)."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@dataclass(frozen=True)
class Stored:
    filename: str
    content_type: str
    size: int
    sha256: str
    storage_path: str  # relative to the attachments root


def check_name(filename: str | None) -> str:
    """The extension of an upload, refused before a byte is read when it is not on the list."""
    ext = extension(filename or "")
    if ext in EXECUTABLE_EXTENSIONS:
        raise _refuse(415, "attachment_executable")
    if ext not in ALLOWED:
        raise _refuse(415, "attachment_type_not_allowed")
    return ext


def store(src: BinaryIO, filename: str | None, *, root: Path, workspace_id: int, max_bytes: int) -> Stored:
    """Copy, hash and check an upload; it lands at <root>/<workspace>/<sha[:2]>/<sha> only when it passes.

    Blocking file work: call it from a worker thread.
    """
    ext = check_name(filename)
    kind, content_type = ALLOWED[ext]
    tmp_dir = root / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    tmp = tmp_dir / uuid.uuid4().hex
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        with tmp.open("wb") as out:
            while chunk := src.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise _refuse(413, "attachment_too_large")
                if len(head) < HEAD:
                    head += chunk[: HEAD - len(head)]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise _refuse(422, "attachment_empty")
        found = sniff(head)
        if found == "executable":
            raise _refuse(415, "attachment_executable")
        if found != kind:
            raise _refuse(415, "attachment_type_mismatch")
        if kind == "zip":
            _check_ooxml(tmp, ext)
        sha = digest.hexdigest()
        rel = f"{workspace_id}/{sha[:2]}/{sha}"
        final = root / rel
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            tmp.unlink()
        else:
            os.replace(tmp, final)
        return Stored(safe_filename(filename, ext), content_type, size, sha, rel)
    finally:
        if tmp.exists():
            tmp.unlink()


def remove(root: Path, storage_path: str) -> None:
    path = (root / storage_path).resolve()
    if root.resolve() in path.parents and path.is_file():
        path.unlink()
