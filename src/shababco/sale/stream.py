"""One live stream over HTTP: Server-Sent Events written straight to the ASGI `send`.

A stream lives for minutes or hours, and 10,000 of them share one process, so what each holds
while it waits matters (bench/live_bench.py measures it). The route checks the request and
subscribes, then its `EventStream` hands itself to `LiveMiddleware`, which sits above the
framework: the framework's frames for the request (routing, dependencies, exception handling,
about 15 KB a stream) are gone before the stream starts. Each stream then holds its hub
`Subscriber` and one small task waiting for the client to go away (the server reports a
disconnect only through `receive`), and nothing else: keep-alive comments come from the hub's
one ticker. Without the middleware (an app that does not install it) a stream runs in place.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from shababco import metrics
from shababco.sale.live import LiveHub, Subscriber

HANDOFF = "shababco.live_stream"
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),  # proxies such as nginx pass each message on at once
]


class EventStream(Response):
    """A `text/event-stream` response: `first` (if any), then the subscriber's frames."""

    media_type = "text/event-stream"

    def __init__(self, hub: LiveHub, subscriber: Subscriber, first: bytes | None) -> None:
        self.status_code = 200
        self.background = None
        self.hub, self.subscriber, self.first = hub, subscriber, first

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handoff = scope.get(HANDOFF)
        if isinstance(handoff, list):
            handoff.append(self)  # LiveMiddleware streams once the framework has returned
        else:
            await self.stream(scope, receive, send)

    async def stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        subscriber, first = self.subscriber, self.first
        self.first = None
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        if scope["method"] == "HEAD":
            self.hub.unsubscribe(subscriber)
            await send({"type": "http.response.body", "body": b""})
            return
        listener = asyncio.create_task(_until_disconnect(receive, subscriber))
        try:
            if first is not None:
                await _send_frame(send, first)
                metrics.live_messages_sent("snapshot")
                first = None  # held no longer than needed: the stream may last hours
            while (frame := await subscriber.next()) is not None:
                await _send_frame(send, frame.wire)
            await send({"type": "http.response.body", "body": b""})
        finally:
            listener.cancel()
            self.hub.unsubscribe(subscriber)


class LiveMiddleware:
    """Runs the live streams the app hands over, after the app's own call has returned."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/live"):
            await self.app(scope, receive, send)
            return
        handed: list[EventStream] = []
        await self._route(scope, receive, send, handed)
        if handed:
            await handed[0].stream(scope, receive, send)

    async def _route(self, scope: Scope, receive: Receive, send: Send, handed: list[Any]) -> None:
        """Let the app answer; if it handed a stream over, clear what the framework left in
        the scope (exit stacks, its routing state): only the route stays (telemetry's label)."""
        before = set(scope)
        scope[HANDOFF] = handed
        await self.app(scope, receive, send)
        if handed:
            for key in [key for key in scope if key not in before and key != "route"]:
                del scope[key]


async def _send_frame(send: Send, chunk: bytes) -> None:
    await send({"type": "http.response.body", "body": chunk, "more_body": True})


async def _until_disconnect(receive: Receive, subscriber: Subscriber) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    subscriber.close("client")
