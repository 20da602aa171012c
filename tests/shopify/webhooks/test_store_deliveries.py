"""End to end with the simulated store: an order whose note holds U+0000 is acknowledged at its
first attempt, so the store keeps the subscription and the next order arrives too. (Answered
500, it was retried 9 times and the subscription removed, as Shopify does.)"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.config import Settings
from shababco.shopify.webhooks.subscriptions import list_subscriptions, register_subscriptions
from tests.support.scenario import ORDER_CREATE, create_event, first_location
from tests.support.server import LiveServer
from tests.support.simulator import (
    SECRET,
    TOKEN,
    SimulatorProcess,
    control,
    gql,
    idle,
    running_simulator,
    shopify_client,
)
from tests.support.webhook_client import eventually

SHOP_DOMAIN = "shababco-dev.myshopify.com"  # the simulator's default


@pytest.fixture
def simulator() -> Iterator[SimulatorProcess]:
    with running_simulator("--retry-time-scale", "0.0005", seed_events=0) as process:
        yield process


@pytest.fixture
def mirror(settings: Settings, db: AsyncEngine, simulator: SimulatorProcess) -> Iterator[str]:
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

        async def register() -> None:
            async with shopify_client(simulator) as client:
                await register_subscriptions(client, address=server.url)

        asyncio.run(register())
        yield server.url


async def order(store: httpx.AsyncClient, variant_id: str, quantity: int, note: str) -> None:
    order_input = {"note": note, "lineItems": [{"variantId": variant_id, "quantity": quantity}]}
    options = {"inventoryBehaviour": "DECREMENT_IGNORING_POLICY"}
    body = await gql(store, ORDER_CREATE, order=order_input, options=options)
    assert body["data"]["orderCreate"]["userErrors"] == [], body


async def test_an_order_note_with_nul_is_acknowledged_and_the_store_keeps_sending(
    simulator: SimulatorProcess, mirror: str
) -> None:
    async with control(simulator) as store, httpx.AsyncClient(base_url=mirror) as api:
        product = await create_event(store, await first_location(store))
        variant = product["variants"]["nodes"][0]["id"]
        event = product["id"].rsplit("/", 1)[-1]
        await order(store, variant, 2, "gift\u0000")
        await idle(store, within=60)
        await order(store, variant, 1, "a normal order")
        await idle(store, within=60)
        attempts = await store.get("/_simulator/deliveries", params={"topic": "orders/create"})
        statuses = [attempt["status"] for attempt in attempts.json()["attempts"]]
        assert statuses == [200, 200]  # each acknowledged at its first attempt

        async def both_counted() -> bool:
            response = await api.get(f"/events/{event}/tickets")
            items: list[dict[str, Any]] = response.json().get("items", [])
            return any(item["sold"] == 3 for item in items)

        await eventually(both_counted, within=15)
    async with shopify_client(simulator) as client:
        topics = {subscription.topic for subscription in await list_subscriptions(client)}
    assert "ORDERS_CREATE" in topics
