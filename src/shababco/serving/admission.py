"""Admission: a process takes on the reads it can serve in time and answers the rest 503 at once.

Offered more than it can serve, a process that takes every request only queues them: each waits
behind all the others (for a database connection, for its turn on the loop) until clients time
out, and the answers that do come are seconds late. Instead, at most `max_in_flight` requests are
served at once; one more is answered `503 overloaded` with `Retry-After` straight away, which
costs about what an L1 hit does, so a client (or a load balancer) can go elsewhere or come back.

What is never turned away: intake (webhooks must be acknowledged, or Shopify retries and finally
drops the subscription), the probes (`/health`, `/ready`, `/metrics`: a process busy serving is
alive and ready), and the live streams, which hold their connection for minutes and have a bound
of their own. L1 cache hits are answered before admission (the middleware sits inside the
cache's): they take microseconds, as long as a 503 would, so refusing them would save nothing.

Under overload most answers are refusals, and clients that retry at once make them most of the
process's work. So a refusal is made cheap twice over. The connection answers it at its door
(`Door`, asked by serving.protocol before a request enters the app): the same 503, counted in the
same metrics and access log, without the ~60 µs of the server's request cycle and the
middlewares. And a refused connection rests: it is not read again for `refusal_rest` seconds,
so that a client retrying at once waits for its next answer instead of taking the CPU the
admitted requests need (the 503 itself is sent at once).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from shababco.cache.core import ResponseCache
from shababco.cache.keys import KeyFunction
from shababco.serving.bridge import HEALTH_PATH, WEBHOOKS_PREFIX
from shababco.serving.protocol import REST_EXTENSION
from shababco.telemetry import AccessLog, answered, request_id_for

ALWAYS_ADMITTED = frozenset({HEALTH_PATH, "/ready", "/metrics"})
LIVE_SUFFIX = "/live"
# The weight of the latest request in the moving average of service times (about the last 20).
SERVICE_AVERAGE_WEIGHT = 0.05
OVERLOADED_CODE = "overloaded"
OVERLOADED_MESSAGE = "this server is at capacity; retry after Retry-After seconds"
OVERLOADED_STATUS_LINE = b"HTTP/1.1 503 Service Unavailable\r\n"


def always_admitted(path: str) -> bool:
    """Intake, the probes and the live streams: never turned away."""
    return path in ALWAYS_ADMITTED or path.startswith(WEBHOOKS_PREFIX) or path.endswith(LIVE_SUFFIX)


class Admission:
    """An ASGI middleware bounding the requests one process serves at once (on one loop).

    At most `max_in_flight` requests are served at once; more wait for a slot in arrival order
    (a fair queue: the database pool's own lets a newcomer take a connection ahead of those
    already waiting). A new request is answered 503 at once instead of joining the queue when
    the queue stands over `queue_budget` seconds: its oldest has waited that long, or, served at
    the recent pace (a moving average of the time a request holds its slot), the last in line
    would wait that long. A burst of arrivals therefore queues only what is served in time.
    The first to wait always may: it is next. A refused connection rests `refusal_rest_seconds`.
    Given a `door`, the middleware lets it refuse at the connection what it would refuse itself.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_in_flight: int,
        queue_budget_seconds: float,
        retry_after_seconds: int,
        refusal_rest_seconds: float,
        door: Door | None = None,
    ) -> None:
        self.app = app
        self.max_in_flight, self.queue_budget = max_in_flight, queue_budget_seconds
        self.refusal_rest = refusal_rest_seconds
        self.in_flight = 0
        self.waiting: deque[tuple[asyncio.Future[None], float]] = deque()
        self.service_seconds = 0.0  # moving average of the time a request holds its slot
        body = orjson.dumps({"error": {"code": OVERLOADED_CODE, "message": OVERLOADED_MESSAGE}})
        self.refusal_headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
            (b"retry-after", str(retry_after_seconds).encode()),
        ]
        self.refusal_body = body
        if door is not None:
            door.admission = self

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or always_admitted(scope["path"]):
            await self.app(scope, receive, send)
            return
        if self.in_flight < self.max_in_flight and not self.waiting:
            self.in_flight += 1
        elif self.standing():
            await self._refuse(scope, send)
            return
        else:
            await self._wait_for_a_slot()
        started = time.monotonic()
        try:
            await self.app(scope, receive, send)
        finally:  # answered, failed, or cancelled: the slot goes to the next in line
            held = time.monotonic() - started
            self.service_seconds += SERVICE_AVERAGE_WEIGHT * (held - self.service_seconds)
            self._release()

    def refuses(self, path: str) -> bool:
        """Whether a request for `path` arriving now would be answered 503."""
        return self.standing() and not always_admitted(path)

    def standing(self) -> bool:
        """Whether a request joining the queue now would wait longer than the budget."""
        if not self.waiting:
            return False
        now = time.monotonic()
        expected = len(self.waiting) * self.service_seconds / self.max_in_flight
        return now - self.waiting[0][1] >= self.queue_budget or expected >= self.queue_budget

    async def _wait_for_a_slot(self) -> None:
        slot = asyncio.get_running_loop().create_future()
        entry = (slot, time.monotonic())
        self.waiting.append(entry)
        try:
            await slot
        except asyncio.CancelledError:
            if slot.done() and not slot.cancelled():  # handed a slot as it was cancelled
                self._release()
            else:
                self.waiting.remove(entry)
            raise

    def _release(self) -> None:
        while self.waiting:
            slot, _ = self.waiting.popleft()
            if not slot.done():
                slot.set_result(None)  # the slot passes on: `in_flight` stays
                return
        self.in_flight -= 1

    async def _refuse(self, scope: Scope, send: Send) -> None:
        rest = scope.get("extensions", {}).get(REST_EXTENSION)
        if rest is not None:
            rest(self.refusal_rest)
        headers = self.refusal_headers
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": self.refusal_body})


class Door:
    """Admission's refusal answered at the connection (serving.protocol's `Door`): the app's
    503, byte for byte, with its `X-Request-ID`, counted and logged as the app's would be.

    It refuses only what its `Admission` (which hands itself over when the app builds it) would
    refuse, and lets in a read the L1 cache would answer: those are served under overload as
    before.
    """

    def __init__(
        self,
        *,
        app: ASGIApp,
        cache: ResponseCache,
        cache_key: KeyFunction,
        access_log: AccessLog | None,
    ) -> None:
        self.app, self.cache, self.cache_key = app, cache, cache_key
        self.access_log = access_log
        self.admission: Admission | None = None  # the app's, once the app has built it

    def refusal(
        self, scope: Scope, server_headers: list[tuple[bytes, bytes]]
    ) -> tuple[bytes, float] | None:
        """The 503 to write for a request admission would refuse now, and the rest after it."""
        admission = self.admission
        if admission is None or not admission.refuses(scope["path"]) or self._cached(scope):
            return None
        started = time.perf_counter()
        rid = request_id_for(scope)
        headers = [*server_headers, *admission.refusal_headers, (b"x-request-id", rid.encode())]
        head = b"".join([name + b": " + value + b"\r\n" for name, value in headers])
        body = b"" if scope["method"] == "HEAD" else admission.refusal_body
        scope["app"] = self.app  # the routes, for the endpoint the metrics name
        answered(scope, rid, 503, time.perf_counter() - started, self.access_log)
        return OVERLOADED_STATUS_LINE + head + b"\r\n" + body, admission.refusal_rest

    def _cached(self, scope: Scope) -> bool:
        if scope["method"] not in ("GET", "HEAD"):  # a HEAD is served from the cache too
            return False
        key = self.cache_key(scope["path"], scope["query_string"])
        return key is not None and self.cache.holds(key)
