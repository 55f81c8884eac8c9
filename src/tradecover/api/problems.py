"""The one place that maps errors to HTTP: RFC 9457 problem+json."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tradecover.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    RateLimited,
    RuleBroken,
)

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("tradecover.api")

STATUS_BY_ERROR: list[tuple[type[DomainError], int]] = [
    (NotFound, 404),
    (NotAuthenticated, 401),
    (Forbidden, 403),
    (Conflict, 409),
    (InvalidInput, 422),
    (RuleBroken, 422),
    (RateLimited, 429),
]

TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    429: "Too many requests",
    422: "Unprocessable content",
    500: "Internal error",
}


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    instance: str | None = None,
    field: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:tradecover:problem:{code}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    if field:
        body["field"] = field
    body.update(extra or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def status_of(error: DomainError) -> int:
    for kind, status in STATUS_BY_ERROR:
        if isinstance(error, kind):
            return status
    return 422


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, error: DomainError) -> JSONResponse:
        status = status_of(error)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        retry_after = (error.context or {}).get("retry_after_seconds")
        if status == 429 and isinstance(retry_after, int):
            headers = {"Retry-After": str(retry_after)}  # RFC 9110 §10.2.3: seconds to wait
        extra = {"context": error.as_dict()["context"]} if error.context else None
        return problem(
            status,
            error.code,
            error.message,
            instance=request.url.path,
            field=error.field,
            extra=extra,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": _field_name(tuple(e.get("loc", ()))),
                "message": e.get("msg", ""),
                "type": e.get("type"),
            }
            for e in error.errors()
        ]
        if any(e["type"] == "json_invalid" for e in errors):
            return problem(
                400,
                "request.malformed_json",
                "the request body is not valid JSON",
                instance=request.url.path,
                extra={"errors": errors},
            )
        first = errors[0] if errors else {"field": None, "message": "invalid request"}
        return problem(
            422,
            "request.invalid",
            f"{first['field']}: {first['message']}",
            instance=request.url.path,
            field=first["field"],
            extra={"errors": errors},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "route.not_found", 405: "route.method_not_allowed"}.get(error.status_code, "http.error")
        return problem(
            error.status_code,
            code,
            str(error.detail),
            instance=request.url.path,
            headers=dict(error.headers or {}),
        )

    @app.exception_handler(DataError)
    async def _data(request: Request, error: DataError) -> JSONResponse:
        # The database refused a value the schemas let through (PostgreSQL: a NUL character in text, a
        # number out of its column's range): the client's input, and the transaction rolled back.
        log.warning("database refused a value on %s %s: %s", request.method, request.url.path, error.orig)
        return problem(
            422,
            "request.invalid_value",
            "a value of the request cannot be stored (control character or out of range)",
            instance=request.url.path,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(
            500,
            "internal.error",
            "an unexpected error occurred; it has been logged",
            instance=request.url.path,
        )
