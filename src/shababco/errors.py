"""The error format: `{"error": {"code", "message"}}`, never a stack trace, whatever failed.

Handlers answer the errors the app raises; an exception none takes is answered by the request
middleware (telemetry) through `unexpected_error_response`: a 500 in the same shape, logged once
with its traceback, the connection kept.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

log = logging.getLogger(__name__)

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_parameter",
    429: "too_many_requests",
    503: "service_unavailable",
}
# The status recorded (metrics, access log) for a request whose client left before its answer:
# nginx's convention, outside the range any answer uses.
CLIENT_CLOSED_REQUEST = 499
# PostgreSQL error classes and codes of a server that cannot serve now, as opposed to a
# statement that is wrong: connection exceptions (08), insufficient resources (53: too many
# clients, disk full), shutting down, starting up or in recovery (57P01-57P03), a statement
# cancelled (57014: timeout, or an administrator), and a read-only server where a write went
# (25006: a failover left the URL on a standby).
OUTAGE_SQLSTATE_CLASSES = frozenset({"08", "53"})
OUTAGE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "57014", "25006"})


ERROR_DESCRIPTIONS = {
    400: "Bad request: parameters that exclude each other, or a cursor this API did not issue.",
    401: "Unauthorized: a credential is missing or wrong.",
    404: "Not found.",
    422: "A parameter is invalid; the message names it.",
    500: "An unexpected error: logged with the request id (`X-Request-ID`).",
    503: "The database is unavailable (`database_unavailable`), or this process is serving all"
    " it can (`overloaded`): retry after `Retry-After` seconds.",
}


class ErrorBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="Stable, for programs: `not_found`, `invalid_parameter`, ...")
    message: str = Field(description="For people.")


class ErrorOut(BaseModel):
    """The body of every error response."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorBody


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` of these error statuses: each in the error shape."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        documented[status] = {"model": ErrorOut, "description": ERROR_DESCRIPTIONS[status]}
        if status == 503:
            retry = {"required": True, "schema": {"type": "integer", "minimum": 0}}
            documented[status]["headers"] = {"Retry-After": retry}
    return documented


class ApiError(Exception):
    """An answer with an error status, a stable code and a human message."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    body = orjson.dumps({"error": {"code": code, "message": message}})
    return Response(
        body,
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def _validation_message(errors: Any) -> str:
    parts = []
    for error in errors:
        location = ".".join(str(part) for part in error.get("loc", ()) if part not in {"query"})
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{location}: {message}")
    return "; ".join(parts) or "invalid request"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what a driver error wraps (`orig`) and its causes (not the exceptions it
    was raised while handling: a bug in an `except OSError` block is still a bug)."""
    pending, seen = [exc], set[int]()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for linked in (getattr(current, "orig", None), current.__cause__):
            if isinstance(linked, BaseException):
                pending.append(linked)


def _outage_sqlstate(exc: BaseException) -> bool:
    code = getattr(exc, "sqlstate", None)
    return isinstance(code, str) and (
        code[:2] in OUTAGE_SQLSTATE_CLASSES or code in OUTAGE_SQLSTATES
    )


def is_database_outage(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot serve now (retry later), not that a request or the
    code is wrong: unreachable, refusing or dropping connections, shutting down, starting up,
    out of connection slots, the pool exhausted."""
    for cause in _causes(exc):
        if isinstance(
            cause,
            OperationalError
            | InterfaceError
            | DisconnectionError
            | PoolTimeoutError
            | asyncpg.InterfaceError
            | OSError
            | TimeoutError,
        ):
            return True
        if isinstance(cause, DBAPIError) and cause.connection_invalidated:
            return True
        if _outage_sqlstate(cause):
            return True
    return False


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(ClientDisconnect)
    async def _client_left(request: Request, exc: ClientDisconnect) -> Response:
        # Nobody is left to answer: an ordinary event, recorded as 499 rather than an error.
        log.info("client disconnected before its request was read: %s", request.url.path)
        return Response(status_code=CLIENT_CLOSED_REQUEST)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        code = STATUS_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return error_response(exc.status_code, code, message, _with_head(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return error_response(422, "invalid_parameter", _validation_message(exc.errors()))

    async def _outage_or_bug(request: Request, exc: Exception) -> Response:
        return unexpected_error_response(exc, request.method, request.url.path)

    # Database errors get handlers of their own. No handler for Exception: Starlette would run it
    # as its last resort, which re-raises after answering (a second traceback, and the server
    # drops the connection); telemetry answers those instead (`unexpected_error_response`).
    for outage in (DBAPIError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        app.add_exception_handler(outage, _outage_or_bug)


def _with_head(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers of an error, a 405's `Allow` naming HEAD wherever it names GET (http.HeadAsGet
    answers it)."""
    allowed = [method.strip() for method in headers.get("Allow", "").split(",")]
    if "GET" in allowed and "HEAD" not in allowed:
        return {**headers, "Allow": ", ".join([*allowed, "HEAD"])}
    return dict(headers)


def unexpected_error_response(exc: Exception, method: str, path: str) -> Response:
    """The answer to an exception no handler took: 503 for a database outage, else a 500,
    logged once here with its traceback (and the request id, which the caller has set)."""
    if is_database_outage(exc):
        log.warning("database unavailable: %s", type(exc).__name__)
        return error_response(
            503,
            "database_unavailable",
            "the database is unavailable; retry shortly",
            {"Retry-After": "1"},
        )
    log.error("unhandled error on %s %s", method, path, exc_info=exc)
    return error_response(500, "internal_error", "internal server error")
