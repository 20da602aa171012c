"""EventFront: an event's and its tickets' reads answered past FastAPI's router.

These two reads take one path parameter, no body and no dependency, so the router's matching,
FastAPI's request wrapping and its dependency solving buy them nothing, yet cost about as much
CPU as the query itself. The front matches the routes' own patterns, calls their handlers, and
answers their errors with the app's own exception handlers, so the answer is the router's, byte
for byte (tests/catalog/test_front.py compares the two). Everything else passes on unchanged.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from re import Match
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from shababco.catalog.routes import get_event, list_tickets

ExceptionHandler = Callable[[Request, Any], Response | Awaitable[Response]]
FRONTED = (get_event, list_tickets)  # handlers taking (request, event_id), and nothing else


class EventFront:
    """Answers `GET /events/{event_id}` and `/events/{event_id}/tickets` by calling their
    handlers directly; must sit inside every middleware that should see them."""

    def __init__(
        self, app: ASGIApp, routes: Sequence[BaseRoute], handlers: Mapping[Any, ExceptionHandler]
    ) -> None:
        self.app, self.handlers = app, handlers
        self.routes = [
            route for route in routes if isinstance(route, APIRoute) and route.endpoint in FRONTED
        ]
        assert len(self.routes) == len(FRONTED), "the catalog's routes are all given"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Under a root path the router matches a stripped path: leave those to it.
        if scope["type"] == "http" and scope["method"] == "GET" and not scope.get("root_path"):
            for route in self.routes:
                match = route.path_regex.match(scope["path"])
                if match is not None:
                    await self._answer(route, match, scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _answer(
        self, route: APIRoute, match: Match[str], scope: Scope, receive: Receive, send: Send
    ) -> None:
        event_id = match["event_id"]
        # What the router would have set: telemetry labels requests by the route's template.
        scope["route"], scope["endpoint"] = route, route.endpoint
        scope["path_params"] = {"event_id": event_id}
        request = Request(scope, receive)
        try:
            response = await route.endpoint(request, event_id)
        except Exception as exc:
            handler = self._handler_of(exc)
            if handler is None:
                raise  # telemetry answers what no handler takes, as for any route
            answer = handler(request, exc)
            response = await answer if inspect.isawaitable(answer) else answer
        await response(scope, receive, send)

    def _handler_of(self, exc: Exception) -> ExceptionHandler | None:
        for kind in type(exc).__mro__:
            if kind in self.handlers:
                return self.handlers[kind]
        return None
