"""One live stream over HTTP: Server-Sent Events written straight to the ASGI `send`.

A stream lives for minutes or hours, and 10,000 of them share one process, so what each holds
while it waits matters (bench.live_bench measures it). The route checks the request and
subscribes; its `EventStream` sends the headers and the first message, then hands the stream to
`StreamingApp`, the app's outermost layer, which follows it once every inner layer has returned:
their frames and exit stacks are not held for the stream's life. tracemalloc counted 24.5 KB of
objects a stream held through the whole stack; at rest a stream now holds its `Subscriber` and
its request's task waiting in `receive`, about what uvicorn holds for any open connection.
In an app that is not a `StreamingApp`, a stream runs in place.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from shababco import metrics
from shababco.sale.live import LiveHub
from shababco.sale.subscriber import Subscriber

HANDOFF = "shababco.live_stream"
Handed = tuple[LiveHub, Subscriber]
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),  # proxies such as nginx pass each message on at once
]


class EventStream(Response):
    """A `text/event-stream` response: the headers and `first` (if any), then the subscriber's
    frames, by the app's outermost layer when it takes streams over (`StreamingApp`)."""

    media_type = "text/event-stream"

    def __init__(self, hub: LiveHub, subscriber: Subscriber, first: bytes | None) -> None:
        self.status_code = 200
        self.background = None
        self.hub, self.subscriber, self.first = hub, subscriber, first

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hub, subscriber, first = self.hub, self.subscriber, self.first
        self.first = None
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        if scope["method"] == "HEAD":
            hub.unsubscribe(subscriber)
            await send({"type": "http.response.body", "body": b""})
            return
        if first is not None:
            await _send_frame(send, first)
            metrics.live_messages_sent("snapshot")
        handoff = scope.get(HANDOFF)
        if isinstance(handoff, list):
            handoff.append((hub, subscriber))
        else:
            await follow(receive, send, hub, subscriber)


class StreamingApp(FastAPI):
    """The API, which runs the live streams its routes start once their request is answered.

    A stream's headers and first message go out through every layer (telemetry logs the request,
    with its id); the rest is sent from here, with the server's own `send`, after the framework's
    call has returned: its frames and exit stacks are not held for the stream's life."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/live"):
            await super().__call__(scope, receive, send)
            return
        handed: list[Handed] = []
        await self._answer(scope, receive, send, handed)
        if handed:
            await follow(receive, send, *handed.pop())

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, handed: list[Handed]
    ) -> None:
        """The framework's answer; what it left in the scope goes if a stream was handed over."""
        before = set(scope)
        scope[HANDOFF] = handed
        await super().__call__(scope, receive, send)
        if handed:
            for key in [key for key in scope if key not in before]:
                del scope[key]


async def follow(receive: Receive, send: Send, hub: LiveHub, subscriber: Subscriber) -> None:
    """The stream's life after its first message, on this request's task (see Subscriber)."""
    try:
        await subscriber.follow(receive, send)
    finally:
        hub.unsubscribe(subscriber)


async def _send_frame(send: Send, chunk: bytes) -> None:
    await send({"type": "http.response.body", "body": chunk, "more_body": True})
