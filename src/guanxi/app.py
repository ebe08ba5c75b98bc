"""create_app(): middleware, routers, problem responses and the built web UI at /."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from guanxi import __version__
from guanxi.accounts.endpoints import router as accounts_router
from guanxi.activities.endpoints import router as activities_router
from guanxi.config import Settings, get_settings
from guanxi.customers.endpoints import router as customers_router
from guanxi.db import Database
from guanxi.dedupe.endpoints import router as dedupe_router
from guanxi.exports.endpoints import router as exports_router
from guanxi.imports.endpoints import router as imports_router
from guanxi.jobs.endpoints import router as jobs_router
from guanxi.kit import errors
from guanxi.kit.errors import Problem, problem_response
from guanxi.kit.jobs import GuanxiConsumer, JobQueue
from guanxi.notifications.endpoints import router as notifications_router
from guanxi.timeline.endpoints import router as timeline_router

UI_DIR = Path(__file__).parent / "ui"
log = logging.getLogger("guanxi")


UPLOAD_PATH = re.compile(r"^/api/v1/interactions/\d+/attachments$")
IMPORT_PATH = "/api/v1/imports"
MULTIPART_SLACK = 64 * 1024  # part headers and boundaries around the file


class BodyLimit:
    """Refuse bodies over the limit with 413 before they are read into memory.

    Attachment uploads and import files get their own, larger limits (the routes check the file itself, exactly).
    """

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int | None = None,
                 import_limit: int | None = None) -> None:
        self.app, self.limit = app, limit
        self.upload_limit = max(limit, upload_limit or 0)
        self.import_limit = max(limit, import_limit or 0)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, code = self.limit, "payload_too_large"
        if scope.get("method") == "POST":
            if UPLOAD_PATH.match(scope["path"]):
                limit = self.upload_limit
            elif scope["path"].rstrip("/") == IMPORT_PATH:
                limit, code = self.import_limit, "file_too_large"
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await problem_response(Problem(413, code))(scope, receive, send)
            return
        seen, refused = 0, False

        async def limited() -> Message:
            # a body without Content-Length (chunked) is counted as it streams in: past the limit the client gets
            # the 413 at once and the route sees a disconnect, so nothing more is read (or spooled to disk)
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    refused = True
                    await problem_response(Problem(413, code))(scope, receive, send)
                    return {"type": "http.disconnect"}
            return msg

        async def send_unless_refused(message: Message) -> None:
            if not refused:
                await send(message)

        try:
            await self.app(scope, limited, send_unless_refused)
        except Exception:
            if not refused:
                raise


class SecurityHeaders:
    """Security headers on every response, no-store on the API; a plain ASGI wrapper costs less per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        extra = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()
                 if not (k == "Content-Security-Policy" and path.startswith("/api/docs"))]
        if path.startswith("/api/"):
            extra.append((b"cache-control", b"no-store"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in extra if h[0] not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
}


def _start_consumer(jobs: JobQueue) -> GuanxiConsumer:
    consumer = jobs.consumer(embedded=True)
    consumer.start_embedded()
    return consumer


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    jobs = JobQueue(settings, database_url=database.url if database is not None else None)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not hasattr(app.state, "db"):
            app.state.db = Database(settings.resolved_database_url())
            jobs.attach(app.state.db)
        consumer: GuanxiConsumer | None = None
        if settings.jobs_in_process:  # `guanxi worker` runs it instead when this is off
            consumer = await asyncio.to_thread(_start_consumer, jobs)
        try:
            yield
        finally:
            if consumer is not None:
                await asyncio.to_thread(consumer.stop_embedded)
            jobs.close()
            await app.state.db.dispose()

    app = FastAPI(
        title="Guanxi CRM API",
        version=__version__,
        description="Guanxi (关系) — customers, contacts, interactions, tasks, notes, notifications, the customer timeline, "
        "users, teams, roles. Errors are application/problem+json.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.jobs = jobs
    if database is not None:
        app.state.db = database
        jobs.attach(database)
    errors.install(app)

    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes,
                       upload_limit=settings.attachment_max_bytes + MULTIPART_SLACK,
                       import_limit=settings.import_max_bytes + MULTIPART_SLACK)

    @app.get("/api/health", tags=["health"])
    async def health(request: Request) -> dict[str, Any]:
        from sqlalchemy import text

        async with request.app.state.db.session() as session:
            await session.execute(text("SELECT 1"))
        return {"status": "ok", "database": request.app.state.db.kind, "version": __version__,
                "jobs": {"backend": settings.jobs_backend, "in_process": settings.jobs_in_process}}

    app.include_router(accounts_router)
    app.include_router(dedupe_router)
    app.include_router(customers_router)
    app.include_router(activities_router)
    app.include_router(timeline_router)
    app.include_router(notifications_router)
    app.include_router(jobs_router)
    app.include_router(exports_router)
    app.include_router(imports_router)

    @app.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    async def api_not_found(rest: str) -> JSONResponse:
        return problem_response(Problem(404, "not_found"))

    @app.get("/{rest:path}", include_in_schema=False)
    async def spa(rest: str) -> Response:
        index = UI_DIR / "index.html"
        if rest:
            candidate = (UI_DIR / rest).resolve()
            if candidate.is_file() and UI_DIR.resolve() in candidate.parents:
                headers = {"Cache-Control": "public, max-age=31536000, immutable"} if rest.startswith("assets/") else {}
                return FileResponse(candidate, headers=headers)
        if index.exists():
            return FileResponse(index, headers={"Cache-Control": "no-cache"})
        return JSONResponse({"detail": "The web UI is not built; run `make run` or `npm --prefix frontend run build`."},
                            status_code=503)

    return app
