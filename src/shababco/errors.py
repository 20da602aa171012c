"""The error format: `{"error": {"code", "message"}}`, never a stack trace, whatever failed.

Handlers answer the errors the app raises; an exception none takes is answered by the request
middleware (telemetry) through `unexpected_error_response`: a 500 in the same shape, logged once
with its traceback, the connection kept.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException

log = logging.getLogger(__name__)

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_parameter",
    429: "too_many_requests",
    503: "service_unavailable",
}


ERROR_DESCRIPTIONS = {
    400: "Bad request: parameters that exclude each other, or a cursor this API did not issue.",
    401: "Unauthorized: a credential is missing or wrong.",
    404: "Not found.",
    422: "A parameter is invalid; the message names it.",
    500: "An unexpected error: logged with the request id (`X-Request-ID`).",
    503: "The database is unavailable: retry after `Retry-After` seconds.",
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

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


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


def is_database_outage(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OSError | TimeoutError)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        code = STATUS_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return error_response(exc.status_code, code, message, _with_head(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return error_response(422, "invalid_parameter", _validation_message(exc.errors()))

    async def _outage_or_bug(request: Request, exc: Exception) -> Response:
        if is_database_outage(exc):
            log.warning("database unavailable: %s", type(exc).__name__)
            return error_response(
                503,
                "database_unavailable",
                "the database is unavailable; retry shortly",
                {"Retry-After": "1"},
            )
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "internal server error")

    # Database errors get handlers of their own. No handler for Exception: Starlette would run it
    # as its last resort, which re-raises after answering (a second traceback, and the server
    # drops the connection); telemetry answers those instead (`unexpected_error_response`).
    for outage in (DBAPIError, OSError):
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
