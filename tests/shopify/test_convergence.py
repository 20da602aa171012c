"""Convergence, as a property: random store histories delivered with duplicates,
reordering and drops, then one reconciliation, leave the mirror equal to the store; without
drops the webhooks alone get there.

The store is the simulator process changed through Shopify's own mutations; the mirror is a live
API server subscribed to its webhooks; equality is judged against the simulator's export.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from shababco.config import Settings
from shababco.shopify.models import WebhookDelivery
from shababco.shopify.sync.reconcile import reconcile
from shababco.shopify.webhooks.subscriptions import register_subscriptions
from tests.support.mirror import mirror_differences
from tests.support.scenario import (
    INVENTORY_SET,
    METAFIELDS_SET,
    ORDER_CANCEL,
    ORDER_CREATE,
    PRODUCT_DELETE,
    PRODUCT_SET,
    PRODUCT_UPDATE,
    REFUND_CREATE,
    first_location,
)
from tests.support.server import LiveServer
from tests.support.simulator import (
    SECRET,
    TOKEN,
    SimulatorProcess,
    export,
    gql,
    idle,
    running_simulator,
    shopify_client,
)

SHOP_DOMAIN = "shababco-dev.myshopify.com"  # the simulator's default
TITLES = ["Jazz Night", "أمسية العود", "Rock Concert", "مهرجان الصيف", "Comedy Hour"]


@dataclass
class Store:
    """What the history has made so far, to aim later operations at."""

    location: str = ""
    products: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)


# A store and a mirror of their own for each property, both starting empty.
@pytest.fixture
def simulator() -> Iterator[SimulatorProcess]:
    with running_simulator("--retry-time-scale", "0.0005", seed_events=0) as process:
        yield process


@pytest.fixture
def mirror_api(
    settings: Settings, db: AsyncEngine, simulator: SimulatorProcess
) -> Iterator[LiveServer]:
    configured = settings.model_copy(
        update={
            "shopify_shop": simulator.base_url,
            "shopify_shop_domain": SHOP_DOMAIN,
            "shopify_access_token": SecretStr(TOKEN),
            "shopify_webhook_secret": SecretStr(SECRET),
            "shopify_webhook_secret_previous": None,
            "reconcile_interval_seconds": 0,
        }
    )
    with LiveServer(configured) as server:
        yield server


@pytest.fixture
def subscribed(simulator: SimulatorProcess, mirror_api: LiveServer) -> SimulatorProcess:
    async def register() -> None:
        async with shopify_client(simulator) as client:
            await register_subscriptions(client, address=mirror_api.url)

    asyncio.run(register())
    return simulator


operations = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.sampled_from(TITLES), st.integers(1, 3)),
        st.tuples(st.just("rename"), st.integers(0, 9), st.sampled_from(TITLES)),
        st.tuples(st.just("subtitle"), st.integers(0, 9), st.sampled_from(["A", "ب", "C"])),
        st.tuples(st.just("ticket_type"), st.integers(0, 9), st.sampled_from(["vip", "general"])),
        st.tuples(st.just("stock"), st.integers(0, 9), st.integers(0, 40)),
        st.tuples(st.just("sell"), st.integers(0, 9), st.integers(1, 3)),
        st.tuples(st.just("cancel"), st.integers(0, 9), st.just(0)),
        st.tuples(st.just("refund"), st.integers(0, 9), st.just(0)),
        st.tuples(st.just("delete"), st.integers(0, 9), st.just(0)),
    ),
    min_size=3,
    max_size=14,
)


def _ok(body: dict[str, Any], name: str) -> dict[str, Any]:
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"][name]
    assert not (payload.get("userErrors") or payload.get("orderCancelUserErrors")), payload
    return payload


async def _create(client: httpx.AsyncClient, store: Store, title: str, tickets: int) -> None:
    names = [f"T{n}" for n in range(tickets)]
    product = {
        "title": title,
        "status": "ACTIVE",
        "productType": "Concerts",
        "productOptions": [{"name": "Ticket", "values": [{"name": n} for n in names]}],
        "variants": [
            {
                "optionValues": [{"optionName": "Ticket", "name": name}],
                "price": f"{20 + 5 * n}.00",
                "inventoryQuantities": [
                    {"locationId": store.location, "name": "available", "quantity": 20}
                ],
            }
            for n, name in enumerate(names)
        ],
    }
    created = _ok(await gql(client, PRODUCT_SET, input=product), "productSet")["product"]
    store.products.append(created)


async def _apply(client: httpx.AsyncClient, store: Store, operation: tuple[Any, ...]) -> None:
    kind, index, value = operation
    if kind == "create":
        await _create(client, store, index, value)
        return
    if not store.products:
        return
    product = store.products[index % len(store.products)]
    variant = product["variants"]["nodes"][0]
    if kind == "rename":
        await gql(client, PRODUCT_UPDATE, product={"id": product["id"], "title": value})
    elif kind in {"subtitle", "ticket_type"}:
        owner, namespace, key = (
            (product["id"], "event", "subtitle")
            if kind == "subtitle"
            else (variant["id"], "ticket", "type")
        )
        field_ = {
            "ownerId": owner,
            "namespace": namespace,
            "key": key,
            "type": "single_line_text_field",
            "value": value,
        }
        _ok(await gql(client, METAFIELDS_SET, metafields=[field_]), "metafieldsSet")
    elif kind == "stock":
        quantity = {
            "inventoryItemId": variant["inventoryItem"]["id"],
            "locationId": store.location,
            "quantity": value,
        }
        await gql(
            client,
            INVENTORY_SET,
            input={
                "name": "available",
                "reason": "correction",
                "ignoreCompareQuantity": True,
                "quantities": [quantity],
            },
        )
    elif kind == "sell":
        order = {"lineItems": [{"variantId": variant["id"], "quantity": value}]}
        options = {"inventoryBehaviour": "DECREMENT_IGNORING_POLICY"}
        body = await gql(client, ORDER_CREATE, order=order, options=options)
        if not body.get("errors") and body["data"]["orderCreate"]["order"]:
            store.orders.append(body["data"]["orderCreate"]["order"])
    elif kind == "delete":
        await gql(client, PRODUCT_DELETE, id=product["id"])
        store.products.remove(product)
    elif store.orders:
        await _order_change(client, store, kind, store.orders[index % len(store.orders)])


async def _order_change(
    client: httpx.AsyncClient, store: Store, kind: str, order: dict[str, Any]
) -> None:
    if kind == "cancel":
        await gql(client, ORDER_CANCEL, id=order["id"])
        store.orders.remove(order)
        return
    line = order["lineItems"]["nodes"][0]
    refund = {
        "orderId": order["id"],
        "refundLineItems": [{"lineItemId": line["id"], "quantity": 1, "restockType": "NO_RESTOCK"}],
    }
    await gql(client, REFUND_CREATE, input=refund)


async def _inbox_drained(engine: AsyncEngine) -> None:
    for _ in range(400):
        async with engine.connect() as conn:
            pending = await conn.scalar(
                select(func.count())
                .select_from(WebhookDelivery)
                .where(WebhookDelivery.processed_at.is_(None))
            )
        if not pending:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the inbox did not drain")


async def _converged(engine: AsyncEngine, simulator: SimulatorProcess, within: float) -> list[str]:
    """The differences left once webhooks and refetches have settled (or `within` ran out)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        problems = await mirror_differences(engine, await export(simulator))
        if not problems or asyncio.get_running_loop().time() > deadline:
            return problems
        await asyncio.sleep(0.2)


async def _history(
    database_url: str, simulator: SimulatorProcess, history: list[Any], chaos: dict[str, Any]
) -> list[str]:
    engine = create_async_engine(database_url, poolclass=NullPool)
    headers = {"X-Shopify-Access-Token": TOKEN}
    try:
        async with httpx.AsyncClient(
            base_url=simulator.base_url, headers=headers, timeout=30
        ) as client:
            store = Store(location=await first_location(client))
            (await client.put("/_simulator/chaos", json=chaos)).raise_for_status()
            for operation in history:
                await _apply(client, store, operation)
            await idle(client, within=60)
            (await client.put("/_simulator/chaos", json=NO_CHAOS)).raise_for_status()
        await _inbox_drained(engine)
        if chaos["drop_rate"] > 0:
            await _converged(engine, simulator, within=2)  # let refetches finish first
            async with shopify_client(simulator) as store_client:
                await reconcile(engine, store_client, currency="USD", full=True)
        return await _converged(engine, simulator, within=10)
    finally:
        await engine.dispose()


NO_CHAOS = {
    "duplicate_rate": 0.0,
    "reorder_window": 0,
    "drop_rate": 0.0,
    "delay_min": 0.0,
    "delay_max": 0.0,
}
chaos_settings = st.fixed_dictionaries(
    {
        "duplicate_rate": st.sampled_from([0.0, 0.3, 0.6]),
        "reorder_window": st.sampled_from([0, 4]),
        "drop_rate": st.sampled_from([0.15, 0.4]),
        "delay_min": st.just(0.0),
        "delay_max": st.just(0.0),
    }
)
PROPERTY = settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.slow
@PROPERTY
@given(history=operations, chaos=chaos_settings)
def test_chaos_then_one_reconciliation_restores_the_store(
    subscribed: SimulatorProcess, database_url: str, history: list[Any], chaos: dict[str, Any]
) -> None:
    assert asyncio.run(_history(database_url, subscribed, history, chaos)) == []


@pytest.mark.slow
@PROPERTY
@given(history=operations, chaos=chaos_settings.map(lambda c: {**c, "drop_rate": 0.0}))
def test_without_drops_webhooks_alone_converge(
    subscribed: SimulatorProcess, database_url: str, history: list[Any], chaos: dict[str, Any]
) -> None:
    assert asyncio.run(_history(database_url, subscribed, history, chaos)) == []
