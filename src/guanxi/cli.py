"""The `guanxi` command: serve, worker, db upgrade, demo, workspace create, user create, import, export, openapi."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from guanxi.config import ConfigError, Settings, load_settings

app = typer.Typer(help="Guanxi (关系) CRM", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database commands", no_args_is_help=True)
workspace_app = typer.Typer(help="Workspaces (tenants)", no_args_is_help=True)
user_app = typer.Typer(help="Users", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(workspace_app, name="workspace")
app.add_typer(user_app, name="user")
console = Console()
err = Console(stderr=True, soft_wrap=True)


def settings_or_exit() -> Settings:
    try:
        s = load_settings()
        s.resolved_secret_key()
        return s
    except ConfigError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


def run(coro: Any) -> Any:
    return asyncio.run(coro)


@app.command()
def serve(
    host: str | None = typer.Option(None, help="defaults to GUANXI_HOST"),
    port: int | None = typer.Option(None, help="defaults to GUANXI_PORT"),
    workers: int | None = typer.Option(None, help="worker processes; defaults to GUANXI_WORKERS"),
) -> None:
    """Start the web server (API and web UI)."""
    import uvicorn

    s = settings_or_exit()
    from guanxi.migrate import current

    if current(s.resolved_database_url()) is None:
        err.print("[yellow]The database has no schema yet; run `guanxi db upgrade` first.[/yellow]")
        raise typer.Exit(2)
    h, p, w = host or s.host, port or s.port, workers or s.workers
    console.print(f"Guanxi is running at [bold]http://{h}:{p}[/bold]  (API docs: http://{h}:{p}/api/docs)")
    if w > 1:
        # the supervisor only watches its workers: replace this process (CLI, settings, migration check ~70 MB)
        # with a bare uvicorn one (~20 MB); the workers import the app themselves
        sys.stdout.flush()
        args = ["--host", h, "--port", str(p), "--workers", str(w), "--log-level", s.log_level, "--no-proxy-headers"]
        if s.log_level != "debug":
            args.append("--no-access-log")
        os.execv(sys.executable, [sys.executable, "-m", "uvicorn", "guanxi.asgi:app", *args])
    uvicorn.run("guanxi.asgi:app", host=h, port=p, workers=w, log_level=s.log_level, proxy_headers=False,
                access_log=s.log_level == "debug")


@app.command()
def worker(
    workers: int | None = typer.Option(None, "--workers", min=1, max=64,
                                       help="worker threads; defaults to GUANXI_JOBS_WORKERS"),
) -> None:
    """Run the background jobs (reminders, emails) as a process of their own; Ctrl-C stops it cleanly.

    Set GUANXI_JOBS_IN_PROCESS=false for the servers when workers run, so that the servers only serve.
    """
    import logging
    from urllib.parse import urlsplit

    from rich.logging import RichHandler

    from guanxi.kit.jobs import JobQueue
    from guanxi.migrate import current

    s = settings_or_exit()
    if current(s.resolved_database_url()) is None:
        err.print("[yellow]The database has no schema yet; run `guanxi db upgrade` first.[/yellow]")
        raise typer.Exit(2)
    logging.basicConfig(level=s.log_level.upper(), format="%(message)s", datefmt="[%X]", force=True,
                        handlers=[RichHandler(console=console, show_path=False, rich_tracebacks=True)])
    if s.log_level != "debug":
        logging.getLogger("huey").setLevel(logging.WARNING)  # one line per message is noise; ours say what happened
    queue = JobQueue(s)
    n = workers or s.jobs_workers
    try:
        if s.jobs_backend == "redis":
            queue.huey.storage.conn.ping()  # fail now with one line rather than log the same error every second
        consumer = queue.consumer(n)
        periodic = queue.periodic_jobs()
    except Exception as exc:  # noqa: BLE001 - e.g. Redis is not reachable
        err.print(f"[red]The {s.jobs_backend} job queue is not available: {type(exc).__name__}: {exc}[/red]")
        raise typer.Exit(1) from None
    if s.jobs_backend == "redis":
        u = urlsplit(s.redis_url)
        where = f"Redis {u.hostname or u.path}{f':{u.port}' if u.port else ''}"
    else:
        where = str(s.jobs_db_path.resolve())
    console.print(f"Guanxi worker: [bold]{n}[/bold] thread(s) on the {s.jobs_backend} queue "
                  f"[bold]{queue.name}[/bold] ({where})")
    for spec in periodic:
        assert spec.every is not None
        console.print(f"  every {spec.every(s):g} s: {spec.name}")
    if s.jobs_in_process:
        console.print("[yellow]GUANXI_JOBS_IN_PROCESS is true, so servers run jobs too; that is safe, but set it to "
                      "false where workers run.[/yellow]")
    console.print("Press Ctrl-C to stop (running jobs finish first).")
    consumer.run()
    queue.close()
    console.print("Worker stopped.")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the latest version."""
    from guanxi.migrate import upgrade

    s = settings_or_exit()
    url = s.resolved_database_url()
    try:
        upgrade(url)
    except Exception as exc:  # noqa: BLE001
        err.print(f"[red]Migration failed on {url.split('@')[-1]}: {exc}[/red]")
        raise typer.Exit(1) from None
    console.print("Database is up to date.")


@app.command()
def demo(
    customers: int = typer.Option(360, "--customers", min=0, max=2_000_000, help="how many demo customers"),
    if_empty: bool = typer.Option(False, "--if-empty", help="do nothing when the demo workspace exists"),
) -> None:
    """Load the demo company (星河智能科技) with users, teams and customers; the same data every time."""
    from guanxi.db import Database
    from guanxi.demo.loader import load_demo

    s = settings_or_exit()

    async def go() -> bool:
        db = Database(s.resolved_database_url())
        try:
            return await load_demo(db, customers, if_empty=if_empty, console=console)
        finally:
            await db.dispose()

    loaded = run(go())
    if loaded:
        console.print("Demo data loaded.")
    else:
        console.print("Demo data already present; nothing to do.")


@workspace_app.command("create")
def workspace_create(
    name: str = typer.Option(..., help="company name"),
    slug: str = typer.Option(..., help="short id: lower-case letters, digits and -"),
    admin_email: str = typer.Option(..., help="the first admin's email"),
    admin_name: str = typer.Option("管理员", help="the first admin's name"),
    admin_password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Create a workspace (tenant) with its built-in roles and a first admin."""
    from guanxi.accounts import service
    from guanxi.db import Database
    from guanxi.kit.errors import Problem

    s = settings_or_exit()

    async def go() -> None:
        db = Database(s.resolved_database_url())
        try:
            async with db.session() as session:
                ws = await service.create_workspace(session, name, slug)
                role = await service.role_by_key(session, ws.id, "admin")
                await service.create_user(session, ws.id, {"email": admin_email, "name": admin_name,
                                                           "password": admin_password, "role_id": role.id})
        finally:
            await db.dispose()

    try:
        run(go())
    except Problem as exc:
        _fail(exc)
    console.print(f"Workspace [bold]{name}[/bold] ({slug}) created; admin {admin_email}.")


@user_app.command("create")
def user_create(
    workspace: str = typer.Option(..., help="workspace slug"),
    email: str = typer.Option(...),
    name: str = typer.Option(...),
    role: str = typer.Option("sales", help="admin, manager, sales, service, marketing, readonly or a custom role key"),
    mobile: str | None = typer.Option(None),
    team: str | None = typer.Option(None, help="team name"),
    language: str = typer.Option("zh-CN"),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Create a user in a workspace."""
    from sqlalchemy import select

    from guanxi.accounts import service
    from guanxi.accounts.models import Team, Workspace
    from guanxi.db import Database
    from guanxi.kit.errors import FieldError, Problem, validation_error

    s = settings_or_exit()

    async def go() -> None:
        db = Database(s.resolved_database_url())
        try:
            async with db.session() as session:
                ws = await session.scalar(select(Workspace).where(Workspace.slug == workspace))
                if ws is None:
                    raise validation_error([FieldError("workspace", "not_found", f"no workspace '{workspace}'")])
                r = await service.role_by_key(session, ws.id, role)
                team_id = None
                if team:
                    team_id = await session.scalar(select(Team.id).where(Team.workspace_id == ws.id, Team.name == team))
                    if team_id is None:
                        raise validation_error([FieldError("team", "not_found", f"no team '{team}'")])
                await service.create_user(session, ws.id, {"email": email, "name": name, "password": password,
                                                           "role_id": r.id, "team_id": team_id, "mobile": mobile,
                                                           "language": language})
        finally:
            await db.dispose()

    try:
        run(go())
    except Problem as exc:
        _fail(exc)
    console.print(f"User {email} created.")


@app.command("export")
def export_cmd(
    output: Annotated[Path, typer.Option("-o", "--output", help="the file to write")],
    type_: str = typer.Option(..., "--type", help="customers, contacts, interactions, tasks or audit"),
    workspace: str = typer.Option(..., help="workspace slug"),
    user: str = typer.Option(..., help="the email of the user whose permissions, scope and field rules apply"),
    fmt: str = typer.Option("csv", "--format", help="csv (UTF-8 with BOM) or xlsx"),
    q: str | None = typer.Option(None, "--q", help="search, as in the customer list"),
    filters: Annotated[list[str] | None, typer.Option("--filter", help="field:op:value, as in the customer list; "
                                                      "repeatable")] = None,
    sort: str | None = typer.Option(None, "--sort", help="e.g. name, -updated_at, -due_at"),
    params: Annotated[list[str] | None, typer.Option("--param", help="key=value of the list's own filters "
                                                     "(customer_id=12, status=open, channel=phone …); repeatable")] = None,
    columns: str | None = typer.Option(None, "--columns", help="comma-separated column keys; all when left out"),
) -> None:
    """Export a list to CSV or .xlsx as one user may see it (scope, masking), with a progress bar; audited."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from sqlalchemy import func, select

    from guanxi.accounts.models import User, Workspace
    from guanxi.authz.deps import principal_of_user
    from guanxi.db import Database
    from guanxi.exports import service
    from guanxi.exports.sources import Spec, open_source
    from guanxi.kit.errors import FieldError, Problem, validation_error
    from guanxi.kit.i18n import current_language
    from guanxi.kit.jobs import writing

    s = settings_or_exit()
    current_language.set("en")  # messages on this terminal; the file itself is in the user's language
    extra: dict[str, Any] = {}
    for item in params or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            err.print(f"[red]--param {item!r}: expected key=value[/red]")
            raise typer.Exit(2)
        extra[key.strip()] = value
    spec = Spec(list=type_, q=q, filter=list(filters or []), sort=sort,
                columns=[c.strip() for c in columns.split(",") if c.strip()] if columns else None, params=extra)

    async def go() -> tuple[int, int]:
        db = Database(s.resolved_database_url())
        try:
            async with db.session() as session:
                ws = await session.scalar(select(Workspace).where(Workspace.slug == workspace))
                if ws is None:
                    raise validation_error([FieldError("workspace", "not_found", f"no workspace '{workspace}'")])
                uid = await session.scalar(select(User.id).where(User.workspace_id == ws.id,
                                                                 func.lower(User.email) == user.strip().lower()))
                p = await principal_of_user(session, uid, ip="cli") if uid is not None else None
                if p is None:
                    raise validation_error([FieldError("user", "not_found", f"no active user '{user}' in '{workspace}'")])
                service.check_format(fmt)
                src = await open_source(session, p, spec, en=p.language == "en")
                total, capped = await src.count(session, service.JOB_COUNT_CAP)
                rows = 0
                with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                              TimeElapsedColumn(), console=err, transient=False) as bar:
                    task = bar.add_task(f"{src.sheet} → {output.name}", total=None if capped else total)

                    async def on_page(done: int) -> None:
                        nonlocal rows
                        rows = done
                        bar.update(task, completed=done)

                    size = await service.write_file(session, src, fmt, output, on_page)
            async with writing(db) as w:
                service.record(w, p, src, fmt, rows, via="cli")
            return rows, size
        finally:
            await db.dispose()

    try:
        rows, size = run(go())
    except Problem as exc:
        _fail(exc)
    console.print(f"Wrote {rows:,} rows to {output} ({size:,} bytes).")


@app.command("import")
def import_file(
    file: str | None = typer.Argument(None, help="CSV (UTF-8 or GBK), .xlsx, or .vcf (contacts)"),
    type_: str = typer.Option("customers", "--type", help="customers, contacts, interactions or tasks"),
    workspace: str | None = typer.Option(None, help="workspace slug"),
    user: str | None = typer.Option(None, help="the importing user's email: their rights, their records"),
    duplicates: str = typer.Option("skip", help="skip, update (the existing record) or create (anyway)"),
    update_fields: str = typer.Option("fill", "--update-fields",
                                      help="with --duplicates update: fill (only empty fields) or overwrite (with the "
                                           "file's non-empty values)"),
    mapping: str | None = typer.Option(None, help='JSON {"header": "field"} or a JSON file; default: guessed '
                                                   "or remembered from the last import of this header"),
    resume: int | None = typer.Option(None, "--resume", help="continue an interrupted import by its id"),
    batch: int = typer.Option(0, "--batch", min=0, max=100_000, hidden=True, help="records per transaction"),
) -> None:
    """Import a file the way the web UI does (checks, mapping, duplicates, report), with a progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from guanxi.db import Database
    from guanxi.imports import engine, runner
    from guanxi.kit.errors import Problem

    s = settings_or_exit()
    if resume is None and (not file or not workspace or not user):
        err.print("[red]Give FILE, --workspace and --user (or --resume ID).[/red]")
        raise typer.Exit(2)

    async def go() -> tuple[int, str | None, dict[str, Any]]:
        db = Database(s.resolved_database_url())
        try:
            import_id = resume if resume is not None else await _create_import(db, s, file or "", type_, workspace or "",
                                                                             user or "", duplicates, mapping,
                                                                             update_fields)
            imp = await _import_row(db, import_id)
            if imp is None:
                raise Problem(404, "not_found")
            console.print(f"Import [bold]{import_id}[/bold]: {imp.filename} ({imp.type}, "
                          f"{imp.total_rows if imp.total_rows is not None else '?'} rows, duplicates: "
                          f"{imp.duplicate_mode}){'; resuming after row ' + str(imp.checkpoint) if imp.checkpoint else ''}")
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                          console=console, transient=False) as bar:
                task = bar.add_task("importing", total=imp.total_rows, completed=imp.processed)

                def progress(pr: runner.Progress) -> None:
                    bar.update(task, completed=pr.processed, description=(
                        f"created {pr.created} · updated {pr.updated} · skipped {pr.skipped} · failed {pr.failed}"))

                status = await runner.run_import(db, s, import_id, on_progress=progress,
                                                 batch=batch or engine.BATCH)
            imp = await _import_row(db, import_id)
            assert imp is not None
            report = {k: getattr(imp, k) for k in ("status", "processed", "created", "updated", "skipped", "failed")}
            report["error"] = imp.error
            report["failed_rows_file"] = await _write_failures(db, s, imp) if imp.failed else None
            return import_id, status, report
        finally:
            await db.dispose()

    try:
        import_id, status, report = run(go())
    except Problem as exc:
        _fail(exc)
        return
    if status is None and report["status"] in ("queued", "running"):
        err.print(f"[yellow]Import {import_id} is being run by another process; try --resume {import_id} later.[/yellow]")
        raise typer.Exit(1)
    console.print(f"[bold]{report['status']}[/bold]: created {report['created']}, updated {report['updated']}, "
                  f"skipped {report['skipped']}, failed {report['failed']} (of {report['processed']} rows)")
    if report["failed_rows_file"]:
        console.print(f"Failed rows and why: {report['failed_rows_file']}")
    if report["error"]:
        err.print(f"[red]{report['error'].get('message')}[/red]")
    raise typer.Exit(0 if report["status"] == "done" else 1)


async def _import_row(db: Any, import_id: int) -> Any:
    from guanxi.imports.models import Import

    async with db.session() as session:
        return await session.get(Import, import_id)


async def _create_import(db: Any, s: Settings, file: str, type_: str, workspace: str, user: str, duplicates: str,
                         mapping: str | None, update_fields: str = "fill") -> int:
    """Upload checks, the import row and its mapping, as POST /imports and PUT /imports/{id}/mapping do them."""
    from pathlib import Path

    from sqlalchemy import select

    from guanxi.accounts.models import User, Workspace
    from guanxi.authz.records import principal_for
    from guanxi.imports import files, service
    from guanxi.imports import schemas as isch
    from guanxi.kit.errors import FieldError, validation_error
    from guanxi.kit.i18n import current_language
    from guanxi.kit.jobs import writing

    path = Path(file)
    if not path.is_file():
        raise validation_error([FieldError("file", "not_found", f"no file {file}")])
    async with db.session() as session:
        ws = await session.scalar(select(Workspace.id).where(Workspace.slug == workspace))
        uid = await session.scalar(select(User.id).where(User.workspace_id == ws, User.email == user.strip().lower(),
                                                         User.active)) if ws else None
        if ws is None or uid is None:
            raise validation_error([FieldError("user", "not_found", f"no active user {user} in workspace {workspace}")])
        p = await principal_for(session, ws, uid)
    assert p is not None
    current_language.set(p.language)
    service.require(p, type_)
    body: dict[str, Any] = {"duplicate_mode": duplicates, "update_fields": update_fields}
    if mapping:
        text = Path(mapping).read_text(encoding="utf-8") if Path(mapping).is_file() else mapping
        try:
            body["mapping"] = json.loads(text)
        except ValueError:
            raise validation_error([FieldError("mapping", "invalid_json", "--mapping is not JSON")]) from None
    with open(path, "rb") as src:  # noqa: ASYNC230 - a command, not a server
        stored, size, info = await service.store_upload(s, p, src, path.name, type_)
    try:
        async with writing(db) as session:
            imp = await service.create_import(session, p, s, stored, size, info, path.name, type_)
            await session.flush()
            body.setdefault("mapping", imp.mapping)
            try:
                mapping_in = isch.MappingIn.model_validate(body)
            except ValueError:
                raise validation_error([FieldError("duplicates", "invalid_option", "--duplicates: skip, update or "
                                                   "create; --update-fields: fill or overwrite; --mapping: {\"header\": \"field\" or null}")]) from None
            await service.set_mapping(session, p, imp.id, mapping_in)
            await service.start(session, p, imp.id, None)
            return imp.id
    except BaseException:
        files.remove(stored)
        raise


async def _write_failures(db: Any, s: Settings, imp: Any) -> str:
    from guanxi.imports import service
    from guanxi.kit.i18n import current_language

    current_language.set(imp.language)
    out = s.imports_dir / str(imp.workspace_id) / f"{imp.id}-failed.csv"
    async with db.session() as session:
        with open(out, "wb") as f:  # noqa: ASYNC230 - a command, not a server
            async for chunk in service.failed_rows_csv(session, imp):
                f.write(chunk)
    return str(out.resolve())


@app.command()
def openapi() -> None:
    """Print the OpenAPI document (the web UI's types are generated from it)."""
    from guanxi.app import create_app

    spec = create_app(Settings(secret_key="x")).openapi()
    sys.stdout.write(json.dumps(spec, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


def _fail(exc: Any) -> None:
    from guanxi.kit.i18n import t

    lines = [f"{e['field']}: {e['message']}" for e in exc.errors] or [exc.detail or t(exc.code, 'en')]
    err.print(f"[red]Error ({exc.code}): {'; '.join(lines)}[/red]")
    raise typer.Exit(1)


if __name__ == "__main__":
    app()
