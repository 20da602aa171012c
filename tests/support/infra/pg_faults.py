"""A TCP proxy in front of the real PostgreSQL that plays its outages, for the app to meet them.

A restart of the shared server would disturb every other test run on the machine, and its
states (starting up, not yet accepting connections) last milliseconds. The proxy produces each
state as the server shows it on the wire: a refused connection, the FATAL `ErrorResponse` a new
connection gets (its SQLSTATE and message as PostgreSQL sends them), an open session terminated
with one, or a connection lost in the middle of a query.
"""

from __future__ import annotations

import asyncio
import struct
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tests.support.server import free_port

SSL_REQUEST, GSSENC_REQUEST = 80877103, 80877104


def error_response(sqlstate: str, message: str) -> bytes:
    """A FATAL `ErrorResponse` message of the PostgreSQL protocol."""
    fields = b"SFATAL\0VFATAL\0C" + sqlstate.encode() + b"\0M" + message.encode() + b"\0\0"
    return b"E" + struct.pack("!I", len(fields) + 4) + fields


@dataclass(frozen=True)
class Mode:
    kind: str  # forward | refuse | fatal (new connections) | terminate | cut (open ones)
    sqlstate: str = ""
    message: str = ""


FORWARD = Mode("forward")


class FaultyPostgres:
    """A proxy on a free port of its own thread's loop; `set_mode` switches what it plays."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self.mode = FORWARD
        self.loop = asyncio.new_event_loop()
        self.server: asyncio.Server | None = None
        self.open: set[asyncio.StreamWriter] = set()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> FaultyPostgres:
        self.thread.start()
        self._call(self._listen)
        return self

    def __exit__(self, *exc: object) -> None:
        self._call(self._close_all)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def set_mode(self, mode: Mode) -> None:
        """Play `mode` from now on; a restart's modes also drop every open connection."""
        self._call(lambda: self._switch(mode))

    def _call(self, action: Callable[[], Awaitable[Any]]) -> None:
        asyncio.run_coroutine_threadsafe(_run(action), self.loop).result(10)

    async def _switch(self, mode: Mode) -> None:
        self.mode = mode
        if mode.kind in {"refuse", "fatal"}:
            await self._close_all()
        if mode.kind == "refuse" and self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        if mode.kind != "refuse" and self.server is None:
            await self._listen()

    async def _listen(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)

    async def _close_all(self) -> None:
        for writer in list(self.open):
            writer.transport.abort()
        self.open.clear()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open.add(writer)
        try:
            if self.mode.kind == "fatal":
                await self._refuse_startup(reader, writer)
                return
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            self.open.add(up_writer)
            await asyncio.gather(
                self._client_to_server(reader, writer, up_writer),
                _pipe(up_reader, writer),
            )
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            writer.transport.abort()
            self.open.discard(writer)

    async def _client_to_server(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        upstream: asyncio.StreamWriter,
    ) -> None:
        try:
            while data := await reader.read(65536):
                mode = self.mode
                if mode.kind == "terminate":
                    writer.write(error_response(mode.sqlstate, mode.message))
                    await writer.drain()
                if mode.kind in {"terminate", "cut"}:
                    break  # the message never reaches the server: lost mid-request
                upstream.write(data)
                await upstream.drain()
        finally:
            upstream.transport.abort()
            writer.transport.abort()
            self.open.discard(upstream)

    async def _refuse_startup(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Answer the startup packet (after declining SSL) as a server that cannot serve."""
        while True:
            length, code = struct.unpack("!II", await reader.readexactly(8))
            if code in {SSL_REQUEST, GSSENC_REQUEST}:
                writer.write(b"N")
                continue
            await reader.readexactly(length - 8)
            break
        writer.write(error_response(self.mode.sqlstate, self.mode.message))
        await writer.drain()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.transport.abort()


async def _run(action: Callable[[], Awaitable[Any]]) -> None:
    await action()
