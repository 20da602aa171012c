"""`GET /events/{id}/live` over real HTTP: the Server-Sent Events protocol, end to end.

Changes arrive as Shopify's signed webhooks through the server's own inbox, so each message here
went through the change log and the follower like any other process's change would.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.config import Settings
from shababco.sale.routes import live_url
from tests.support.factories import make_product, make_variant
from tests.support.server import LiveServer
from tests.support.sse import EventStreamReader, Message, ended
from tests.support.webhook_client import deliver, eventually, followed_past
from tests.test_metrics import scrape, value

KEEPALIVE = 0.3


@pytest.fixture(scope="module")
def server(settings: Settings) -> Iterator[LiveServer]:
    update = {"live_keepalive_seconds": KEEPALIVE, "live_queue_messages": 2}
    with LiveServer(settings.model_copy(update=update)) as live:
        yield live


@pytest.fixture
async def client(server: LiveServer, db: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as opened:
        yield opened


@asynccontextmanager
async def watching(
    client: httpx.AsyncClient, event: Any, **headers: str
) -> AsyncIterator[EventStreamReader]:
    async with client.stream("GET", f"/events/{event}/live", headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-store"
        yield EventStreamReader(response)


async def _on_sale(
    client: httpx.AsyncClient, db: AsyncEngine, *quantities: int, **fields: Any
) -> dict[str, Any]:
    """A new listed event with a ticket per quantity, followed by the server's cache."""
    product = make_product(variants=[make_variant(quantity=q) for q in quantities], **fields)
    await deliver(client, "products/create", product)
    await followed_past(db, product["id"], client)
    return product


def _at(minutes: int) -> str:
    return (datetime(2026, 6, 1, tzinfo=UTC) + timedelta(minutes=minutes)).isoformat()


async def _set_level(client: httpx.AsyncClient, variant: dict[str, Any], available: int) -> None:
    """Shopify's `inventory_levels/update` for the variant's only location."""
    level = {
        "inventory_item_id": variant["inventory_item_id"],
        "location_id": 1,
        "available": available,
        "updated_at": _at(available),
    }
    assert (await deliver(client, "inventory_levels/update", level)).status_code == 200


def _expected(product: dict[str, Any], *available: int) -> dict[str, Any]:
    return {
        "event_id": str(product["id"]),
        "available": sum(available),
        "tickets": [
            {"id": str(variant["id"]), "available": count, "sold_out": count == 0}
            for variant, count in zip(product["variants"], available, strict=True)
        ],
    }


async def test_connect_sends_the_availability_then_each_change(
    client: httpx.AsyncClient, db: AsyncEngine
) -> None:
    product = await _on_sale(client, db, 5, 3)
    async with watching(client, product["handle"]) as stream:
        first = await stream.next()
        assert (first.event, first.json) == ("availability", _expected(product, 5, 3))
        assert first.id is not None and first.id.isdigit()
        await _set_level(client, product["variants"][1], 0)
        change = await stream.next()
        assert (change.event, change.json) == ("availability", _expected(product, 5, 0))
        assert change.id is not None and int(change.id) > int(first.id)


async def test_unknown_or_unlisted_events_answer_404(
    client: httpx.AsyncClient, db: AsyncEngine
) -> None:
    draft = await _on_sale(client, db, 5, status="draft")
    unlisted = await _on_sale(client, db, 5, status="unlisted")
    for key in ("no-such-event", "123", draft["id"], unlisted["handle"], "x" * 300):
        response = await client.get(f"/events/{key}/live")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert response.headers["cache-control"] == "no-store"


async def test_last_event_id_skips_what_the_client_already_has(
    client: httpx.AsyncClient, db: AsyncEngine
) -> None:
    product = await _on_sale(client, db, 7)
    async with watching(client, product["id"]) as stream:
        first = await stream.next()
    assert first.id is not None
    async with watching(client, product["id"], **{"Last-Event-ID": first.id}) as stream:
        # Nothing changed since: no repeat of the snapshot, only keep-alives until a change.
        assert (await stream.next(comments=True)).event == "comment"
        await _set_level(client, product["variants"][0], 6)
        change = await stream.next()
        assert change.json == _expected(product, 6)
    for stale in (str(int(first.id) - 1), "not-a-number", "99999999999999999"):
        async with watching(client, product["id"], **{"Last-Event-ID": stale}) as stream:
            assert (await stream.next()).json == _expected(product, 6)


async def test_an_idle_stream_gets_keep_alive_comments(
    client: httpx.AsyncClient, db: AsyncEngine
) -> None:
    product = await _on_sale(client, db, 2)
    async with watching(client, product["id"]) as stream:
        assert (await stream.next(comments=True)).event == "availability"
        for _ in range(2):
            assert await stream.next(comments=True) == Message("comment", "keep-alive")


@pytest.mark.parametrize("removal", ["unlisted", "draft", "deleted"])
async def test_an_event_leaving_the_sale_sends_a_last_message_and_closes(
    client: httpx.AsyncClient, db: AsyncEngine, removal: str
) -> None:
    product = await _on_sale(client, db, 4)
    async with watching(client, product["id"]) as stream:
        await stream.next()
        if removal == "deleted":
            await deliver(client, "products/delete", {"id": product["id"]})
        else:
            changed = {**product, "status": removal, "updated_at": _at(1)}
            await deliver(client, "products/update", changed)
        last = await stream.next()
        assert (last.event, last.json) == (
            "ended",
            {"event_id": str(product["id"]), "status": removal},
        )
        assert await ended(stream)
    assert (await client.get(f"/events/{product['id']}/live")).status_code == 404


async def test_every_stream_of_an_event_gets_the_change_built_once(
    client: httpx.AsyncClient, db: AsyncEngine
) -> None:
    product = await _on_sale(client, db, 9)
    async with watching(client, product["id"]) as one, watching(client, product["handle"]) as two:
        for stream in (one, two):
            assert (await stream.next()).json == _expected(product, 9)
        before = await scrape(client)
        await _set_level(client, product["variants"][0], 8)
        for stream in (one, two):
            assert (await stream.next()).json == _expected(product, 8)
        after = await scrape(client)
    built = "live_messages_built_total"
    assert value(after, built) - value(before, built) == 1  # one read, whoever watches
    sent = "live_messages_sent_total"
    assert value(after, sent, kind="change") - value(before, sent, kind="change") == 2


async def test_a_stream_that_does_not_keep_up_is_dropped(
    server: LiveServer, client: httpx.AsyncClient, db: AsyncEngine
) -> None:
    """A client that stops reading: its socket buffers fill, then its queue (2 messages here);
    the server drops it and goes on feeding a client that reads. Once the slow client reads
    again, its stream ends (it would reconnect and get the current state)."""
    product = await _on_sale(client, db, *([50] * 600))  # messages of about 36 KB
    first = product["variants"][0]
    before = value(await scrape(client), "live_streams_closed_total", reason="slow")
    small_buffer = [(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)]
    transport = httpx.AsyncHTTPTransport(socket_options=small_buffer)
    async with (
        httpx.AsyncClient(base_url=server.url, transport=transport, timeout=30) as slow_client,
        watching(slow_client, product["id"]) as slow,
        watching(client, product["id"]) as fast,
    ):
        await fast.next()

        async def dropped() -> bool:
            return value(await scrape(client), "live_streams_closed_total", reason="slow") > before

        for n in range(1, 2000):
            await _set_level(client, first, n)
            assert (await fast.next()).json["tickets"][0]["available"] == n
            if n % 10 == 0 and await dropped():
                break
        assert await dropped()
        assert await ended(slow)  # what was buffered, then the end of the stream
        await eventually(lambda: _open_streams(client, 1))


async def _open_streams(client: httpx.AsyncClient, count: int) -> bool:
    return value(await scrape(client), "live_streams_open") == count


async def test_too_many_streams_answer_503(settings: Settings, db: AsyncEngine) -> None:
    with LiveServer(settings.model_copy(update={"live_max_streams": 1})) as small:
        async with httpx.AsyncClient(base_url=small.url, timeout=10) as client:
            product = await _on_sale(client, db, 1)
            async with watching(client, product["id"]) as stream:
                await stream.next()
                refused = await client.get(f"/events/{product['id']}/live")
                assert refused.status_code == 503
                assert refused.headers["retry-after"] == "5"
                assert refused.json()["error"]["code"] == "too_many_streams"
            await eventually(lambda: _open_streams(client, 0))
            async with watching(client, product["id"]) as stream:
                assert (await stream.next()).event == "availability"


async def test_the_stream_is_documented_in_openapi(client: httpx.AsyncClient) -> None:
    operation = (await client.get("/openapi.json")).json()["paths"]["/events/{event_id}/live"]
    answers = operation["get"]["responses"]
    assert set(answers["200"]["content"]) == {"text/event-stream"}
    assert {"404", "503"} <= set(answers)
    assert any(p["name"] == "last-event-id" for p in operation["get"]["parameters"])


def test_the_demo_can_build_a_live_url() -> None:
    assert live_url("http://127.0.0.1:8000/", "summer-jazz") == (
        "http://127.0.0.1:8000/events/summer-jazz/live"
    )
    assert live_url("https://api.example.com", 8000000000007) == (
        "https://api.example.com/events/8000000000007/live"
    )
