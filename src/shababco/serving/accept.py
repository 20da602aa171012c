"""Accept every pending connection at once, and place each by its first bytes."""

from __future__ import annotations

import asyncio
import enum
import logging
import socket
import time
from collections.abc import Callable

from shababco.serving.protocol import TimedRequestProtocol

log = logging.getLogger(__name__)

# Request lines the lane answers; any other connection is served by the main loop.
LANE_REQUEST_LINES = (b"POST /webhooks/", b"GET /health", b"HEAD /health")
PEEK_BYTES = max(len(line) for line in LANE_REQUEST_LINES)
ACCEPTS_PER_WAKE = 1024
# A request line that arrives in pieces is peeked at again after this, then twice as long each
# time up to a second: at once would spin, and a client stalling there must not cost a core.
PEEK_AGAIN_SECONDS = 0.01
PEEK_AGAIN_AT_MOST_SECONDS = 1.0
# Out of file descriptors: accepting again at once would spin on the ready listener.
ACCEPT_AGAIN_SECONDS = 1.0

Placer = Callable[[socket.socket, float], None]
"""Serve an accepted socket, whose request must arrive whole by a `time.monotonic()` instant."""


class Place(enum.Enum):
    LANE = "lane"
    MAIN = "main"


def place_of(head: bytes) -> Place | None:
    """Where a connection that starts with `head` is served; None while its start is ambiguous."""
    ambiguous = False
    for line in LANE_REQUEST_LINES:
        if head.startswith(line):
            return Place.LANE
        ambiguous = ambiguous or line.startswith(head)
    return None if ambiguous else Place.MAIN


class _Arrival:
    """An accepted connection whose place is not known yet."""

    __slots__ = ("first_byte_at", "peek_again_after", "sock", "timer")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.timer: asyncio.TimerHandle | None = None
        self.first_byte_at: float | None = None
        self.peek_again_after = PEEK_AGAIN_SECONDS

    def expire(
        self, loop: asyncio.AbstractEventLoop, after: float, drop: Callable[..., None]
    ) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = loop.call_later(after, drop, self)

    def settle(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class Acceptor:
    """Accepts on a listening socket from a loop of its own, greedily: every pending connection
    on each wake, where uvloop takes one per loop iteration (libuv accepts once per readiness
    event), so a busy loop leaves connections waiting in the kernel's queue for seconds.

    A connection is placed by peeking at its first bytes (they stay in the socket for the
    server that reads them): intake request lines on the lane, the rest on the main loop. One
    that sends nothing for `idle_timeout` seconds, or whose first line does not arrive within
    `request_timeout` seconds of its first byte, is closed.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        listener: socket.socket,
        *,
        lane: Placer,
        main: Placer,
        idle_timeout: float,
        request_timeout: float,
    ) -> None:
        self.loop, self.listener = loop, listener
        self.places = {Place.LANE: lane, Place.MAIN: main}
        self.idle_timeout, self.request_timeout = idle_timeout, request_timeout
        self.pending: set[_Arrival] = set()
        self.accepting = False

    def start(self) -> None:
        self.listener.setblocking(False)
        self.accepting = True
        self.loop.add_reader(self.listener.fileno(), self._accept)

    def stop(self) -> None:
        """Accept no more, and close the connections not placed yet."""
        if self.accepting:
            self.accepting = False
            self.loop.remove_reader(self.listener.fileno())
        for arrival in list(self.pending):
            self._drop(arrival)

    def _accept(self) -> None:
        for _ in range(ACCEPTS_PER_WAKE):
            try:
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue
            except OSError as exc:
                log.warning("cannot accept connections (%s); retrying in 1 s", exc)
                self.loop.remove_reader(self.listener.fileno())
                self.loop.call_later(ACCEPT_AGAIN_SECONDS, self._resume)
                return
            sock.setblocking(False)
            arrival = _Arrival(sock)
            arrival.expire(self.loop, self.idle_timeout, self._drop)
            self.pending.add(arrival)
            self.loop.add_reader(sock.fileno(), self._peek, arrival)

    def _resume(self) -> None:
        if self.accepting:
            self.loop.add_reader(self.listener.fileno(), self._accept)

    def _peek(self, arrival: _Arrival) -> None:
        try:
            head = arrival.sock.recv(PEEK_BYTES, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            head = b""
        if not head:  # closed (or reset) before sending a request
            self._drop(arrival)
            return
        self.loop.remove_reader(arrival.sock.fileno())
        first_byte_at = arrival.first_byte_at
        if first_byte_at is None:
            arrival.first_byte_at = first_byte_at = time.monotonic()
            arrival.expire(self.loop, self.request_timeout, self._drop)
        place = place_of(head)
        if place is None:
            self.loop.call_later(arrival.peek_again_after, self._peek_again, arrival)
            arrival.peek_again_after = min(2 * arrival.peek_again_after, PEEK_AGAIN_AT_MOST_SECONDS)
            return
        arrival.settle()
        self.pending.discard(arrival)
        self.places[place](arrival.sock, first_byte_at + self.request_timeout)

    def _peek_again(self, arrival: _Arrival) -> None:
        if arrival in self.pending:
            self.loop.add_reader(arrival.sock.fileno(), self._peek, arrival)

    def _drop(self, arrival: _Arrival) -> None:
        if arrival not in self.pending:
            return
        self.pending.discard(arrival)
        arrival.settle()
        self.loop.remove_reader(arrival.sock.fileno())
        arrival.sock.close()


def adopt(
    loop: asyncio.AbstractEventLoop,
    protocol_factory: Callable[[], asyncio.Protocol],
    sock: socket.socket,
    *,
    deadline: float,
    request_timeout: float,
    tasks: set[asyncio.Task[object]],
) -> None:
    """Serve an accepted connection on `loop` (the running one) with a protocol of the factory's;
    its first request must arrive whole by `deadline` (a `time.monotonic()` instant)."""

    def protocol() -> asyncio.Protocol:
        made = protocol_factory()
        if isinstance(made, TimedRequestProtocol):
            made.request_timeout = request_timeout
            made.first_request_deadline = deadline
        return made

    def adopted(task: asyncio.Task[object]) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.debug("connection lost before it was served: %r", task.exception())
            sock.close()

    task: asyncio.Task[object] = loop.create_task(loop.connect_accepted_socket(protocol, sock))
    tasks.add(task)
    task.add_done_callback(adopted)
