"""Every request measured and logged: the request id, `api_*` metrics and the access log.

A raw ASGI middleware outside the cache's, so L1 hits are counted like any other answer. It is
also the app's last error boundary: an exception nothing else answered becomes a 500 in the error
shape here (errors.unexpected_error_response), within the request id, so the server never sees
it: no second traceback, and the connection stays open.

The access log costs a request one tuple appended to a bounded buffer (`AccessLog`): a thread of
its own formats what gathered (the JSON lines `logs.JsonFormatter` would write, or the text ones),
passes the batch through the redactor once and writes it. Formatting and writing one line per
request through `logging` had halved the throughput of cached reads.
"""

from __future__ import annotations

import atexit
import logging
import os
import random
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from functools import lru_cache

import orjson
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shababco import metrics
from shababco.cache.keys import endpoint
from shababco.errors import unexpected_error_response
from shababco.logs import redact, request_id

ACCESS_LOGGER = "shababco.access"
access_log = logging.getLogger(ACCESS_LOGGER)
log = logging.getLogger(__name__)
INBOUND_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
FLUSH_SECONDS = 0.1
# Writes to a pipe of at most this many bytes are never interleaved with another process's.
PIPE_BUF = 4096
# (wall-clock time, request id, method, path, status, endpoint, seconds)
AccessEntry = tuple[float, str, str, str, int, str, float]


def _inbound_request_id(scope: Scope) -> str | None:
    """A caller's (or load balancer's) `X-Request-ID`, if it is a sane token."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if INBOUND_REQUEST_ID.match(text) else None
    return None


def request_id_for(scope: Scope) -> str:
    """The caller's `X-Request-ID` when it is a sane token, else a new one."""
    return _inbound_request_id(scope) or f"{random.getrandbits(64):016x}"


def answered(
    scope: Scope, rid: str, status: int, seconds: float, access_log: AccessLog | None
) -> None:
    """Count and log one answered request: the app's, or one the server answered before the
    app (serving.admission's door), so that both are seen alike."""
    endpoint, method = endpoint_of(scope), scope["method"]
    method = method if method in METHODS else "other"
    metrics.request_answered(endpoint, method, status, seconds)
    if access_log is not None:
        access_log.record(rid, method, scope["path"], status, endpoint, seconds)


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


def _stderr(data: bytes) -> None:
    """Write to standard error in pieces of whole lines, each at most PIPE_BUF when it can."""
    sys.stderr.flush()  # whatever `logging` left in the text layer goes first
    out = getattr(sys.stderr, "buffer", None)
    if out is None:  # a text-only stream (a test's capture)
        sys.stderr.write(data.decode())
        sys.stderr.flush()
        return
    for chunk in _pieces(data):
        out.write(chunk)
        out.flush()


def _pieces(data: bytes) -> list[bytes]:
    """`data` cut at line ends into pieces of at most PIPE_BUF bytes (a longer line alone)."""
    pieces, start = [], 0
    while len(data) - start > PIPE_BUF:
        end = data.rfind(b"\n", start, start + PIPE_BUF) + 1
        if end <= start:  # one line longer than PIPE_BUF
            end = data.find(b"\n", start + PIPE_BUF) + 1 or len(data)
        pieces.append(data[start:end])
        start = end
    if start < len(data):
        pieces.append(data[start:])
    return pieces


@lru_cache(maxsize=1024)
def _json_string(text: str) -> str:
    return orjson.dumps(text).decode()


class AccessLog:
    """One line per answered request, gathered in memory and written in batches.

    `record` only appends to a buffer of `capacity` lines; a thread wakes every FLUSH_SECONDS,
    or as soon as a quarter of the buffer is used, formats the batch and writes it with `sink`
    (standard error by default), in pieces that a pipe keeps whole. When writing cannot keep up
    (a blocked pipe), lines beyond the capacity are dropped and counted in
    `access_log_dropped_total`, rather than the requests waiting. `close` writes everything
    left: nothing recorded is lost on a clean stop. Lines are written only while the
    `shababco.access` logger is enabled for INFO (LOG_LEVEL info or debug), as before.
    """

    def __init__(
        self,
        *,
        log_format: str = "json",
        capacity: int = 16_384,
        sink: Callable[[bytes], None] = _stderr,
    ) -> None:
        self.text = log_format == "text"
        self.capacity, self.sink = capacity, sink
        self._soon = max(1, capacity // 4)
        self._pending: deque[AccessEntry] = deque()
        self._wake = threading.Event()
        self._closing = False
        self._writing = threading.Lock()
        self._thread: threading.Thread | None = None
        self._second, self._milli, self._prefix, self._stamp = -1, -1, "", ""

    def record(
        self, rid: str, method: str, path: str, status: int, endpoint: str, seconds: float
    ) -> None:
        """Note one answered request: the whole cost of the access log to the request."""
        pending = self._pending
        if len(pending) >= self.capacity:
            metrics.access_log_dropped()
            return
        pending.append((time.time(), rid, method, path, status, endpoint, seconds))
        if len(pending) >= self._soon and not self._wake.is_set():
            self._wake.set()

    def start(self) -> None:
        """Write batches from a thread of their own until `close`."""
        if self._thread is None:
            self._closing = False
            self._thread = threading.Thread(target=self._run, name="access-log", daemon=True)
            self._thread.start()
            atexit.register(self.flush)  # a line recorded after `close` is written too

    def close(self) -> None:
        """Stop the writer and write every line recorded so far."""
        self._closing = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.flush()

    def _run(self) -> None:
        while not self._closing:
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            try:
                self.flush()
            except Exception as exc:  # the next batch tries again; the requests go on
                log.warning("cannot write the access log: %r", exc)

    def flush(self) -> None:
        """Format and write every line recorded so far, in order."""
        with self._writing:
            pending = self._pending
            batch = [pending.popleft() for _ in range(len(pending))]
            if not batch or not access_log.isEnabledFor(logging.INFO):
                return
            format_line = self._text_line if self.text else self._json_line
            pid = os.getpid()
            text = "".join([format_line(entry, pid) for entry in batch])
            self.sink(redact(text).encode())

    def _json_line(self, entry: AccessEntry, pid: int) -> str:
        """The object `logs.JsonFormatter` writes for the access record, field for field."""
        at, rid, method, path, status, endpoint, seconds = entry
        # Written out, not a dict given to orjson: it halves the cost. The request id is a sane
        # token (INBOUND_REQUEST_ID) or hex, and the method one of METHODS: only the path and
        # the endpoint need JSON's escaping.
        message = orjson.dumps(f"{method} {path} {status}").decode()
        return (
            f'{{"ts":"{self._timestamp(at)}","level":"info","logger":"{ACCESS_LOGGER}",'
            f'"message":{message},"pid":{pid},"request_id":"{rid}",'
            f'"endpoint":{_json_string(endpoint)},"status":{status},'
            f'"ms":{seconds * 1e3:.2f}}}\n'
        )

    def _text_line(self, entry: AccessEntry, pid: int) -> str:
        _, rid, method, path, status, _, _ = entry
        return f"INFO {ACCESS_LOGGER}: {method} {path} {status} [{rid}]\n"

    def _timestamp(self, at: float) -> str:
        """`2026-12-05T13:08:02.123+00:00`, as `logs.JsonFormatter` writes it."""
        milli = int(at * 1000)
        if milli != self._milli:  # many lines share a millisecond, and more a second
            second = milli // 1000
            if second != self._second:
                self._second = second
                self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._milli, self._stamp = milli, f"{self._prefix}.{milli % 1000:03d}+00:00"
        return self._stamp


class TelemetryMiddleware:
    def __init__(self, app: ASGIApp, *, access_log: AccessLog | None = None) -> None:
        self.app, self.access_log = app, access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = request_id_for(scope)
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
            answered(scope, rid, status, time.perf_counter() - started, self.access_log)
            request_id.reset(token)
