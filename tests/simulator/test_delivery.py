"""Retry schedule, subscription removal after 8 failed retries, and the chaos knobs."""

from __future__ import annotations

import json
from collections import Counter
from itertools import pairwise

import httpx

from shababco.simulator.delivery import RETRY_DELAYS
from tests.support.receiver import Receiver
from tests.support.scenario import INVENTORY_SET, PRODUCT_UPDATE, create_event, first_location
from tests.support.simulator import gql, idle, subscribe, unsubscribe

SCALE = 0.0005  # the session simulator's --retry-time-scale


async def test_retries_with_backoff_then_removes_the_subscription(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    assert abs(sum(RETRY_DELAYS) - 4 * 3600) < 60  # 8 retries over about 4 hours
    receiver.statuses["/fail"] = 500
    subscription_id = await subscribe(client, "PRODUCTS_UPDATE", receiver.url("/fail"))
    product = (await gql(client, "{ products(first: 1) { nodes { id } } }"))["data"]["products"][
        "nodes"
    ][0]
    await gql(client, PRODUCT_UPDATE, product={"id": product["id"], "vendor": "Retry Co"})
    attempts = await receiver.wait_for("/fail", 9, within=30)
    await idle(client)
    assert len(attempts) == 9  # the first try and 8 retries, never more
    assert len({a.headers["x-shopify-webhook-id"] for a in attempts}) == 1
    assert len({a.body for a in attempts}) == 1
    gaps = [later.at - earlier.at for earlier, later in pairwise(attempts)]
    for gap, planned in zip(gaps[3:], RETRY_DELAYS[3:], strict=True):
        assert planned * SCALE * 0.8 <= gap <= planned * SCALE + 0.5
    assert gaps[-1] > gaps[3] * 8
    listed = await gql(client, "{ webhookSubscriptions(first: 50) { nodes { id } } }")
    assert subscription_id not in {n["id"] for n in listed["data"]["webhookSubscriptions"]["nodes"]}


async def test_chaos_duplicates_reorders_and_drops(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    location = await first_location(client)
    items = []
    for n in range(3):
        product = await create_event(client, location, title=f"Chaos {n}")
        items += [v["inventoryItem"]["id"] for v in product["variants"]["nodes"]]
    chaos = {
        "duplicate_rate": 0.3,
        "drop_rate": 0.2,
        "reorder_window": 8,
        "delay_min": 0,
        "delay_max": 0,
    }
    assert (await client.put("/_simulator/chaos", json=chaos)).status_code == 200
    subscription_id = await subscribe(client, "INVENTORY_LEVELS_UPDATE", receiver.url("/chaos"))
    try:
        sent = 0
        for round_number in range(50):
            quantities = [
                {"inventoryItemId": item, "locationId": location, "quantity": round_number * 10 + i}
                for i, item in enumerate(items)
            ]
            await gql(
                client,
                INVENTORY_SET,
                input={"name": "available", "reason": "correction", "quantities": quantities},
            )
            sent += len(quantities)
        await idle(client)
    finally:
        await client.put("/_simulator/chaos", json={k: 0 for k in chaos})
        await unsubscribe(client, subscription_id)
    received = receiver.on("/chaos")
    copies = Counter(r.headers["x-shopify-webhook-id"] for r in received)
    unique = len(copies)
    assert 0.1 * sent <= sent - unique <= 0.3 * sent  # about 20 % dropped
    duplicated = sum(1 for count in copies.values() if count > 1)
    assert 0.2 * unique <= duplicated <= 0.4 * unique  # about 30 % sent twice
    assert max(copies.values()) == 2
    order = [json.loads(r.body)["available"] for r in received]
    inversions = sum(1 for a, b in pairwise(order) if b < a)
    assert inversions > 0.1 * len(order)
