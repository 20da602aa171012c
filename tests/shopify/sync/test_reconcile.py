"""`shababco reconcile`: with every webhook lost, one pass makes the mirror equal the store."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.cache.changes import ChangeFeed
from shababco.config import Settings
from shababco.database.engines import Database
from shababco.shopify.sync.full import run_sync
from shababco.shopify.sync.reconcile import reconcile, report_lines
from shababco.shopify.sync.scheduled import RECONCILE_LOCK, reconcile_if_due, run_reconciler
from shababco.shopify.sync.state import RECONCILE, read_state
from shababco.shopify.webhooks.subscriptions import (
    TOPICS,
    delete_subscription,
    list_subscriptions,
    register_subscriptions,
)
from tests.support.mirror import assert_mirror_matches, mirror_differences
from tests.support.scenario import (
    INVENTORY_SET,
    PRODUCT_DELETE,
    PRODUCT_UPDATE,
    cancel_and_delete,
    run_scenario,
)
from tests.support.simulator import (
    TOKEN,
    SimulatorProcess,
    control,
    export,
    gql,
    running_simulator,
    shopify_client,
)

PRICE_UPDATE = """mutation($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    productVariants { id price } userErrors { field message }
  }
}"""


@pytest.fixture(scope="module")
def store() -> Iterator[SimulatorProcess]:
    with running_simulator("--plan", "plus", "--seed", "5", seed_events=30) as simulator:
        yield simulator


async def _ok(http: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    body = await gql(http, query, **variables)
    assert "errors" not in body, body
    return body


async def change_everything(http: httpx.AsyncClient, truth: dict[str, Any]) -> None:
    """Mutations of every kind while nothing is subscribed: every webhook is lost."""
    first, second, third = truth["events"][:3]
    await _ok(http, PRODUCT_UPDATE, product={"id": _gid(first), "title": "Renamed while away"})
    ticket = second["tickets"][0]
    location = ticket["levels"][0]["location_id"]
    quantities = [
        {
            "inventoryItemId": f"gid://shopify/InventoryItem/{ticket['inventory_item_id']}",
            "locationId": f"gid://shopify/Location/{location}",
            "quantity": ticket["levels"][0]["available"] + 7,
            "changeFromQuantity": ticket["levels"][0]["available"],
        }
    ]
    await _ok(
        http,
        INVENTORY_SET,
        input={"name": "available", "reason": "correction", "quantities": quantities},
    )
    await _ok(http, PRODUCT_DELETE, id=_gid(third))
    scenario = await run_scenario(http)  # a new event, an order, a refund
    await cancel_and_delete(http, await run_scenario(http))  # ...and one cancelled and gone
    assert scenario["order"]
    generated = await http.post("/_simulator/events", json={"count": 2, "notify": False})
    generated.raise_for_status()  # dated in the past: only the id comparison finds them


def _gid(event: dict[str, Any]) -> str:
    return f"gid://shopify/Product/{event['id']}"


async def test_one_reconcile_repairs_every_lost_webhook(
    db: AsyncEngine, store: SimulatorProcess
) -> None:
    async with shopify_client(store) as client:
        await run_sync(db, client, currency="SAR")
        await assert_mirror_matches(db, await export(store))
        await asyncio.sleep(1.1)  # store timestamps have one-second resolution
        async with control(store) as http:
            await change_everything(http, await export(store))
        assert await mirror_differences(db, await export(store))
        report = await reconcile(db, client, currency="SAR", changes=ChangeFeed())
        await assert_mirror_matches(db, await export(store))
        assert report.listed_every_id
        assert report.events_repaired >= 2  # the renamed one and the scenario's new one
        assert report.events_added == 2
        assert report.events_deleted == 1  # the other deleted event was never mirrored
        assert report.levels_repaired >= 1
        assert report.sold_repaired >= 1
        again = await reconcile(db, client, currency="SAR")
    assert not any(again.repaired.values()), again.repaired
    assert not again.listed_every_id
    async with db.connect() as conn:
        state = await read_state(conn, name=RECONCILE)
    assert state is not None and state["watermark"] == again.started_at.isoformat()


async def test_only_one_process_reconciles_at_a_time(
    db: AsyncEngine, store: SimulatorProcess
) -> None:
    async with db.connect() as holder, holder.begin():
        await holder.exec_driver_sql(f"SELECT pg_advisory_xact_lock({RECONCILE_LOCK})")
        async with shopify_client(store) as client:
            skipped = await reconcile_if_due(db, client, currency="SAR", changes=None, interval=0)
    assert skipped is None
    async with shopify_client(store) as client:
        ran = await reconcile_if_due(db, client, currency="SAR", changes=None, interval=0)
        assert ran is not None
        recent = await reconcile_if_due(db, client, currency="SAR", changes=None, interval=600)
    assert recent is None  # another process (or this one) reconciled within the interval


async def test_the_scheduled_reconciler_runs_and_stops(
    db: AsyncEngine, database_url: str, store: SimulatorProcess
) -> None:
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        shopify_shop=store.base_url,
        shopify_access_token=TOKEN,
        reconcile_interval_seconds=1,
    )
    database = Database(url=database_url, write=db, read=db)
    stop = asyncio.Event()
    task = asyncio.create_task(run_reconciler(settings, database, ChangeFeed(), stop=stop))
    for _ in range(100):
        async with db.connect() as conn:
            if (await read_state(conn, name=RECONCILE) or {}).get("finished_at"):
                break
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    async with db.connect() as conn:
        assert (await read_state(conn, name=RECONCILE) or {}).get("finished_at")


async def test_a_pass_creates_again_the_subscriptions_shopify_deleted(
    db: AsyncEngine, store: SimulatorProcess
) -> None:
    address = "https://reconciled.example.com"
    async with shopify_client(store) as client:
        subscribed = await register_subscriptions(client, address=address)
        gone = next(s for s in subscribed if s.topic == "ORDERS_CREATE")
        await delete_subscription(client, subscription_id=gone.id)  # as after 8 failed retries
        before = _repaired("ORDERS_CREATE")
        report = await reconcile(db, client, currency="SAR", address=address)
        listed = await list_subscriptions(client)
        again = await reconcile(db, client, currency="SAR", address=address)
    assert report.subscriptions_checked and report.subscriptions_repaired == 1
    assert "  repaired webhook subscriptions: 1" in report_lines(report)
    assert _repaired("ORDERS_CREATE") == before + 1
    mine = [s for s in listed if s.uri.startswith(address)]
    assert sorted(s.topic for s in mine) == sorted(TOPICS)
    assert again.subscriptions_checked and again.subscriptions_repaired == 0


def _repaired(topic: str) -> float:
    sample = REGISTRY.get_sample_value("webhook_subscriptions_repaired_total", {"topic": topic})
    return sample or 0.0
