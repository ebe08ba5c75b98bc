"""Business rules of imports: upload, mapping, preview, run, cancel, failed rows. Never commits."""

from __future__ import annotations

import csv
import io
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from guanxi.accounts.models import User
from guanxi.authz.core import Principal
from guanxi.config import Settings
from guanxi.customers.models import CustomFieldDef
from guanxi.imports import engine, files
from guanxi.imports import schemas as s
from guanxi.imports.fields import MODULE, MULTI, TYPES, custom_type, guess, specs
from guanxi.imports.models import Import, ImportFailure
from guanxi.kit.errors import FieldError, Problem, not_found, validation_error
from guanxi.kit.i18n import current_language, t
from guanxi.kit.models import utcnow
from guanxi.kit.transactions import after_commit

LIST_LIMIT = 100
PREVIEW_MAX = 100


def require(p: Principal, import_type: str) -> None:
    if import_type not in TYPES:
        raise validation_error([FieldError("type", "invalid_option")])
    p.require(MODULE[import_type], "import")


async def custom_defs(session: AsyncSession, workspace_id: int, import_type: str) -> list[CustomFieldDef]:
    if import_type != "customers":
        return []
    return list(await session.scalars(select(CustomFieldDef).where(
        CustomFieldDef.workspace_id == workspace_id, CustomFieldDef.entity == "customer")
        .order_by(CustomFieldDef.position, CustomFieldDef.id)))


async def import_fields(session: AsyncSession, p: Principal, import_type: str) -> list[s.ImportField]:
    require(p, import_type)
    en = current_language.get() == "en"
    out = [s.ImportField(key=f.key, label=f.en if en else f.zh, required=f.required, type=f.type)
           for f in specs(import_type).values() if f.key != "owner" or p.can_reassign]
    for d in await custom_defs(session, p.workspace_id, import_type):
        out.append(s.ImportField(key=f"custom.{d.key}", label=(d.label_en or d.label) if en else d.label,
                                 required=d.required, type=custom_type(d)))
    return out


# ------------------------------------------------------------------ reads


async def _names(session: AsyncSession, imports: list[Import]) -> dict[int, str]:
    ids = sorted({i.created_by for i in imports if i.created_by})
    if not ids:
        return {}
    return dict((await session.execute(select(User.id, User.name).where(User.id.in_(ids)))).all())  # type: ignore[arg-type]


async def to_out(session: AsyncSession, imports: list[Import]) -> list[s.ImportOut]:
    names = await _names(session, imports)
    with_failures = set()
    ids = [i.id for i in imports if i.failed]
    if ids:
        with_failures = set(await session.scalars(
            select(ImportFailure.import_id).where(ImportFailure.import_id.in_(ids)).distinct()))
    out = []
    for i in imports:
        out.append(s.ImportOut(
            id=i.id, type=i.type, status=i.status, filename=i.filename, size_bytes=i.size_bytes,  # type: ignore[arg-type]
            file_format=i.file_format, encoding=i.encoding, headers=i.headers, sample=i.sample,  # type: ignore[arg-type]
            mapping=i.mapping, duplicate_mode=i.duplicate_mode, total_rows=i.total_rows,  # type: ignore[arg-type]
            update_fields=i.update_fields,  # type: ignore[arg-type]
            processed=i.processed, created=i.created, updated=i.updated, skipped=i.skipped, failed=i.failed,
            error=s.ImportError(**i.error) if i.error else None, created_by_name=names.get(i.created_by or 0),
            created_at=i.created_at, started_at=i.started_at, finished_at=i.finished_at,
            has_failed_rows=i.id in with_failures, mapping_remembered=i.mapping_remembered))
    return out


async def get_import(session: AsyncSession, p: Principal, import_id: int) -> Import:
    imp = await session.scalar(select(Import).where(Import.id == import_id, Import.workspace_id == p.workspace_id))
    if imp is None or not (p.is_admin or imp.created_by == p.user_id):
        raise not_found()
    return imp


async def list_imports(session: AsyncSession, p: Principal, import_type: str | None) -> list[Import]:
    q = select(Import).where(Import.workspace_id == p.workspace_id)
    if not p.is_admin:
        q = q.where(Import.created_by == p.user_id)
    if import_type:
        if import_type not in TYPES:
            raise Problem(400, "invalid_filter", errors=[FieldError("type", "invalid_option")])
        q = q.where(Import.type == import_type)
    return list(await session.scalars(q.order_by(Import.id.desc()).limit(LIST_LIMIT)))


# ------------------------------------------------------------------ upload


async def store_upload(settings: Settings, p: Principal, src: Any, filename: str,
                       import_type: str) -> tuple[Path, int, files.FileInfo]:
    """The checked file in its place under the imports directory; nothing is left behind when a check fails."""
    directory = settings.imports_dir / str(p.workspace_id)
    tmp, size = await files.receive(src, directory, settings.import_max_bytes)
    try:
        info = await anyio.to_thread.run_sync(files.inspect_file, tmp, filename, import_type)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    final = directory / f"{uuid.uuid4().hex}.{info.file_format}"
    os.replace(tmp, final)
    return final, size, info


async def create_import(session: AsyncSession, p: Principal, settings: Settings, path: Path, size: int,
                        info: files.FileInfo, filename: str, import_type: str) -> Import:
    defs = await custom_defs(session, p.workspace_id, import_type)
    mapping = guess(import_type, info.headers, defs, may_assign_owner=p.can_reassign, file_format=info.file_format)
    remembered = await session.scalar(
        select(Import.mapping).where(Import.workspace_id == p.workspace_id, Import.type == import_type,
                                     Import.header_hash == info.header_hash, Import.mapping_confirmed)
        .order_by(Import.id.desc()).limit(1))
    was_remembered = False
    if remembered:
        allowed = _allowed_keys(p, import_type, defs)
        candidate = {h: (k if k in allowed else None) for h, k in remembered.items() if h in mapping}
        if candidate:
            mapping.update(candidate)
            was_remembered = True
    imp = Import(workspace_id=p.workspace_id, created_by=p.user_id, type=import_type, status="uploaded",
                 filename=(os.path.basename(filename or "") or "import")[:255], size_bytes=size,
                 file_format=info.file_format, encoding=_encoding_name(info.encoding), delimiter=info.delimiter,
                 storage_path=str(path.relative_to(settings.imports_dir)), headers=info.headers,
                 header_hash=info.header_hash, sample=info.sample, mapping=mapping, mapping_confirmed=False,
                 mapping_remembered=was_remembered,
                 duplicate_mode="skip", language=p.language if p.language in ("zh-CN", "en") else "zh-CN",
                 total_rows=info.total_rows, checkpoint=0, processed=0, created=0, updated=0, skipped=0, failed=0,
                 created_at=utcnow(), attempts=0)
    session.add(imp)
    await session.flush()
    return imp


def _encoding_name(enc: str | None) -> str | None:
    return {"utf-8-sig": "utf-8", "gb18030": "gb18030"}.get(enc or "", enc)


def _allowed_keys(p: Principal, import_type: str, defs: list[CustomFieldDef]) -> set[str]:
    keys = {k for k in specs(import_type) if k != "owner" or p.can_reassign}
    return keys | {f"custom.{d.key}" for d in defs}


# ------------------------------------------------------------------ mapping, preview, run, cancel


async def set_mapping(session: AsyncSession, p: Principal, import_id: int, body: s.MappingIn) -> Import:
    imp = await get_import(session, p, import_id)
    require(p, imp.type)
    if imp.status != "uploaded":
        raise Problem(409, "import_not_editable")
    defs = await custom_defs(session, p.workspace_id, imp.type)
    mapping = {h: body.mapping.get(h) or None for h in imp.headers}
    errors: list[FieldError] = []
    for h in body.mapping:
        if h not in imp.headers:
            errors.append(FieldError(f"mapping.{h}", "unknown_field"))
    _check_mapping(p, imp.type, defs, mapping, errors)
    if errors:
        raise validation_error(errors)
    imp.mapping = mapping
    imp.duplicate_mode = body.duplicate_mode
    imp.update_fields = body.update_fields
    imp.mapping_confirmed = True
    return imp


def _check_mapping(p: Principal, import_type: str, defs: list[CustomFieldDef], mapping: dict[str, str | None],
                   errors: list[FieldError], *, only_required: bool = False) -> None:
    allowed = _allowed_keys(p, import_type, defs)
    used: dict[str, str] = {}
    for h, key in mapping.items():
        if key is None or only_required:
            continue
        if key == "owner" and not p.can_reassign:
            errors.append(FieldError(f"mapping.{h}", "owner_not_allowed"))
        elif key not in allowed:
            errors.append(FieldError(f"mapping.{h}", "unknown_field"))
        elif key in used and key not in MULTI:
            errors.append(FieldError(f"mapping.{h}", "mapped_twice"))
        used.setdefault(key, h)
    mapped = set(mapping.values())
    for f in specs(import_type).values():
        if f.required and f.key not in mapped:
            errors.append(FieldError(f.key, "required_unmapped"))
    for d in defs:
        if d.required and f"custom.{d.key}" not in mapped:
            errors.append(FieldError(f"custom.{d.key}", "required_unmapped"))


def file_path(settings: Settings, imp: Import) -> Path:
    return settings.imports_dir / imp.storage_path


async def preview(session: AsyncSession, p: Principal, settings: Settings, import_id: int,
                  limit: int) -> list[s.PreviewRow]:
    imp = await get_import(session, p, import_id)
    require(p, imp.type)
    limit = max(1, min(limit, PREVIEW_MAX))
    ctx = await engine.load_context(session, p, imp.type, current_language.get(), imp.duplicate_mode, imp.headers,
                                    imp.mapping, imp.update_fields)
    path = file_path(settings, imp)

    def first_records() -> list[tuple[int, list[str]]]:
        out = []
        for rec in files.records(path, imp.file_format, imp.encoding and _codec(imp.encoding), imp.delimiter,
                                 len(imp.headers)):
            out.append(rec)
            if len(out) >= limit:
                break
        return out

    recs = await anyio.to_thread.run_sync(first_records)
    rows = [engine.clean_row(ctx, line, cells, show=True) for line, cells in recs]
    await engine.resolve(session, ctx, rows)
    # a cell that failed has no cleaned value: the preview shows what the file says, marked with the problem
    columns: dict[str, list[int]] = {}
    for i, h in enumerate(imp.headers):
        if (f := (imp.mapping or {}).get(h)) is not None:
            columns.setdefault(f, []).append(i)
    out = []
    for r in rows:
        dup = None
        if r.dup is not None:
            dup = s.PreviewDuplicate(reason=r.dup.reason, existing_id=r.dup.existing_id,  # type: ignore[arg-type]
                                     existing_name=r.dup.existing_name, line=r.dup.line)
        values = {k: v for k, v in r.shown.items() if k != "customer_ref"}
        for e in r.errors:
            if not values.get(e["field"]) and e["field"] in columns:
                raw = "; ".join(c for i in columns[e["field"]] if i < len(r.cells) and (c := r.cells[i].strip()))
                if raw:
                    values[e["field"]] = raw
        out.append(s.PreviewRow(line=r.line, values=values,
                                errors=[s.PreviewError(**e) for e in r.errors],
                                duplicate=dup, action=r.action))  # type: ignore[arg-type]
    return out


def _codec(encoding: str) -> str:
    return "utf-8-sig" if encoding == "utf-8" else encoding


def codec_of(imp: Import) -> str | None:
    return _codec(imp.encoding) if imp.encoding else None


async def start(session: AsyncSession, p: Principal, import_id: int, queue: Any) -> Import:
    imp = await get_import(session, p, import_id)
    require(p, imp.type)
    if imp.status != "uploaded":
        raise Problem(409, "import_not_runnable")
    errors: list[FieldError] = []
    _check_mapping(p, imp.type, await custom_defs(session, p.workspace_id, imp.type), imp.mapping, errors)
    if errors:
        raise validation_error(errors)
    imp.status = "queued"
    imp.mapping_confirmed = True
    if queue is not None:
        import_id = imp.id
        after_commit(session, lambda: queue.dispatch("imports.run", [(import_id,)]))
    return imp


async def cancel(session: AsyncSession, p: Principal, import_id: int) -> Import:
    imp = await get_import(session, p, import_id)
    if imp.status in ("uploaded", "queued", "running"):
        imp.status = "cancelled"
        imp.finished_at = utcnow()
        imp.locked_until = None
    return imp


# ------------------------------------------------------------------ failed rows


async def failed_rows_csv(session: AsyncSession, imp: Import) -> AsyncIterator[bytes]:
    """The failed rows' original cells plus their line and why, UTF-8 with BOM; read in keyset pages."""
    en = current_language.get() == "en"
    yield "\ufeff".encode()
    yield _csv_line([*imp.headers, "Line" if en else "行号", "Error" if en else "错误原因"])
    after = (-1, 0)
    while True:
        rows = (await session.execute(
            select(ImportFailure.id, ImportFailure.line, ImportFailure.cells, ImportFailure.error)
            .where(ImportFailure.import_id == imp.id,
                   (ImportFailure.line > after[0]) | and_(ImportFailure.line == after[0], ImportFailure.id > after[1]))
            .order_by(ImportFailure.line, ImportFailure.id).limit(2000))).all()
        if not rows:
            return
        yield b"".join(_csv_line([*(_neutral(c) for c in cells), str(line), error]) for _, line, cells, error in rows)
        after = (rows[-1].line, rows[-1].id)


def _neutral(value: str) -> str:
    """Cells that a spreadsheet would run as formulas are sent as text (as exports do)."""
    from guanxi.kit.export import neutralize

    return neutralize(value)


def _csv_line(cells: list[str]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(cells)
    return buf.getvalue().encode("utf-8")


def message(code: str, lang: str) -> dict[str, str]:
    return {"code": code, "message": t(code, lang)}

