"""uvicorn's HTTP/1.1 protocol, with deadlines on receiving requests, a lingering close, and a
door that may answer a request before it enters the application."""

from __future__ import annotations

import asyncio
import time
import weakref
from typing import Any, Protocol, cast

import orjson
from starlette.types import Scope
from uvicorn._types import ASGI3Application
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

DEFAULT_REQUEST_TIMEOUT_SECONDS = 30.0
# After the deadline, an application still answering gets this long before the connection goes.
ANSWER_GRACE_SECONDS = 5.0
# Closing on a body still arriving would reset the connection, and a client still sending would
# never read the answer (a 413): the body is read and dropped for this long, this much at most.
LINGER_SECONDS = 5.0
LINGER_BYTES = 4 << 20
_TIMEOUT_BODY = orjson.dumps(
    {"error": {"code": "request_timeout", "message": "the request did not arrive in time"}}
)
# The ASGI scope extension through which the application asks the connection to rest after its
# answer (serving.admission): a callable taking the seconds to stop reading the connection for.
REST_EXTENSION = "shababco.rest_after_answer"
REQUEST_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
    b"cache-control: no-store\r\nconnection: close\r\n"
    b"content-length: " + str(len(_TIMEOUT_BODY)).encode() + b"\r\n\r\n" + _TIMEOUT_BODY
)


class Door(Protocol):
    """What a connection asks of a request whose head has arrived, before the app sees it."""

    def refusal(
        self, scope: Scope, server_headers: list[tuple[bytes, bytes]]
    ) -> tuple[bytes, float] | None:
        """The whole answer to write instead of calling the app, and the seconds the connection
        then rests (reads nothing); None to let the request in."""


class TimedRequestProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, where a request must arrive whole within a deadline, and a
    connection closed on a request body still arriving lingers before it goes.

    uvicorn times only the wait between requests (keep-alive), and only after a first answer: a
    client that connects and sends nothing, or sends a head or a body a byte at a time, holds its
    connection for ever. Here a new connection must start a request within the keep-alive
    timeout, and each request must arrive whole within `request_timeout` seconds of its first
    byte (`first_request_deadline`, a `time.monotonic()` instant, when whoever accepted the
    connection saw that byte already). When it runs out, an unfinished head is answered 408; a
    body still coming after the answer, or that the application does not read, ends the
    connection (an application reading it answers 408 by its own clock).

    An answer that closes the connection (`Connection: close`: a 413, a 408) while the body is
    still coming first ends only the sending side, then reads and drops the body for at most
    `LINGER_SECONDS` and `LINGER_BYTES` (nginx's lingering close): the client gets its answer,
    and a body that never ends is not read for ever.

    When its loop has a door (`loop.door`, serving.loop's `attach_door`), a keep-alive request
    is offered to it as it would start into the app (in order, after any answer before it):
    the door's answer is written as is, and the app never sees the request.
    """

    request_timeout: float = DEFAULT_REQUEST_TIMEOUT_SECONDS
    first_request_deadline: float | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._request_began: float | None = None  # loop time of a request still arriving
        self._head_incomplete = False
        self._body_incomplete = False
        self._lingering: asyncio.TimerHandle | None = None
        self._lingered_bytes = 0
        self._socket: asyncio.Transport | None = None
        self._rest_seconds = 0.0
        self._resting: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._socket = transport
        super().connection_made(cast(asyncio.Transport, _ClosingLingers(transport, self)))
        if self.first_request_deadline is None:
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )
        else:
            delay = max(0.0, self.first_request_deadline - time.monotonic())
            self._deadline = self.loop.call_later(delay, self._request_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._clear_deadline()
        for timer in (self._lingering, self._resting):
            if timer is not None:
                timer.cancel()
        super().connection_lost(exc)
        # Let go of what refers back to this protocol (its request cycle, whose callbacks are
        # its methods; the transport), so that a closed connection is freed at once. Left as
        # cycles, connections that lived past a young collection waited for a full one, which
        # comes rarely (shababco.heap): 8 MB more per 1,000 connections served and closed.
        self.cycle = None  # type: ignore[assignment]
        self._socket = None
        self.scope = None  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._lingering is None:
            super().data_received(data)
            # Armed only for a request that did not arrive in one piece: most do, and a timer
            # per request would cost a read's throughput.
            if self._request_began is not None and self._deadline is None:
                self._deadline = self.loop.call_at(
                    self._request_began + self.request_timeout, self._request_timed_out
                )
            return
        # Dropped unparsed: nothing more is answered on this connection, which ends when the
        # client, having read its answer, closes it, or when the linger runs out.
        self._lingered_bytes += len(data)
        if self._lingered_bytes > LINGER_BYTES:
            self._close_now()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        extensions: Any = {REST_EXTENSION: self._rest_after_answer}
        self.scope["extensions"] = extensions
        self._head_incomplete = True
        self._request_began = self.loop.time()

    def on_headers_complete(self) -> None:
        self._head_incomplete = False
        self._body_incomplete = True
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._clear_deadline()
        self._request_began = None
        self._body_incomplete = False
        super().on_message_complete()

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        # Not a request that closes its connection (rare, and closing has rules of its own), nor
        # one whose client is not reading its answers: the app's answer waits for it to read.
        door: Door | None = None
        if cycle.keep_alive and not self.flow.write_paused:
            door = getattr(self.loop, "door", None)
        scope = cast(Scope, cycle.scope)
        refusal = door.refusal(scope, cycle.default_headers) if door is not None else None
        if refusal is None:
            super()._start_asgi_task(cycle, app)
            return
        answer, self._rest_seconds = refusal
        # The request's cycle ends as if the app had answered: a body still arriving is dropped.
        cycle.response_started = cycle.response_complete = True
        self.transport.write(answer)
        self.on_response_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._rest_seconds and self._socket is not None and not self._socket.is_closing():
            self._socket.pause_reading()
            if self._resting is not None:
                self._resting.cancel()
            self._resting = self.loop.call_later(self._rest_seconds, self._wake)
        self._rest_seconds = 0.0

    def _rest_after_answer(self, seconds: float) -> None:
        """Read nothing more on this connection for `seconds` once this answer is sent."""
        self._rest_seconds = seconds

    def _wake(self) -> None:
        self._resting = None
        if self._socket is not None and not self._socket.is_closing():
            self._socket.resume_reading()

    def close_lingering(self) -> bool:
        """Start a lingering close if a request body is still arriving; whether it started."""
        if self._lingering is not None:
            return True
        if not self._body_incomplete or self._socket is None or not self._socket.can_write_eof():
            return False
        self._socket.write_eof()
        self._lingering = self.loop.call_later(LINGER_SECONDS, self._close_now)
        return True

    def _close_now(self) -> None:
        if self._socket is not None and not self._socket.is_closing():
            self._socket.close()

    def _clear_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _request_timed_out(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        answering = self.cycle is not None and not self.cycle.response_complete
        if answering and not self._head_incomplete:
            self.cycle.keep_alive = False
            self._deadline = self.loop.call_later(ANSWER_GRACE_SECONDS, self._close_now)
            return
        if self._head_incomplete and not answering:
            self.transport.write(REQUEST_TIMEOUT_RESPONSE)
        self._close_now()


class _ClosingLingers:
    """The transport uvicorn's request cycle closes: its `close` lingers while a body arrives."""

    def __init__(self, transport: asyncio.Transport, protocol: TimedRequestProtocol) -> None:
        # Weakly: the protocol holds this, and a closed connection must not make a cycle.
        self._transport, self._protocol = transport, weakref.ref(protocol)
        # What every answer calls, bound once rather than looked up through __getattr__.
        self.write, self.is_closing = transport.write, transport.is_closing
        self.pause_reading, self.resume_reading = transport.pause_reading, transport.resume_reading

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def close(self) -> None:
        protocol = self._protocol()
        if protocol is None or not protocol.close_lingering():
            self._transport.close()
