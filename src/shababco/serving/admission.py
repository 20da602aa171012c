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
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from shababco.serving.bridge import HEALTH_PATH, WEBHOOKS_PREFIX
from shababco.serving.protocol import REST_EXTENSION

ALWAYS_ADMITTED = frozenset({HEALTH_PATH, "/ready", "/metrics"})
LIVE_SUFFIX = "/live"
# The weight of the latest request in the moving average of service times (about the last 20).
SERVICE_AVERAGE_WEIGHT = 0.05
OVERLOADED_CODE = "overloaded"
OVERLOADED_MESSAGE = "this server is at capacity; retry after Retry-After seconds"


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
    The first to wait always may: it is next.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_in_flight: int,
        queue_budget_seconds: float,
        retry_after_seconds: int,
    ) -> None:
        self.app = app
        self.max_in_flight, self.queue_budget = max_in_flight, queue_budget_seconds
        self.in_flight = 0
        self.waiting: deque[tuple[asyncio.Future[None], float]] = deque()
        self.service_seconds = 0.0  # moving average of the time a request holds its slot
        body = orjson.dumps({"error": {"code": OVERLOADED_CODE, "message": OVERLOADED_MESSAGE}})
        self._refusal_headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
            (b"retry-after", str(retry_after_seconds).encode()),
        ]
        self._refusal_body = body

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
            rest(self.queue_budget)
        headers = self._refusal_headers
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": self._refusal_body})
