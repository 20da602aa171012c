"""The lean HTTP/1.1 client that delivers webhooks, against real local servers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from shababco.simulator.http1 import (
    ConnectError,
    Endpoint,
    Http1Client,
    RemoteProtocolError,
    ServerDisconnected,
    encode_post,
)
from tests.support.receiver import Receiver
from tests.support.server import free_port

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
BODY = '{"title":"حفل الرياض","url":"https:\\/\\/shop.example\\/a"}'.encode()
HEADERS = {
    "Content-Type": "application/json",
    "X-Shopify-Topic": "products/update",
    "X-Shopify-Hmac-Sha256": "c2lnbmF0dXJl",
    "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
}


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[tuple[Endpoint, list[int]]]:
    """Run `handler` per connection on a free port; yield its endpoint and a connection log."""
    connections: list[int] = []

    async def counted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(len(connections))
        try:
            await handler(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client hung up first
        finally:
            writer.close()

    server = await asyncio.start_server(counted, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    endpoint = Endpoint.parse(f"http://127.0.0.1:{port}/hooks")
    assert endpoint is not None
    try:
        yield endpoint, connections
    finally:
        server.close()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return await reader.readexactly(length)


def client() -> Http1Client:
    return Http1Client(connect_timeout=1.0, total_timeout=0.5)


async def test_delivers_byte_exact_body_and_headers_over_one_connection() -> None:
    receiver = Receiver(statuses={"/fail": 503})
    await receiver.start()
    http = client()
    try:
        ok, fail = Endpoint.parse(receiver.url("/ok?shop=x")), Endpoint.parse(receiver.url("/fail"))
        assert ok is not None and fail is not None
        assert await http.post(ok, encode_post(ok, HEADERS, BODY)) == 200
        assert await http.post(fail, encode_post(fail, HEADERS, BODY)) == 503
    finally:
        http.close()
        await receiver.stop()
    first, second = receiver.received
    assert first.path == "/ok?shop=x" and second.path == "/fail"
    assert first.body == BODY == second.body
    assert first.headers == {
        "host": f"127.0.0.1:{receiver.port}",
        **{name.lower(): value for name, value in HEADERS.items()},
        "content-length": str(len(BODY)),
    }


async def test_keeps_the_connection_alive() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    http = client()
    async with serving(answer) as (endpoint, connections):
        for _ in range(5):
            assert await http.post(endpoint, encode_post(endpoint, HEADERS, BODY)) == 200
        http.close()
    assert len(connections) == 1


@pytest.mark.parametrize(
    "response",
    [
        b"HTTP/1.1 202 Accepted\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        b"HTTP/1.0 204 No Content\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",  # no length: ends at close
    ],
)
async def test_reads_every_response_framing_and_reconnects_after_close(response: bytes) -> None:
    async def answer_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(response)
        await writer.drain()

    expected = int(response.rpartition(b"HTTP/1.")[2][2:5])
    http = client()
    async with serving(answer_then_close) as (endpoint, connections):
        for _ in range(3):
            assert await http.post(endpoint, encode_post(endpoint, HEADERS, BODY)) == expected
        http.close()
    assert len(connections) == 3


async def test_reconnects_when_the_server_drops_an_idle_connection() -> None:
    async def answer_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    http = client()
    async with serving(answer_once) as (endpoint, connections):
        assert await http.post(endpoint, encode_post(endpoint, HEADERS, BODY)) == 200
        await asyncio.sleep(0.05)  # the server's keep-alive timeout passes
        assert await http.post(endpoint, encode_post(endpoint, HEADERS, BODY)) == 200
        http.close()
    assert len(connections) == 2


async def test_gives_up_after_the_total_timeout_and_recovers() -> None:
    stalled = False

    async def slow_first(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal stalled
        while True:
            await read_request(reader)
            if not stalled:
                stalled = True
                await asyncio.sleep(0.1)  # well past the client's timeout
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()

    http = Http1Client(connect_timeout=1.0, total_timeout=0.05)
    async with serving(slow_first) as (endpoint, connections):
        began = time.monotonic()
        with pytest.raises(TimeoutError):
            await http.post(endpoint, encode_post(endpoint, HEADERS, BODY))
        assert 0.04 <= time.monotonic() - began < 5  # loose: a loaded machine
        assert await http.post(endpoint, encode_post(endpoint, HEADERS, BODY)) == 200
        http.close()
    assert len(connections) == 2  # the timed-out connection was not reused


async def test_names_refused_connections_and_broken_responses() -> None:
    endpoint = Endpoint.parse(f"http://127.0.0.1:{free_port()}/")
    assert endpoint is not None
    http = client()
    with pytest.raises(ConnectError):
        await http.post(endpoint, encode_post(endpoint, HEADERS, BODY))

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"SMTP ready\r\n\r\n")
        await writer.drain()

    for handler, error in ((hang_up, ServerDisconnected), (garbage, RemoteProtocolError)):
        async with serving(handler) as (endpoint, _):
            with pytest.raises(error):
                await http.post(endpoint, encode_post(endpoint, HEADERS, BODY))
    http.close()


def test_parses_only_plain_http_urls() -> None:
    assert Endpoint.parse("http://user:pw@hooks.example/a/b?x=1") == Endpoint(
        "hooks.example", 80, "/a/b?x=1", "hooks.example"
    )
    assert Endpoint.parse("http://[::1]:9000") == Endpoint("::1", 9000, "/", "[::1]:9000")
    assert Endpoint.parse("https://hooks.example/a") is None
    assert Endpoint.parse("http://hooks.example:99999/") is None
