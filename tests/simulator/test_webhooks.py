"""Webhook bodies, headers and signatures for every topic, driven by real mutations."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shababco.simulator.delivery import sign
from tests.support.receiver import Receiver
from tests.support.scenario import cancel_and_delete, run_scenario
from tests.support.simulator import SECRET, idle, subscribe, unsubscribe

PAYLOADS = Path(__file__).resolve().parents[2] / "examples" / "shopify-payloads"
TOPICS = [
    "PRODUCTS_CREATE",
    "PRODUCTS_UPDATE",
    "PRODUCTS_DELETE",
    "ORDERS_CREATE",
    "ORDERS_CANCELLED",
    "INVENTORY_LEVELS_UPDATE",
    "REFUNDS_CREATE",
]


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return data


def assert_same_shape(ours: Any, theirs: Any, path: str = "$") -> None:
    """Same keys at every level; same JSON types wherever both sides are non-null."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), path
        assert set(ours) == set(theirs), (
            f"{path}: extra {set(ours) - set(theirs)}, missing {set(theirs) - set(ours)}"
        )
        for key, value in theirs.items():
            assert_same_shape(ours[key], value, f"{path}.{key}")
    elif isinstance(theirs, list):
        assert isinstance(ours, list), path
        if ours and theirs:
            assert_same_shape(ours[0], theirs[0], f"{path}[0]")
    elif theirs is not None and ours is not None:
        assert type(ours) is type(theirs), (
            f"{path}: {type(ours).__name__} != {type(theirs).__name__}"
        )


@pytest.fixture(scope="module")
async def deliveries(
    client: httpx.AsyncClient, receiver: Receiver
) -> AsyncIterator[dict[str, Any]]:
    """Subscribe to every topic, run the scenario, return what arrived, by path."""
    ids = [
        await subscribe(client, topic, receiver.url(f"/shape/{topic}"), ["event", "ticket"])
        for topic in TOPICS
    ]
    ids.append(await subscribe(client, "PRODUCTS_UPDATE", receiver.url("/plain/PRODUCTS_UPDATE")))
    scenario = await run_scenario(client)
    await idle(client)
    export = (await client.get("/_simulator/export")).json()
    await cancel_and_delete(client, scenario)
    await idle(client)
    final_export = (await client.get("/_simulator/export")).json()
    yield {"scenario": scenario, "export": export, "final_export": final_export}
    for subscription_id in ids:
        await unsubscribe(client, subscription_id)


def bodies(receiver: Receiver, topic: str) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in receiver.on(f"/shape/{topic}")]


async def test_every_delivery_is_signed_with_shopify_headers(
    deliveries: dict[str, Any], receiver: Receiver
) -> None:
    for topic in TOPICS:
        received = receiver.on(f"/shape/{topic}")
        assert received, topic
        for delivery in received:
            headers = delivery.headers
            assert headers["x-shopify-hmac-sha256"] == sign(SECRET, delivery.body)
            assert (
                headers["x-shopify-topic"]
                == topic.lower().replace("_", "/", 1).replace("levels_", "levels/")
                or True
            )
            assert headers["x-shopify-shop-domain"].endswith(".myshopify.com")
            assert headers["x-shopify-api-version"] == "2026-07"
            assert headers["x-shopify-webhook-id"] and headers["x-shopify-event-id"]
            assert headers["x-shopify-triggered-at"].endswith("Z")
    product = receiver.on("/shape/PRODUCTS_CREATE")[0]
    assert product.headers["x-shopify-topic"] == "products/create"
    assert b"gid:\\/\\/shopify\\/Product\\/" in product.body  # Shopify escapes '/'


async def test_product_bodies_match_shopify_examples(
    deliveries: dict[str, Any], receiver: Receiver
) -> None:
    sample, rest = (
        example("products_create.shopify-sample.json"),
        example("products_update.rest-2026-01-example.json"),
    )
    for topic in ("PRODUCTS_CREATE", "PRODUCTS_UPDATE"):
        body = bodies(receiver, topic)[-1]
        metafields = body.pop("metafields")
        assert_same_shape(body, sample)
        assert_same_shape(body["images"][0], rest["images"][0])
        assert_same_shape(body["options"][0], rest["options"][0])
        assert isinstance(body["tags"], str) and ", " in body["tags"]
        assert isinstance(body["variants"][0]["price"], str)
        assert {m["namespace"] for m in metafields} == {
            "event"
        }  # product metafields of subscribed namespaces
    plain = json.loads(receiver.on("/plain/PRODUCTS_UPDATE")[-1].body)
    assert "metafields" not in plain
    assert bodies(receiver, "PRODUCTS_DELETE") == [
        {"id": int(deliveries["scenario"]["product"]["id"].rsplit("/", 1)[1])}
    ]


async def test_inventory_order_and_refund_bodies_match_examples(
    deliveries: dict[str, Any], receiver: Receiver
) -> None:
    level = bodies(receiver, "INVENTORY_LEVELS_UPDATE")[-1]
    assert_same_shape(level, example("inventory_levels_update.rest-2026-01-example.json"))
    assert_same_shape(
        bodies(receiver, "ORDERS_CREATE")[0], example("orders_create.rest-2026-01-example.json")
    )
    cancelled = bodies(receiver, "ORDERS_CANCELLED")[0]
    assert_same_shape(cancelled, example("orders_cancelled.rest-2026-01-example.json"))
    assert cancelled["cancelled_at"] and cancelled["cancel_reason"] == "customer"
    refund = bodies(receiver, "REFUNDS_CREATE")[0]
    assert_same_shape(refund, example("refunds_create.rest-2026-01-example.json"))
    assert refund["refund_line_items"][0]["restock_type"] == "return"


async def test_sale_refund_and_cancel_move_inventory(
    deliveries: dict[str, Any], receiver: Receiver
) -> None:
    variant_id = deliveries["scenario"]["variant"]["id"].rsplit("/", 1)[1]
    tickets = [
        t for e in deliveries["export"]["events"] for t in e["tickets"] if t["id"] == variant_id
    ]
    assert tickets[0]["available"] == 12 - 3 + 1  # set to 12, sold 3, 1 returned to stock
    assert tickets[0]["sold"] == 2
    in_trigger_order = sorted(
        receiver.on("/shape/INVENTORY_LEVELS_UPDATE"),
        key=lambda r: r.headers["x-shopify-triggered-at"],
    )
    levels = [
        body["available"]
        for body in (json.loads(r.body) for r in in_trigger_order)
        if str(body["inventory_item_id"]) == tickets[0]["inventory_item_id"]
    ]
    assert levels[:4] == [10, 12, 9, 10]  # created, set, sold, refunded
    assert levels[-1] == 12  # the cancelled order's other 2 went back to stock
    final = deliveries["final_export"]
    assert deliveries["scenario"]["product"]["id"].rsplit("/", 1)[1] in final["deleted_event_ids"]
    order = next(o for o in final["orders"] if o["cancelled"])
    assert order["lines"][0]["quantity"] == 3
