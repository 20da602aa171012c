"""Every request measured and logged: the request id, `api_*` metrics and the access log.

A raw ASGI middleware outside the cache's, so L1 hits are counted like any other answer. It is
also the app's last error boundary: an exception nothing else answered becomes a 500 in the error
shape here (errors.unexpected_error_response), within the request id, so the server never sees
it: no second traceback, and the connection stays open.
"""

from __future__ import annotations

import logging
import os
import re
import time

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shababco import metrics
from shababco.cache.keys import endpoint
from shababco.errors import unexpected_error_response
from shababco.logs import request_id

access_log = logging.getLogger("shababco.access")
INBOUND_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _inbound_request_id(scope: Scope) -> str | None:
    """A caller's (or load balancer's) `X-Request-ID`, if it is a sane token."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if INBOUND_REQUEST_ID.match(text) else None
    return None


def endpoint_of(scope: Scope) -> str:
    """The route template that answered: bounded label values, never the raw path."""
    route = scope.get("route")
    if route is not None:
        return str(route.path)
    cached = endpoint(scope["path"])  # an L1 hit: the cache's own route template
    if cached is not None:
        return cached[0]
    for candidate in getattr(scope.get("app"), "routes", ()):
        match, _ = candidate.matches(scope)
        if match is Match.FULL:
            return str(candidate.path)
    return metrics.UNMATCHED


class TelemetryMiddleware:
    def __init__(self, app: ASGIApp, *, access_log_enabled: bool = True) -> None:
        self.app, self.access_log_enabled = app, access_log_enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = _inbound_request_id(scope) or os.urandom(8).hex()
        token = request_id.set(rid)
        header = (b"x-request-id", rid.encode())
        status = 0  # until the answer starts

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if status:
                raise  # the answer has begun: the server can only cut it short
            answer = unexpected_error_response(exc, scope["method"], scope["path"])
            await answer(scope, receive, send_with_id)
        finally:
            status = status or 500  # the server's answer to an app that sent none
            seconds = time.perf_counter() - started
            endpoint, method = endpoint_of(scope), scope["method"]
            method = method if method in METHODS else "other"
            metrics.request_answered(endpoint, method, status, seconds)
            if self.access_log_enabled:
                access_log.info(
                    "%s %s %d",
                    method,
                    scope["path"],
                    status,
                    extra={"endpoint": endpoint, "status": status, "ms": round(seconds * 1e3, 2)},
                )
            request_id.reset(token)
