"""RFC 9457 problem responses with a stable code, field errors and a message in the user's language."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from guanxi.kit.i18n import t

log = logging.getLogger("guanxi")


class ProblemFieldError(BaseModel):
    field: str
    code: str
    message: str


class ProblemDetail(BaseModel):
    """application/problem+json (RFC 9457) with a stable code and per-field errors."""

    type: str = "about:blank"
    title: str
    status: int
    code: str
    detail: str
    errors: list[ProblemFieldError] = []


def _problem_doc(description: str) -> dict[str, Any]:
    return {"description": description, "model": ProblemDetail,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}}}


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem_doc("Unreadable body, bad filter, sort or cursor"),
    401: _problem_doc("Not signed in, or the session ended"),
    403: _problem_doc("Not allowed (permission, CSRF, read-only key)"),
    404: _problem_doc("Not found, or outside the caller's workspace and scope"),
    422: _problem_doc("Invalid fields; errors[] names each one"),
}


class FieldError(dict[str, str]):
    def __init__(self, field: str, code: str, message: str | None = None) -> None:
        super().__init__(field=field, code=code, message=message or t(code))


class Problem(Exception):
    """Raise anywhere; becomes an application/problem+json response."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors or []
        self.headers = headers
        self.extra = extra


def validation_error(errors: list[FieldError]) -> Problem:
    return Problem(422, "validation_failed", errors=errors)


def not_found() -> Problem:
    return Problem(404, "not_found")


def forbidden() -> Problem:
    return Problem(403, "forbidden")


def problem_response(p: Problem) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": t(p.code),
        "status": p.status,
        "code": p.code,
        "detail": p.detail or t(p.code),
        "errors": p.errors,
    }
    body.update(p.extra)
    return JSONResponse(body, status_code=p.status, headers=p.headers, media_type="application/problem+json")


_PYDANTIC_CODES = {
    "missing": "required",
    "extra_forbidden": "unknown_field",
    "string_too_long": "too_long",
    "string_too_short": "too_short",
    "literal_error": "invalid_option",
    "enum": "invalid_option",
    "value_error": "invalid_value",
}


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def from_validation(exc: RequestValidationError) -> Problem:
    errors: list[FieldError] = []
    for err in exc.errors():
        typ = err.get("type", "")
        if typ == "read_only_field":
            fields = str((err.get("ctx") or {}).get("fields", "")).split(",")
            return Problem(422, "read_only_field", errors=[FieldError(f, "read_only_field") for f in fields])
        if typ == "invalid_text":
            field = str((err.get("ctx") or {}).get("field", "body"))
            return validation_error([FieldError(field, "invalid_value")])
        if typ == "json_invalid":
            return Problem(400, "invalid_json", detail=t("invalid_json"))
        if typ == "model_attributes_type" or (typ == "dict_type" and len(err.get("loc", ())) <= 1):
            return Problem(400, "invalid_json", detail=t("invalid_json"))
        code = _PYDANTIC_CODES.get(typ)
        if code is None:
            code = "invalid_type" if typ.endswith(("_type", "_parsing")) else "invalid_value"
        ctx = err.get("ctx") or {}
        message = t(code)
        if code == "invalid_value" and isinstance(ctx.get("error"), Exception | str):
            message = str(ctx["error"])
        elif code == "invalid_value":
            message = err.get("msg", message)
        errors.append(FieldError(_field_path(tuple(err.get("loc", ()))), code, message))
    codes = {e["code"] for e in errors}
    if codes == {"unknown_field"}:
        return Problem(422, "unknown_field", errors=errors)
    return validation_error(errors)


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(from_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # 400 from the framework means the body could not be parsed at all
        code = {400: "invalid_json", 404: "not_found", 405: "method_not_allowed", 401: "not_authenticated",
                403: "forbidden"}.get(
            exc.status_code, "invalid_value"
        )
        return problem_response(Problem(exc.status_code, code))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(Problem(500, "internal_error"))
