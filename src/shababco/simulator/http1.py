"""A lean HTTP/1.1 client for webhook POSTs over plain http://, with keep-alive per origin.

httpx spends far more CPU per request than the simulator spends on everything else about a
webhook, so `http://` deliveries go through this instead: the request is serialised once per
delivery, written in one call, and the response is parsed by httptools (shipped with
uvicorn[standard]) only far enough to learn its status code.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools


class ConnectError(OSError):
    """The connection could not be opened."""


class ConnectTimeout(ConnectError):
    """The connection was not open within the connect timeout."""


class RemoteProtocolError(OSError):
    """The server answered something that is not HTTP/1.1."""


class ServerDisconnected(RemoteProtocolError):
    """The server closed the connection without answering."""


@dataclass(frozen=True)
class Endpoint:
    """Where a plain-HTTP request goes, and the request line and Host header that reach it."""

    host: str
    port: int
    target: str
    host_header: str

    @classmethod
    def parse(cls, uri: str) -> Endpoint | None:
        """Split an `http://` URI; None for anything else (https is left to httpx)."""
        try:
            parts = urlsplit(uri)
            port = parts.port or 80
        except ValueError:  # an invalid port
            return None
        if parts.scheme != "http" or not parts.hostname:
            return None
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        return cls(parts.hostname, port, target, parts.netloc.rpartition("@")[2])


def encode_post(endpoint: Endpoint, headers: dict[str, str], body: bytes) -> bytes:
    """The whole POST request, ready to be written as is (and again on every retry)."""
    lines = [f"POST {endpoint.target} HTTP/1.1", f"Host: {endpoint.host_header}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Http1Client:
    """Posts one request at a time, reusing one keep-alive connection per (host, port)."""

    def __init__(self, connect_timeout: float, total_timeout: float) -> None:
        self.connect_timeout, self.total_timeout = connect_timeout, total_timeout
        self._connections: dict[tuple[str, int], _Connection] = {}

    async def post(self, endpoint: Endpoint, request: bytes) -> int:
        """Send a request made by `encode_post`; return the response's status code."""
        origin = (endpoint.host, endpoint.port)
        async with asyncio.timeout(self.total_timeout):
            connection = self._connections.get(origin)
            if connection is not None and connection.reusable:
                try:
                    return await connection.exchange(request)
                except ServerDisconnected:
                    # It closed the idle connection just as we reused it and answered nothing:
                    # try once more on a fresh connection, as browsers do.
                    pass
            connection = await self._connect(endpoint)
            self._connections[origin] = connection
            return await connection.exchange(request)

    def close(self) -> None:
        """Close every open connection."""
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    async def _connect(self, endpoint: Endpoint) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, connection = await loop.create_connection(
                    _Connection, endpoint.host, endpoint.port
                )
        except TimeoutError as error:
            raise ConnectTimeout(f"no connection to {endpoint.host_header}") from error
        except OSError as error:
            raise ConnectError(str(error)) from error
        return connection


class _Connection(asyncio.Protocol):
    """One TCP connection that carries one request/response exchange at a time."""

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._response: asyncio.Future[int] | None = None
        self._headers_done = False
        self._keep_alive = True

    @property
    def reusable(self) -> bool:
        """Open, idle, and the server did not ask to close it."""
        return self._transport is not None and self._keep_alive and self._response is None

    async def exchange(self, request: bytes) -> int:
        """Write the request and wait for the status code of the complete response."""
        assert self._transport is not None and self._response is None
        self._response = asyncio.get_running_loop().create_future()
        self._headers_done = False
        self._transport.write(request)
        try:
            return await self._response
        except BaseException:
            self.close()  # a timed-out or broken exchange leaves the stream in an unknown state
            raise
        finally:
            self._response = None

    def close(self) -> None:
        """Drop the connection."""
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as error:
            self._fail(RemoteProtocolError(f"invalid HTTP response: {error}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if self._headers_done:  # the status is in; a body without a length ends like this
            self._finish(self._parser.get_status_code())
        else:
            self._fail(ServerDisconnected("server disconnected without sending a response"))

    # httptools callbacks

    def on_headers_complete(self) -> None:
        self._headers_done = self._parser.get_status_code() >= 200

    def on_message_complete(self) -> None:
        status = self._parser.get_status_code()
        if status >= 200:  # 1xx answers are interim; the real one follows
            self._keep_alive = self._parser.should_keep_alive()
            self._finish(status)

    def _finish(self, status: int) -> None:
        if self._response is not None and not self._response.done():
            self._response.set_result(status)

    def _fail(self, error: Exception) -> None:
        if self._response is not None and not self._response.done():
            self._response.set_exception(error)
