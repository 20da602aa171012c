"""Live streams across real `shababco serve` processes sharing a Redis: a change taken by one
process reaches the streams of the other (and of each of its workers); a stopped server ends its
streams instead of waiting for them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import AsyncExitStack

import httpx
import pytest

from tests.support.factories import make_product, make_variant
from tests.support.infra.processes import ServeProcess
from tests.support.services import on_ci, redis_reachable, redis_url
from tests.support.sse import EventStreamReader, ended
from tests.support.webhook_client import deliver, eventually


@pytest.fixture(scope="module")
def shared_redis() -> str:
    url = redis_url()
    if not redis_reachable(url):
        if on_ci():
            pytest.fail(f"CI=true but Redis is not reachable at {url}")
        pytest.skip(f"Redis is not reachable at {url}")
    return url


@pytest.fixture(scope="module")
def processes(database_url: str, shared_redis: str) -> Iterator[list[ServeProcess]]:
    """One `serve` taking the webhooks, one with two workers holding the streams."""
    workers = [
        ServeProcess(database_url, shared_redis),
        ServeProcess(database_url, shared_redis, workers=2),
    ]
    try:
        for worker in workers:
            worker.start()
        yield workers
    finally:
        for worker in workers:
            worker.stop()


async def _listed_everywhere(product_id: int, *clients: httpx.AsyncClient) -> bool:
    answers = [await client.get(f"/events/{product_id}") for client in clients]
    return all(answer.status_code == 200 for answer in answers)


async def _open(stack: AsyncExitStack, client: httpx.AsyncClient, url: str) -> EventStreamReader:
    response = await stack.enter_async_context(client.stream("GET", url))
    assert response.status_code == 200
    return EventStreamReader(response)


async def test_a_change_through_one_process_reaches_the_streams_of_the_other(
    processes: list[ServeProcess],
) -> None:
    variant = make_variant(quantity=30)
    product = make_product(variants=[variant])
    async with (
        httpx.AsyncClient(base_url=processes[0].url, timeout=10) as writer,
        httpx.AsyncClient(base_url=processes[1].url, timeout=10) as reader,
        AsyncExitStack() as stack,
    ):
        await deliver(writer, "products/create", product)
        await eventually(lambda: _listed_everywhere(product["id"], writer, reader), within=15)
        # Several connections: with two workers they land on either, or both.
        readers = [httpx.AsyncClient(base_url=processes[1].url, timeout=10) for _ in range(4)]
        for client in readers:
            await stack.enter_async_context(client)
        streams = [
            await _open(stack, client, f"/events/{product['id']}/live") for client in readers
        ]
        for stream in streams:
            assert (await stream.next()).json["available"] == 30
        level = {
            "inventory_item_id": variant["inventory_item_id"],
            "location_id": 1,
            "available": 29,
            "updated_at": "2026-06-01T00:00:00Z",
        }
        assert (await deliver(writer, "inventory_levels/update", level)).status_code == 200
        changes = await asyncio.gather(*(stream.next() for stream in streams))
        assert {(change.event, change.json["available"]) for change in changes} == {
            ("availability", 29)
        }


async def test_a_stopped_server_ends_its_streams_and_exits(
    database_url: str, shared_redis: str
) -> None:
    server = ServeProcess(database_url, shared_redis)
    server.start()
    try:
        product = make_product(variants=[make_variant(quantity=3)])
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            await deliver(client, "products/create", product)
            await eventually(lambda: _listed_everywhere(product["id"], client), within=15)
            async with client.stream("GET", f"/events/{product['id']}/live") as response:
                stream = EventStreamReader(response)
                await stream.next()
                assert server.process is not None
                server.process.terminate()
                assert await ended(stream)
            # Exits on its own (uvicorn re-raises the signal once it has shut down gracefully).
            assert await asyncio.to_thread(server.process.wait, 15) in (0, -15)
    finally:
        server.stop()
