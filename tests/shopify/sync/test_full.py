"""`shababco sync` against the simulator process: the mirror equals the store's export."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.cache.changes import ChangeFeed, Changes
from shababco.catalog.models import Event, Ticket
from shababco.shopify.sync import inventory
from shababco.shopify.sync.full import run_sync
from shababco.shopify.sync.state import RECONCILE, SYNC, read_state, shop_currency
from tests.support.mirror import assert_mirror_matches
from tests.support.scenario import PRODUCT_DELETE, run_scenario
from tests.support.simulator import (
    SimulatorProcess,
    control,
    export,
    running_simulator,
    shopify_client,
)


@pytest.fixture(scope="module")
def store() -> Iterator[SimulatorProcess]:
    with running_simulator("--plan", "plus", "--seed", "11", seed_events=40) as simulator:
        yield simulator


@pytest.fixture(scope="module")
async def scenario(store: SimulatorProcess) -> None:
    """Orders, a refund and a new event, so that `sold` and levels are not trivial."""
    async with control(store) as http:
        await run_scenario(http)


@pytest.mark.parametrize("method", ["bulk", "pages"])
async def test_sync_mirrors_the_store(
    db: AsyncEngine, store: SimulatorProcess, scenario: None, method: str
) -> None:
    feed, announced = ChangeFeed(), set[int]()

    async def listen(changes: Changes) -> None:
        announced.update(changes.event_ids)

    feed.subscribe(listen)
    async with shopify_client(store) as client:
        report = await run_sync(db, client, method=method, currency="SAR", changes=feed)
    truth = await export(store)
    await assert_mirror_matches(db, truth)
    assert report.products == len(truth["events"])
    assert report.orders == len(truth["orders"]) >= 1
    assert announced == {int(event["id"]) for event in truth["events"]}
    async with db.connect() as conn:
        assert await read_state(conn, name=SYNC) is None
        assert (await read_state(conn, name=RECONCILE) or {}).get("watermark")


async def test_the_inventory_pass_recounts_every_ticket_it_lists(
    db: AsyncEngine, store: SimulatorProcess, scenario: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with shopify_client(store) as client:
        await run_sync(db, client, method="bulk", currency="SAR")
        async with db.begin() as conn:  # stock the levels no longer explain
            await conn.execute(update(Ticket).values(available=0))
            await conn.execute(update(Event).values(available=0))
        # The file's lines come in any order: batches of three split most tickets' locations.
        monkeypatch.setattr(inventory, "LEVELS_PER_BATCH", 3)
        monkeypatch.setattr(inventory, "ITEMS_PER_REFRESH", 5)
        result = await inventory.sync_inventory(db, client)
    assert result.levels > 3
    await assert_mirror_matches(db, await export(store))


class Crash(Exception):
    pass


async def test_an_interrupted_sync_resumes_without_duplicates(
    db: AsyncEngine, store: SimulatorProcess, scenario: None
) -> None:
    batches = 0

    def crash_after_two(phase: str, done: int, total: int | None) -> None:
        nonlocal batches
        if phase == "products":
            batches += 1
            if batches == 2:
                raise Crash

    async with shopify_client(store) as client:
        with pytest.raises(Crash):
            await run_sync(db, client, currency="SAR", batch_size=7, progress=crash_after_two)
        async with db.connect() as conn:
            state = await read_state(conn, name=SYNC)
        assert state is not None and state["processed"] == 14
        report = await run_sync(db, client, currency="SAR", batch_size=7)
    truth = await export(store)
    assert report.resumed_after == 14
    assert report.products == len(truth["events"]) - 14
    await assert_mirror_matches(db, truth)
    async with db.connect() as conn:
        tickets = await conn.scalar(select(func.count()).select_from(Ticket))
    assert tickets == sum(len(event["tickets"]) for event in truth["events"])


async def test_a_resync_removes_deleted_products(db: AsyncEngine, store: SimulatorProcess) -> None:
    async with shopify_client(store) as client:
        await run_sync(db, client, currency="SAR", method="pages")
        victim = (await export(store))["events"][3]["id"]
        async with control(store) as http:
            response = await http.post(
                "/admin/api/2026-07/graphql.json",
                json={
                    "query": PRODUCT_DELETE,
                    "variables": {"id": f"gid://shopify/Product/{victim}"},
                },
            )
            assert response.json()["data"]["productDelete"]["userErrors"] == []
        report = await run_sync(db, client, currency="SAR")
    assert report.deleted == 1
    await assert_mirror_matches(db, await export(store))
    async with db.connect() as conn:
        row = (
            await conn.execute(select(Event).where(Event.shopify_product_id == int(victim)))
        ).one()
    assert row.deleted_at is not None


@pytest.mark.parametrize("method", ["bulk", "pages"])
async def test_events_take_the_shops_currency_not_the_setting(
    db: AsyncEngine, store: SimulatorProcess, method: str
) -> None:
    async with db.begin() as conn:  # a mirror filled before it knew the shop's currency
        await conn.execute(update(Event).values(currency="USD"))
    async with shopify_client(store) as client:
        await run_sync(db, client, method=method, currency="USD")
    shop = (await export(store))["shop"]["currency"]
    async with db.connect() as conn:
        listed = select(Event.currency).where(Event.deleted_at.is_(None)).distinct()
        assert set((await conn.execute(listed)).scalars()) == {shop} == {"SAR"}
        assert await shop_currency(conn, fallback="USD") == "SAR"


async def test_progress_names_the_totals_the_store_knows(
    db: AsyncEngine, store: SimulatorProcess, scenario: None
) -> None:
    seen: dict[str, tuple[int, int | None]] = {}

    def record(phase: str, done: int, total: int | None) -> None:
        seen[phase] = (done, total)

    async with shopify_client(store) as client:
        await run_sync(db, client, currency="SAR", progress=record)
    truth = await export(store)
    products, orders = len(truth["events"]), len(truth["orders"])
    assert seen["exporting products (bulk operation)"] == (products, products)
    assert seen["products"] == (products, products)
    assert seen["orders"] == (orders, orders)


async def test_a_paged_sync_paces_itself_to_a_small_bucket(db: AsyncEngine) -> None:
    bucket, rate = 1000, 1000
    flags = ("--bucket-size", str(bucket), "--restore-rate", str(rate), "--seed", "3")
    with running_simulator(*flags, seed_events=40) as small:
        async with shopify_client(small) as client:
            started = time.monotonic()
            await run_sync(db, client, method="pages", currency="SAR")
            elapsed = time.monotonic() - started
        await assert_mirror_matches(db, await export(small))
    bound = (client.points_spent - bucket) / rate
    assert bound > 0.5  # the bucket, not the machine, sets the pace here
    assert elapsed >= bound * 0.9
    assert client.throttled <= 1  # pacing waits before Shopify has to refuse
