"""The intake lane: webhooks and /health are accepted and answered whatever the main loop does,
and whatever a client sends on a connection, it is answered as on any other."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.config import Settings
from shababco.serving.accept import Place, place_of
from tests.support.data import load_products
from tests.support.factories import make_product
from tests.support.server import LiveServer
from tests.support.webhook_client import deliver, eventually


@pytest.fixture(scope="module")
def server(settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(settings) as live:
        yield live


@pytest.mark.parametrize(
    ("head", "place"),
    [
        (b"POST /webhooks/products/create HTTP/1.1\r\n", Place.LANE),
        (b"GET /health HTTP/1.1\r\n", Place.LANE),
        (b"HEAD /health HTTP/1.1\r\n", Place.LANE),
        (b"GET /healthz HTTP/1.1\r\n", Place.LANE),  # the lane hands the request to the main app
        (b"GET /events HTTP/1.1\r\n", Place.MAIN),
        (b"POST /webhook", None),  # not enough of it yet
        (b"G", None),
        (b"GET /e", Place.MAIN),
        (b"\x16\x03\x01", Place.MAIN),  # TLS: the main loop's HTTP parser refuses it
    ],
)
def test_a_connection_is_placed_by_its_first_bytes(head: bytes, place: Place | None) -> None:
    assert place_of(head) is place


async def test_intake_is_answered_while_the_main_loop_is_stuck(
    server: LiveServer, db: AsyncEngine
) -> None:
    product = make_product()
    gate = threading.Event()
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=30) as intake,
        httpx.AsyncClient(base_url=server.url, timeout=60) as reader,
    ):
        server.app.state.loop.call_soon_threadsafe(gate.wait, 60)  # the main loop's thread waits
        try:
            read = asyncio.create_task(reader.get(f"/events/{product['id']}"))
            delivered = await deliver(intake, "products/create", product)
            health = await intake.get("/health")
            assert delivered.json() == {"status": "accepted"}
            assert health.json() == {"status": "ok"}
            assert not read.done(), "a read was answered while the main loop could not run"
        finally:
            gate.set()
        assert (await read).status_code in (200, 404)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:

        async def applied() -> bool:
            return (await client.get(f"/events/{product['id']}")).status_code == 200

        await eventually(applied, within=30)


async def test_any_request_on_an_intake_connection_is_answered_by_the_api(
    server: LiveServer, db: AsyncEngine
) -> None:
    product = make_product()
    await load_products(db, product)
    one_connection = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=server.url, limits=one_connection) as client:
        assert (await client.get("/health")).status_code == 200  # the lane's connection
        detail = await client.get(f"/events/{product['id']}")
        missing = await client.get("/events/not-a-handle-anyone-has")
        posted = await deliver(client, "products/update", {**make_product(), "title": "Again"})
        refused = await client.post("/events", content=b"{}")
    async with httpx.AsyncClient(base_url=server.url) as fresh:
        expected = await fresh.get(f"/events/{product['id']}")
    assert detail.status_code == 200
    assert json.loads(detail.content) == json.loads(expected.content)
    assert detail.headers["etag"] == expected.headers["etag"]
    assert detail.headers["x-request-id"]
    assert missing.status_code == 404
    assert posted.json() == {"status": "accepted"}
    assert refused.status_code == 405


async def test_health_reports_a_stuck_main_loop(server: LiveServer) -> None:
    heartbeat = server.app.state.heartbeat
    beat = heartbeat.beat
    try:
        heartbeat.beat = beat - 3600  # as if the main loop had not run a timer for an hour
        async with httpx.AsyncClient(base_url=server.url) as client:
            stuck = await client.get("/health")
    finally:
        heartbeat.beat = max(heartbeat.beat, beat)
    assert stuck.status_code == 503
    assert stuck.json()["error"]["code"] == "stalled"
