"""Clients that drip, never stop, send nothing or leave: each is cut off or recorded, and none
holds a connection for long or counts as a server error."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.config import Settings
from shababco.serving.protocol import TimedRequestProtocol
from tests.support.factories import make_product
from tests.support.server import LiveServer
from tests.support.webhook_client import eventually, shopify_headers

TIMEOUT_SECONDS = 2
DRIP_EVERY = 0.2
DRIPS_AT_MOST = 150  # 30 s of drip: 15 times the deadline before the test gives up
WEBHOOK_HEAD = b"POST /webhooks/products/create HTTP/1.1\r\nHost: test\r\n"


@pytest.fixture(scope="module")
def server(settings: Settings) -> Iterator[LiveServer]:
    short = {
        "http_request_timeout_seconds": TIMEOUT_SECONDS,
        "http_keepalive_seconds": TIMEOUT_SECONDS,
    }
    with LiveServer(settings.model_copy(update=short)) as live:
        yield live


async def drip(server: LiveServer, head: bytes, drops: bytes) -> bytes:
    """Send `head` at once, then `drops` a byte at a time until the server answers and closes;
    everything it sent."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(head)
    answer = b""
    try:
        for n in range(DRIPS_AT_MOST):
            if drops:
                writer.write(drops[n % len(drops) : n % len(drops) + 1])
                await writer.drain()
            try:
                chunk = await asyncio.wait_for(reader.read(65536), DRIP_EVERY)
            except TimeoutError:
                continue
            if not chunk:
                return answer
            answer += chunk
        raise AssertionError(f"the connection was never closed; got {answer!r}")
    except ConnectionError:
        return answer + await _rest(reader)
    finally:
        writer.transport.abort()


async def _rest(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.read()
    except ConnectionError:
        return b""


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def body_of(answer: bytes) -> dict[str, object]:
    return dict(json.loads(answer.split(b"\r\n\r\n", 1)[1]))


async def test_a_head_dripped_to_the_intake_is_cut_off_with_408(server: LiveServer) -> None:
    answer = await drip(server, WEBHOOK_HEAD, b"X-Pad: aaaaaaaaaaaaaaaa\r\n")
    assert status_of(answer) == 408
    assert body_of(answer)["error"] == {
        "code": "request_timeout",
        "message": "the request did not arrive in time",
    }


async def test_a_head_dripped_to_the_api_is_cut_off_with_408(server: LiveServer) -> None:
    answer = await drip(server, b"GET /events HTTP/1.1\r\n", b"X-Pad: aaaaaaaaaaaaaaaa\r\n")
    assert status_of(answer) == 408


async def test_a_request_line_dripped_from_its_first_byte_is_cut_off(server: LiveServer) -> None:
    assert await drip(server, b"", b"POST /webhooks/orders/create HTTP/1.1\r\n") == b""


async def test_a_webhook_body_dripped_is_refused_408_and_stores_nothing(
    server: LiveServer, db: AsyncEngine
) -> None:
    body = json.dumps(make_product()).encode()
    headers = shopify_headers("products/create", body)
    head = WEBHOOK_HEAD + b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items())
    head += f"Content-Length: {len(body)}\r\n\r\n".encode()
    answer = await drip(server, head, body)
    assert status_of(answer) == 408
    assert body_of(answer)["error"]["code"] == "request_timeout"  # type: ignore[index]
    assert b"connection: close" in answer.lower()


async def test_a_body_the_api_does_not_read_ends_its_connection(server: LiveServer) -> None:
    head = b"GET /health HTTP/1.1\r\nHost: test\r\nContent-Length: 100000\r\n\r\n"
    answer = await drip(server, head, b"x")
    assert status_of(answer) == 200


async def test_a_connection_that_sends_nothing_is_closed(server: LiveServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        assert await asyncio.wait_for(reader.read(), 30) == b""
    finally:
        writer.close()


async def test_a_body_past_1_mib_is_refused_413_and_the_rest_is_not_read(
    server: LiveServer,
) -> None:
    body = b"x" * 65536
    headers = shopify_headers("products/create", body)
    head = WEBHOOK_HEAD + b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items())
    head += b"Transfer-Encoding: chunked\r\n\r\n"
    chunk = b"%x\r\n%s\r\n" % (len(body), body)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(head)
    sent, answer = 0, b""
    try:
        while sent < 512 << 20:  # an endless body, as far as the server can tell
            writer.write(chunk)
            await writer.drain()
            sent += len(chunk)
    except ConnectionError:
        pass
    try:
        answer = await asyncio.wait_for(_rest(reader), 30)
    finally:
        writer.transport.abort()
    assert sent < 64 << 20, f"the server read {sent >> 20} MiB of a refused body"
    if answer:  # else a reset beat the answer to this client, which never stopped sending
        assert status_of(answer) == 413


async def test_a_declared_body_past_1_mib_gets_its_413(server: LiveServer) -> None:
    body = b'{"pad": "' + b"x" * (2 << 20) + b'"}'
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post(
            "/webhooks/products/create",
            content=body,
            headers=shopify_headers("products/create", body),
        )
    assert response.status_code == 413
    assert response.headers["connection"] == "close"


async def test_a_client_leaving_mid_body_is_499_not_an_error(server: LiveServer) -> None:
    body = json.dumps(make_product()).encode()
    headers = shopify_headers("products/create", body)
    head = WEBHOOK_HEAD + b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items())
    head += f"Content-Length: {len(body) + 100}\r\nExpect: 100-continue\r\n\r\n".encode()
    async with httpx.AsyncClient(base_url=server.url) as client:
        before = await _requests(client)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(head)
        # "100 Continue" comes when the application starts reading the body it will never get.
        assert (await asyncio.wait_for(reader.readline(), 30)).startswith(b"HTTP/1.1 100")
        writer.write(body)
        await writer.drain()
        writer.close()

        async def recorded() -> bool:
            counts = await _requests(client)
            return counts.get("499", 0) > before.get("499", 0)

        await eventually(recorded, within=30)
        after = await _requests(client)
        disconnected = await _received(client, "disconnected")
    assert after.get("500", 0) == before.get("500", 0)
    assert disconnected >= 1


async def _requests(client: httpx.AsyncClient) -> dict[str, float]:
    """`api_requests_total` of the webhook route, by status."""
    counts: dict[str, float] = {}
    for line in (await client.get("/metrics")).text.splitlines():
        if line.startswith("api_requests_total{") and "/webhooks/" in line:
            status = line.split('status="', 1)[1].split('"', 1)[0]
            counts[status] = counts.get(status, 0.0) + float(line.rsplit(" ", 1)[1])
    return counts


async def _received(client: httpx.AsyncClient, outcome: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in (await client.get("/metrics")).text.splitlines()
        if line.startswith("webhooks_received_total{") and f'outcome="{outcome}"' in line
    )


async def test_a_closed_connection_is_freed_without_the_garbage_collector(
    server: LiveServer,
) -> None:
    """A connection must not leave a reference cycle: cycles of connections that outlived a
    young collection waited for a full one, holding their buffers (megabytes per thousand)."""

    async def all_closed() -> bool:
        return not server.server.server_state.connections

    gc.collect()
    gc.disable()
    try:
        for path in ("/events", "/events/1", "/nowhere", "/health"):  # router, front, 404, lane
            async with httpx.AsyncClient(base_url=server.url) as client:
                await client.get(path)
        await eventually(all_closed)
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        left = [item for item in gc.garbage if isinstance(item, TimedRequestProtocol)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert left == []
