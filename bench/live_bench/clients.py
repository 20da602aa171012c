"""Thousands of light HTTP/1.1 clients on one event loop, for bench.live_bench.

A raw asyncio protocol per connection (no HTTP library): a stream client only counts the
`availability` messages it receives and notes when the last one arrived; an idle client makes
one request and keeps its connection open.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar, cast
from urllib.parse import urlsplit

MARKER = b"event: availability"
PARALLEL_CONNECTS = 200
READY_SECONDS = 60.0


class _Client(asyncio.Protocol):
    def __init__(self, ready: asyncio.Future[None]) -> None:
        self.ready = ready
        self.transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("closed before ready"))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class StreamClient(_Client):
    """Counts availability messages; `last_at` is when the newest arrived (perf_counter)."""

    def __init__(self, ready: asyncio.Future[None]) -> None:
        super().__init__(ready)
        self.messages = 0
        self.last_at = 0.0
        self._carry = b""

    def data_received(self, data: bytes) -> None:
        joined = self._carry + data
        found = joined.count(MARKER)
        self._carry = joined[-(len(MARKER) - 1) :]
        if found:
            self.messages += found
            self.last_at = time.perf_counter()
            if not self.ready.done():
                self.ready.set_result(None)


class IdleClient(_Client):
    """Ready once its one response arrived; then holds the keep-alive connection."""

    def data_received(self, data: bytes) -> None:
        if not self.ready.done():
            self.ready.set_result(None)


Client = TypeVar("Client", bound=_Client)


async def open_all(
    factory: Callable[[asyncio.Future[None]], Client], base: str, path: str, count: int
) -> list[Client]:
    """`count` connections to `base`, each sending GET `path`; those that got an answer."""
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: */*\r\n\r\n".encode()
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(PARALLEL_CONNECTS)

    async def one() -> Client:
        async with gate:
            ready: asyncio.Future[None] = loop.create_future()
            _, client = await loop.create_connection(lambda: factory(ready), host, port)
            assert client.transport is not None
            client.transport.write(request)
            await asyncio.wait_for(ready, READY_SECONDS)
            return client

    opened = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    failures = [result for result in opened if isinstance(result, BaseException)]
    if failures:
        print(f"{len(failures)} of {count} connections failed, e.g. {failures[0]!r}", flush=True)
    return [result for result in opened if not isinstance(result, BaseException)]
