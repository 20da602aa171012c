"""The cache across real processes: two `shababco serve` workers, one Redis of our own.

Invalidation through the other process, one fill for 100 concurrent misses, ETags identical
everywhere, and Redis stopped mid-traffic: no failed read, changes still visible through the
PostgreSQL change log, recovery on its own when Redis returns. Every TTL here is 300 s or more, so
a change that shows within VISIBLE_WITHIN was invalidated; how fast (p99 ≤ 100 ms) is measured by
bench/cache_bench.py.
"""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.cache.changes import ChangeFeed
from shababco.cache.core import Compute, ResponseCache
from shababco.cache.store import Built
from shababco.catalog.keys import cache_key
from shababco.config import Settings
from tests.support.factories import make_product
from tests.support.infra.processes import RedisServer, ServeProcess
from tests.support.services import on_ci
from tests.support.webhook_client import VISIBLE_WITHIN, deliver, eventually, followed_past


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        if on_ci():
            pytest.fail("CI=true but redis-server is not installed")
        pytest.skip("redis-server is not installed")
    server = RedisServer(binary)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture(scope="module")
def processes(database_url: str, redis_server: RedisServer) -> Iterator[list[ServeProcess]]:
    workers = [ServeProcess(database_url, redis_server.url) for _ in range(2)]
    try:
        for worker in workers:
            worker.start()
        yield workers
    finally:
        for worker in workers:
            worker.stop()


@pytest.fixture
async def clients(processes: list[ServeProcess]) -> AsyncIterator[list[httpx.AsyncClient]]:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    opened = [
        httpx.AsyncClient(base_url=worker.url, timeout=10, limits=limits) for worker in processes
    ]
    await eventually(lambda: _all_ready(opened, "ok"), within=10)
    yield opened
    for client in opened:
        await client.aclose()


async def _all_ready(clients: list[httpx.AsyncClient], cache: str) -> bool:
    states = [(await client.get("/ready")).json()["cache"] for client in clients]
    return all(state == cache for state in states)


async def _json(client: httpx.AsyncClient, url: str) -> Any:
    response = await client.get(url)
    return response.json() if response.status_code == 200 else None


async def _created(clients: list[httpx.AsyncClient], **fields: Any) -> dict[str, Any]:
    """A new event, delivered through the first process and readable through all of them."""
    product = make_product(**fields)
    await deliver(clients[0], "products/create", product)
    url = f"/events/{product['id']}"

    async def everywhere() -> bool:
        return all([await _json(client, url) is not None for client in clients])

    await eventually(everywhere)
    return product


def _renamed(product: dict[str, Any], title: str, hour: int) -> dict[str, Any]:
    return {**product, "title": title, "updated_at": f"2026-04-01T{hour:02d}:00:00Z"}


async def _seen_everywhere(clients: list[httpx.AsyncClient], product: dict[str, Any]) -> bool:
    detail = [await _json(client, f"/events/{product['id']}") for client in clients]
    listed = [await _json(client, "/events?limit=100&sort=-start_date") for client in clients]
    titles = [{item["id"]: item["title"] for item in page["items"]} for page in listed]
    return all(d["title"] == product["title"] for d in detail) and all(
        t.get(str(product["id"])) == product["title"] for t in titles
    )


async def test_a_webhook_through_one_process_is_visible_through_the_other_within_1s(
    clients: list[httpx.AsyncClient],
) -> None:
    product = await _created(clients, title="First")
    for client in clients:  # both caches now hold the detail and the list
        for _ in range(2):
            await client.get(f"/events/{product['id']}")
            await client.get("/events?limit=100&sort=-start_date")
    cached = await clients[1].get(f"/events/{product['id']}")
    assert cached.headers["x-cache"] == "l1"
    renamed = _renamed(product, "Second", 1)
    await deliver(clients[0], "products/update", renamed)
    await eventually(lambda: _seen_everywhere(clients, renamed), within=VISIBLE_WITHIN)


async def test_100_concurrent_misses_across_both_processes_fill_once(
    clients: list[httpx.AsyncClient], db: AsyncEngine
) -> None:
    product = await _created(clients, title="Herd")
    await followed_past(db, product["id"], *clients)  # else the creation may evict the fill
    url = f"/events/{product['id']}/tickets"
    responses = await asyncio.gather(*(clients[n % 2].get(url) for n in range(100)))
    assert {response.status_code for response in responses} == {200}
    sources = Counter(response.headers["x-cache"] for response in responses)
    assert sources["miss"] == 1, sources
    assert len({response.content for response in responses}) == 1


async def test_a_fill_landing_between_the_read_and_the_lock_is_taken_not_repeated(
    redis_server: RedisServer, settings: Settings, db: AsyncEngine
) -> None:
    """Two caches, as in two processes: B reads L2 (empty), A then fills the key from start to
    end, and only then does B take the fill lock. B must find A's entry, not compute again."""
    shared = settings.model_copy(update={"redis_url": redis_server.url, "cache_ttl_detail": 300})
    first, second = ResponseCache(shared), ResponseCache(shared)
    for cache in (first, second):
        await cache.start(db, ChangeFeed(db))
    computed: Counter[str] = Counter()

    def compute_by(name: str) -> Compute:
        async def compute() -> Built:
            computed[name] += 1
            return Built(b'{"items": []}', 42)

        return compute

    key = cache_key("/events/42/tickets", b"")
    assert key is not None
    try:
        await eventually(lambda: _up(first, second), within=10)
        assert second.shared is not None
        take_lock = second.shared.lock

        async def lock_once_the_other_filled(digest: str) -> bool | None:
            await first.fetch(key, compute_by("first"))
            return await take_lock(digest)

        second.shared.lock = lock_once_the_other_filled  # type: ignore[method-assign]
        entry, source = await second.fetch(key, compute_by("second"))
        assert (computed, source, entry.body) == (Counter(first=1), "l2", b'{"items": []}')
    finally:
        for cache in (first, second):
            await cache.stop()


async def _up(*caches: ResponseCache) -> bool:
    return all(cache.shared is not None and cache.shared.up for cache in caches)


async def test_etags_are_identical_across_processes(clients: list[httpx.AsyncClient]) -> None:
    product = await _created(clients, title="Tagged")
    for url in (f"/events/{product['id']}", "/events?limit=5", "/categories"):
        first, second = await clients[0].get(url), await clients[1].get(url)
        assert first.content == second.content
        assert first.headers["etag"] == second.headers["etag"]
        assert first.headers["etag"].startswith('"')
        match = {"If-None-Match": first.headers["etag"]}
        for client in clients:
            for _ in range(2):  # from the route, then from the L1 front
                again = await client.get(url, headers=match)
                assert again.status_code == 304 and again.content == b""
                assert again.headers["cache-control"] == first.headers["cache-control"]


async def test_errors_are_not_cached_in_either_tier(clients: list[httpx.AsyncClient]) -> None:
    for client in clients:
        missing = await client.get("/events/arrives-later")
        assert missing.status_code == 404 and missing.headers["cache-control"] == "no-store"
        assert "etag" not in missing.headers
    product = make_product(handle="arrives-later")
    await deliver(clients[0], "products/create", product)

    async def found_everywhere() -> bool:
        return all([await _json(client, "/events/arrives-later") is not None for client in clients])

    await eventually(found_everywhere, within=VISIBLE_WITHIN)


async def _hammer(
    client: httpx.AsyncClient, urls: list[str], seen: Counter[int], stop: Any
) -> None:
    while not stop.is_set():
        for url in urls:
            try:
                seen[(await client.get(url)).status_code] += 1
            except httpx.HTTPError:
                seen[0] += 1


async def test_redis_stopped_mid_traffic_then_restarted(
    clients: list[httpx.AsyncClient], redis_server: RedisServer
) -> None:
    product = await _created(clients, title="Steady")
    urls = [
        f"/events/{product['id']}",
        f"/events/{product['id']}/tickets",
        "/events",
        "/categories",
    ]
    seen: Counter[int] = Counter()
    stop = asyncio.Event()
    # The traffic has clients of its own: a check never queues behind it in one client's pool.
    loaders = [httpx.AsyncClient(base_url=c.base_url, timeout=10) for c in clients]
    traffic = [asyncio.create_task(_hammer(c, urls, seen, stop)) for c in loaders * 4]
    try:
        await asyncio.sleep(0.3)
        redis_server.stop()
        await eventually(lambda: _all_ready(clients, "degraded"), within=VISIBLE_WITHIN)
        renamed = _renamed(product, "Changed while Redis is down", 2)
        await deliver(clients[0], "products/update", renamed)
        await eventually(lambda: _seen_everywhere(clients, renamed), within=VISIBLE_WITHIN)
        redis_server.start()
        await eventually(lambda: _all_ready(clients, "ok"), within=10)
        flushed = Redis.from_url(redis_server.url)
        await flushed.flushall()
        await flushed.aclose()
        await asyncio.sleep(0.3)
    finally:
        stop.set()
        await asyncio.gather(*traffic)
        for loader in loaders:
            await loader.aclose()
    assert set(seen) == {200}, seen
    assert seen[200] > 100
    renamed = _renamed(product, "Changed after recovery", 3)
    await deliver(clients[1], "products/update", renamed)
    await eventually(lambda: _seen_everywhere(clients, renamed), within=VISIBLE_WITHIN)
