"""What applied deliveries do to the mirror: the mirror's invariants through real webhooks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.shopify.models import WebhookDelivery
from shababco.shopify.sync.state import SHOP, write_state
from tests.support.factories import BASE_TIME, make_product, make_variant, next_id
from tests.support.webhook_client import deliver, eventually


def at(hours: float) -> str:
    return (BASE_TIME + timedelta(hours=hours)).isoformat()


async def ticket(api: httpx.AsyncClient, product: dict[str, Any], index: int = 0) -> Any:
    response = await api.get(f"/events/{product['id']}/tickets")
    if response.status_code != 200:
        return None
    items = response.json()["items"]
    return items[index] if len(items) > index else None


async def until_ticket(api: httpx.AsyncClient, product: dict[str, Any], **expected: Any) -> None:
    async def matches() -> bool:
        found = await ticket(api, product)
        return found is not None and all(found[k] == v for k, v in expected.items())

    await eventually(matches)


def order(variant: dict[str, Any], quantity: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": fields.pop("order_id", next_id()),
        "updated_at": fields.pop("updated_at", at(1)),
        "cancelled_at": fields.pop("cancelled_at", None),
        "line_items": [
            {
                "id": fields.pop("line_id", next_id()),
                "variant_id": variant["id"],
                "quantity": quantity,
            }
        ],
        **fields,
    }


async def test_older_update_never_overwrites_newer(api: httpx.AsyncClient, db: AsyncEngine) -> None:
    product = make_product(title="v1")
    await deliver(api, "products/update", {**product, "title": "v3", "updated_at": at(3)})
    await deliver(api, "products/update", {**product, "title": "v2", "updated_at": at(2)})

    async def newest() -> bool:
        response = await api.get(f"/events/{product['id']}")
        return response.status_code == 200 and response.json()["title"] == "v3"

    await eventually(newest)
    assert (await api.get(f"/events/{product['id']}")).json()["title"] == "v3"


async def test_deleted_event_never_comes_back(api: httpx.AsyncClient, db: AsyncEngine) -> None:
    product = make_product()
    gone = make_product()
    await deliver(api, "products/create", product)
    await deliver(api, "products/delete", {"id": product["id"]})
    await deliver(api, "products/update", {**product, "updated_at": at(5)})
    # A delete that arrives before the product ever did also wins.
    await deliver(api, "products/delete", {"id": gone["id"]})
    await deliver(api, "products/create", gone)
    witness = make_product()
    await deliver(api, "products/create", witness)

    async def settled() -> bool:
        return (await api.get(f"/events/{witness['id']}")).status_code == 200

    await eventually(settled)
    for deleted in (product, gone):
        assert (await api.get(f"/events/{deleted['id']}")).status_code == 404
    listed = {item["id"] for item in (await api.get("/events")).json()["items"]}
    assert listed == {str(witness["id"])}


async def test_available_sums_the_newest_level_per_location(
    api: httpx.AsyncClient, db: AsyncEngine
) -> None:
    variant = make_variant(quantity=100)
    product = make_product(variants=[variant])
    await deliver(api, "products/create", product)
    item = variant["inventory_item_id"]
    for location, available, hours in ((1, 30, 2), (2, 12, 2), (1, 25, 3), (1, 99, 1)):
        await deliver(
            api,
            "inventory_levels/update",
            {
                "inventory_item_id": item,
                "location_id": location,
                "available": available,
                "updated_at": at(hours),
            },
        )
    await until_ticket(api, product, available=37)  # 25 (newest at 1) + 12


async def test_sold_follows_orders_cancellations_and_refunds(
    api: httpx.AsyncClient, db: AsyncEngine
) -> None:
    variant = make_variant(quantity=50)
    product = make_product(variants=[variant])
    await deliver(api, "products/create", product)
    first = order(variant, 3)
    second = order(variant, 2)
    await deliver(api, "orders/create", first)
    await deliver(api, "orders/create", first)  # Shopify's redelivery has a new webhook id too
    await deliver(api, "orders/create", second)
    await until_ticket(api, product, sold=5, available=50, capacity=55)
    await deliver(api, "orders/cancelled", {**first, "cancelled_at": at(2), "updated_at": at(2)})
    await deliver(api, "orders/create", first)  # a late create does not un-cancel
    await until_ticket(api, product, sold=2)
    line = second["line_items"][0]
    refund = {
        "id": next_id(),
        "order_id": second["id"],
        "refund_line_items": [
            {
                "id": next_id(),
                "line_item_id": line["id"],
                "quantity": 1,
                "line_item": {"id": line["id"], "variant_id": variant["id"]},
            }
        ],
    }
    await deliver(api, "refunds/create", refund)
    await deliver(api, "refunds/create", refund)
    await until_ticket(api, product, sold=1)


async def test_orders_before_their_ticket_count_once_it_exists(
    api: httpx.AsyncClient, db: AsyncEngine
) -> None:
    variant = make_variant(quantity=10)
    product = make_product(variants=[variant])
    await deliver(api, "orders/create", order(variant, 4))
    await deliver(api, "products/create", product)
    await until_ticket(api, product, sold=4, available=10, capacity=14)


async def test_product_webhook_without_metafields_keeps_them(
    api: httpx.AsyncClient, db: AsyncEngine
) -> None:
    product = make_product(subtitle="Keep me")
    await deliver(api, "products/create", product)
    bare = {k: v for k, v in product.items() if k != "metafields"}
    await deliver(api, "products/update", {**bare, "title": "Renamed", "updated_at": at(1)})

    async def renamed() -> bool:
        body = (await api.get(f"/events/{product['id']}")).json()
        return bool(body.get("title") == "Renamed")

    await eventually(renamed)
    assert (await api.get(f"/events/{product['id']}")).json()["subtitle"] == "Keep me"


async def inbox_settled(db: AsyncEngine, count: int) -> None:
    """Wait until `count` deliveries are in the inbox and none is pending."""

    async def settled() -> bool:
        async with db.connect() as conn:
            rows = (await conn.execute(select(WebhookDelivery.processed_at))).scalars().all()
        return len(rows) == count and all(rows)

    await eventually(settled)


@pytest.mark.parametrize("newer_first", [True, False])
async def test_equal_updated_at_is_broken_by_the_trigger_time(
    api: httpx.AsyncClient, db: AsyncEngine, newer_first: bool
) -> None:
    """Two updates within Shopify's one-second `updated_at`: the later trigger wins, also when
    an older delivery is retried after the newer one (the same for inventory levels)."""
    variant = make_variant(quantity=5)
    product = make_product(variants=[variant])
    await deliver(api, "products/create", product)
    triggered = [BASE_TIME + timedelta(hours=3, seconds=s) for s in (0.2, 0.7)]
    deliveries = [
        (
            "products/update",
            {**product, "title": title, "updated_at": at(3)},
            moment,
        )
        for title, moment in zip(("older", "newer"), triggered, strict=True)
    ] + [
        (
            "inventory_levels/update",
            {
                "inventory_item_id": variant["inventory_item_id"],
                "location_id": 1,
                "available": available,
                "updated_at": at(3),
            },
            moment,
        )
        for available, moment in zip((3, 7), triggered, strict=True)
    ]
    if newer_first:
        deliveries = deliveries[1::-1] + deliveries[:1:-1]
    for delivered, (topic, body, moment) in enumerate(deliveries, start=2):
        headers = {"X-Shopify-Triggered-At": moment.isoformat()}
        assert (await deliver(api, topic, body, headers=headers)).status_code == 200
        await inbox_settled(db, delivered)  # one at a time: arrival order is what is tested
    assert (await api.get(f"/events/{product['id']}")).json()["title"] == "newer"
    assert (await ticket(api, product))["available"] == 7


async def test_a_new_event_takes_the_currency_the_store_last_told(
    api: httpx.AsyncClient, db: AsyncEngine
) -> None:
    async with db.begin() as conn:
        await write_state(conn, name=SHOP, value={"currency_code": "SAR"})
    product = make_product()
    await deliver(api, "products/create", product)

    async def created() -> bool:
        return (await api.get(f"/events/{product['id']}")).status_code == 200

    await eventually(created)
    assert (await api.get(f"/events/{product['id']}")).json()["currency"] == "SAR"
