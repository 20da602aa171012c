"""The response cache in one process (L1 only, the embedded default's shape): keys, bounds,
freshness, hits before FastAPI, single flight, and invalidation by writers in any process."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.cache.changes import ChangeFeed, Changes
from shababco.cache.core import ResponseCache
from shababco.cache.freshness import Generations
from shababco.cache.store import (
    Built,
    Entry,
    LocalCache,
    decode_shared,
    encode_shared,
    make_entry,
)
from shababco.catalog.keys import cache_key
from shababco.config import Settings
from shababco.errors import ApiError
from tests.support.data import load_products
from tests.support.factories import make_product
from tests.support.server import LiveServer
from tests.support.webhook_client import VISIBLE_WITHIN, deliver, eventually, followed_past


def test_only_cacheable_routes_have_keys() -> None:
    for path in ("/health", "/events/", "/events/1/other", "/events/1/tickets/2", "/webhooks/x"):
        assert cache_key(path, b"") is None
    long = cache_key("/events", b"search=" + b"x" * 5000)
    assert long is not None and not long.storable
    assert cache_key("/categories", b"")


def built_entry(size: int, stamp: int = 1, event_id: int | None = None) -> Entry:
    key = cache_key("/events/1", b"")
    assert key is not None
    return make_entry(key, Built(b"x" * size, event_id), stamp=stamp, ttl=60)


def test_l1_is_bounded_by_entries_and_bytes_lru_first() -> None:
    local = LocalCache(max_entries=3, max_bytes=100_000)
    for name in "abcd":
        local.put(name, built_entry(10))
    assert local.get("a") is None and len(local) == 3
    local.get("b")  # b is now the most recently used
    local.put("e", built_entry(10))
    assert local.get("b") is not None and local.get("c") is None
    by_bytes = LocalCache(max_entries=100, max_bytes=20_000)
    for name in "abcdef":
        by_bytes.put(name, built_entry(4_000))
    assert by_bytes.bytes <= 20_000 and by_bytes.get("a") is None and by_bytes.get("f")
    by_bytes.put("huge", built_entry(10_000))
    assert by_bytes.get("huge") is None


def test_freshness_follows_the_change_log() -> None:
    generations = Generations()
    generations.start(10)
    assert generations.fresh(10, 7) and generations.fresh(10, None)
    assert not generations.fresh(9, 7)  # built before this process followed the log
    generations.learn(11, [7], listings=False)
    assert not generations.fresh(10, 7) and generations.fresh(10, 8) and generations.fresh(10, None)
    generations.learn(12, [8], listings=True)
    assert not generations.fresh(11, None) and generations.fresh(12, None)
    assert generations.horizon == 12


def test_shared_values_round_trip() -> None:
    key = cache_key("/events/5", b"")
    assert key is not None
    entry = make_entry(key, Built(b'{"a":"x\\ny"}', 5), stamp=3, ttl=60)
    back = decode_shared(key, encode_shared(entry), 60)
    assert back is not None
    assert (back.body, back.etag, back.event_id, back.stamp) == (entry.body, entry.etag, 5, 3)
    assert decode_shared(key, b"garbage", 60) is None


@pytest.fixture
async def client(cached_api: LiveServer, db: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(base_url=cached_api.url, timeout=10, limits=limits) as client:
        yield client


async def test_second_read_is_an_l1_hit_with_the_same_bytes(
    client: httpx.AsyncClient, db: AsyncEngine
) -> None:
    product = make_product(title="Cached")
    await deliver(client, "products/create", product)
    url = f"/events/{product['id']}"
    await eventually(lambda: _status(client, url, 200))
    await followed_past(db, product["id"], client)
    first, second = await client.get(url), await client.get(url)
    assert second.headers["x-cache"] == "l1"
    assert first.content == second.content and first.headers["etag"] == second.headers["etag"]
    assert second.headers["cache-control"] == "public, max-age=5"
    assert second.headers["content-type"] == "application/json"
    again = await client.get(url, headers={"If-None-Match": second.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == second.headers["etag"]


async def _status(client: httpx.AsyncClient, url: str, status: int) -> bool:
    return (await client.get(url)).status_code == status


async def test_a_webhook_invalidates_detail_tickets_and_lists(client: httpx.AsyncClient) -> None:
    product = make_product(title="Before", category="Opera")
    await deliver(client, "products/create", product)
    urls = [f"/events/{product['id']}", f"/events/{product['id']}/tickets", "/events?limit=100"]
    await eventually(lambda: _status(client, urls[0], 200))
    for url in urls:
        await client.get(url)
    price = {**product["variants"][0], "price": "99.00", "updated_at": "2026-02-01T00:00:00Z"}
    changed = {
        **product,
        "title": "After",
        "variants": [price],
        "updated_at": "2026-02-01T00:00:00Z",
    }
    await deliver(client, "products/update", changed)

    async def all_fresh() -> bool:
        detail, tickets, listing = [(await client.get(url)).json() for url in urls]
        titles = {item["id"]: item["title"] for item in listing["items"]}
        return (
            detail["title"] == "After"
            and tickets["items"][0]["price"] == "99.00"
            and titles.get(str(product["id"])) == "After"
        )

    await eventually(all_fresh, within=VISIBLE_WITHIN)


async def test_a_write_in_another_process_is_seen_through_the_log(
    client: httpx.AsyncClient, db: AsyncEngine
) -> None:
    """A CLI writer (sync, reconcile) has no Redis and no server: only the change log."""
    product = make_product(title="Imported")
    await load_products(db, product)
    url = f"/events/{product['id']}"
    await ChangeFeed(db).publish(Changes.of([product["id"]]))
    await eventually(lambda: _status(client, url, 200), within=VISIBLE_WITHIN)
    await client.get(url)
    await load_products(
        db, {**product, "title": "Reimported", "updated_at": "2026-03-01T00:00:00Z"}
    )
    await ChangeFeed(db).publish(Changes.of([product["id"]]))

    async def renamed() -> bool:
        return bool((await client.get(url)).json()["title"] == "Reimported")

    await eventually(renamed, within=VISIBLE_WITHIN)


async def test_concurrent_misses_run_one_computation(
    client: httpx.AsyncClient, db: AsyncEngine
) -> None:
    product = make_product(title="Thundering herd")
    await deliver(client, "products/create", product)
    await eventually(lambda: _status(client, f"/events/{product['id']}", 200))
    await followed_past(db, product["id"], client)  # else the creation may evict the fill
    url = f"/events/{product['id']}/tickets"
    responses = await asyncio.gather(*(client.get(url) for _ in range(100)))
    assert {response.status_code for response in responses} == {200}
    sources = Counter(response.headers["x-cache"] for response in responses)
    assert sources["miss"] == 1, sources
    assert len({response.content for response in responses}) == 1


class Fill:
    """A computation that holds its first run until released, and counts its runs; each later
    run still yields once, as a query would."""

    def __init__(self, error: Exception | None = None) -> None:
        self.release, self.runs, self.error = asyncio.Event(), 0, error

    async def __call__(self) -> Built:
        self.runs += 1
        if self.runs == 1:
            await self.release.wait()
        else:
            await asyncio.sleep(0)
        if self.error is not None:
            raise self.error
        return Built(b'{"id": "1"}', 1)


KEY = cache_key("/events/1", b"")


async def _herd(cache: ResponseCache, fill: Fill) -> list[asyncio.Task[tuple[Entry, str]]]:
    """Five concurrent misses on one key, each parked where it waits (the first in its fill)."""
    assert KEY is not None
    herd = [asyncio.create_task(cache.fetch(KEY, fill)) for _ in range(5)]
    await asyncio.sleep(0)  # one loop turn: each task runs to its first suspension
    assert fill.runs == 1
    return herd


async def test_concurrent_misses_wait_for_the_first_fill(settings: Settings) -> None:
    fill = Fill()
    herd = await _herd(ResponseCache(settings), fill)
    fill.release.set()
    fetched = await asyncio.gather(*herd)
    assert sorted(source for _, source in fetched) == ["miss", "wait", "wait", "wait", "wait"]
    assert len({entry.body for entry, _ in fetched}) == 1 and fill.runs == 1


async def test_a_cancelled_fill_passes_to_a_waiter(settings: Settings) -> None:
    fill = Fill()
    first, *waiters = await _herd(ResponseCache(settings), fill)
    first.cancel()
    fetched = await asyncio.gather(*waiters)
    assert first.cancelled()
    assert sorted(source for _, source in fetched) == ["miss", "wait", "wait", "wait"]
    assert fill.runs == 2


async def test_waiters_get_the_fills_error_and_the_next_miss_fills_again(
    settings: Settings,
) -> None:
    fill = Fill(ApiError(404, "not_found", "no event '1'"))
    cache = ResponseCache(settings.model_copy(update={"cache_ttl_detail": 600}))
    herd = await _herd(cache, fill)
    fill.release.set()
    outcomes = await asyncio.gather(*herd, return_exceptions=True)
    assert all(outcome is fill.error for outcome in outcomes) and fill.runs == 1
    assert KEY is not None
    with pytest.raises(ApiError):
        await cache.fetch(KEY, fill)
    assert fill.runs == 2


async def test_errors_are_never_cached(client: httpx.AsyncClient) -> None:
    product = make_product(handle="not-yet-here")
    for _ in range(2):
        missing = await client.get("/events/not-yet-here")
        assert missing.status_code == 404
        assert missing.headers["cache-control"] == "no-store"
        assert "etag" not in missing.headers and "x-cache" not in missing.headers
    invalid = await client.get("/events", params={"limit": 0})
    assert invalid.status_code == 422 and invalid.headers["cache-control"] == "no-store"
    await deliver(client, "products/create", product)
    await eventually(lambda: _status(client, "/events/not-yet-here", 200), within=VISIBLE_WITHIN)


async def test_ready_reports_the_cache_without_redis(client: httpx.AsyncClient) -> None:
    ready = (await client.get("/ready")).json()
    assert ready["cache"] == "disabled" and ready["status"] == "ready"
