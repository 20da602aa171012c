"""Signed deliveries whose content the mirror cannot take: refused with a 422 naming the problem
and storing nothing, or kept as far as storable and applied; never a 5xx."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.catalog.models import Event
from shababco.shopify.models import WebhookDelivery
from tests.support.data import payload
from tests.support.factories import make_product, make_variant, next_id
from tests.support.webhook_client import deliver, eventually


def nested(depth: int) -> str:
    """JSON text nesting `depth` objects (json.dumps itself cannot write it: it recurses)."""
    return '{"a": ' * depth + "1" + "}" * depth


def with_raw(document: dict[str, Any], **raw: str) -> bytes:
    """The document's JSON with members whose values are given as JSON text."""
    members = "".join(f", {json.dumps(key)}: {text}" for key, text in raw.items())
    return (json.dumps(document)[:-1] + members + "}").encode()


def product_with(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    product = copy.deepcopy(make_product())
    change(product)
    return product


def order_of(variant_id: int, quantity: Any = 1, **fields: Any) -> dict[str, Any]:
    line = {"id": next_id(), "variant_id": variant_id, "quantity": quantity}
    return {"id": next_id(), "updated_at": "2026-01-01T10:00:00Z", "line_items": [line], **fields}


async def inbox_size(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(WebhookDelivery)) or 0)


REFUSED: list[tuple[str, str, dict[str, Any] | bytes, str]] = [
    (
        "body_html an object",
        "products/update",
        product_with(lambda p: p.update(body_html={"a": 1})),
        "body_html must be a string",
    ),
    (
        "nesting 1,000 deep",
        "products/update",
        with_raw(make_product(), extra=nested(1_000)),
        "nests deeper than 64",
    ),
    ("superscript two as id", "products/update", {**make_product(), "id": "²"}, "id"),
    ("5,000-digit id", "products/update", {**make_product(), "id": "9" * 5_000}, "id"),
    ("id beyond 2^63", "products/update", {**make_product(), "id": 2**63}, "out of range"),
    (
        "price 1e100000",
        "products/update",
        make_product(variants=[make_variant(price="1e100000")]),
        "price exceeds",
    ),
    (
        "quantity beyond 64 bits",
        "products/update",
        product_with(lambda p: p["variants"][0].update(inventory_quantity=2**64 - 1)),
        "inventory_quantity is out of range",
    ),
    (
        "position beyond 32 bits",
        "products/update",
        make_product(variants=[make_variant(position=2**31)]),
        "variant position is out of range",
    ),
    (
        "sku an object",
        "products/update",
        product_with(lambda p: p["variants"][0].update(sku={"code": 1})),
        "sku must be a string",
    ),
    (
        "handle past an index key",
        "products/update",
        {**make_product(), "handle": "h" * 3_000},
        "handle is longer than 255 characters",
    ),
    (
        "date out of range",
        "products/update",
        {**make_product(), "updated_at": "0001-01-01T00:00:00+14:00"},
        "updated_at is out of range",
    ),
    (
        "order line quantity beyond 64 bits",
        "orders/create",
        order_of(next_id(), quantity=2**63),
        "line item quantity is out of range",
    ),
    (
        "level location beyond 2^63",
        "inventory_levels/update",
        {"inventory_item_id": 1, "location_id": 2**63, "available": 1},
        "location_id is out of range",
    ),
    (
        "refund line id a float",
        "refunds/create",
        {"id": 1, "order_id": 2, "refund_line_items": [{"id": 1.5, "quantity": 1}]},
        "refund line item id",
    ),
]


@pytest.mark.parametrize(
    ("case", "topic", "body", "named"), REFUSED, ids=[case[0] for case in REFUSED]
)
async def test_content_the_mirror_cannot_take_is_refused_with_its_reason(
    api: httpx.AsyncClient,
    db: AsyncEngine,
    case: str,
    topic: str,
    body: dict[str, Any] | bytes,
    named: str,
) -> None:
    if isinstance(body, bytes):
        response = await deliver(api, topic, body=body)
    else:
        response = await deliver(api, topic, body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_payload"
    assert named in error["message"]
    assert len(error["message"]) < 200  # a value is quoted, not echoed whole
    assert await inbox_size(db) == 0


async def test_nul_in_product_text_is_dropped_and_the_product_applied(
    api: httpx.AsyncClient, db: AsyncEngine
) -> None:
    product = make_product(title="Jazz\x00 Night", tags="a\x00, b")
    product["body_html"] = "<p>gift\x00</p>"
    product["variants"][0]["sku"] = "SKU\x00-1"
    product["unread\x00"] = {"deeper\x00": ["x\x00"]}
    response = await deliver(api, "products/create", product)
    assert response.status_code == 200, response.text

    async def applied() -> bool:
        response = await api.get(f"/events/{product['id']}")
        return response.status_code == 200

    await eventually(applied)
    event = (await api.get(f"/events/{product['id']}")).json()
    assert (event["title"], event["tags"], event["description"]) == (
        "Jazz Night",
        ["a", "b"],
        "<p>gift</p>",
    )


async def test_an_order_is_stored_as_the_facts_the_ledger_needs(
    api: httpx.AsyncClient, db: AsyncEngine
) -> None:
    """Shopify's sample order with a NUL in its note and junk nested 1,000 deep: accepted, its
    customer data never stored, its quantities counted."""
    variant = make_variant(quantity=10)
    product = make_product(variants=[variant])
    await deliver(api, "products/create", product)
    order = payload("orders_create.shopify-sample.json")
    order.update(note="gift\x00", cancelled_at=None)  # Shopify's sample is a cancelled order
    order["line_items"][0].update(variant_id=variant["id"], quantity=3)
    response = await deliver(api, "orders/create", body=with_raw(order, junk=nested(1_000)))
    assert response.status_code == 200, response.text

    async def sold() -> bool:
        response = await api.get(f"/events/{product['id']}/tickets")
        tickets = response.json().get("items") if response.status_code == 200 else None
        return bool(tickets and tickets[0]["sold"] == 3)

    await eventually(sold)
    async with db.connect() as conn:
        stored = await conn.scalar(
            select(WebhookDelivery.payload).where(WebhookDelivery.topic == "orders/create")
        )
    assert stored is not None
    assert set(stored) == {"id", "updated_at", "cancelled_at", "line_items", "refunds"}
    assert set(stored["line_items"][0]) == {"id", "variant_id", "quantity"}
    text = json.dumps(stored)
    for private in ("jon@example.com", "Jon", "Smith", "phone", "address", "note", "gift"):
        assert private not in text


async def test_quantities_beyond_32_bits_are_stored_exactly(
    api: httpx.AsyncClient, db: AsyncEngine
) -> None:
    """Three ticket types of 999,999,999 (their total passes 2^31), a level of 5e9 and an order
    of 3e9: every write to the event used to fail once its total overflowed."""
    variants = [make_variant(title=f"T{n}", quantity=999_999_999) for n in range(3)]
    product = make_product(variants=variants)
    assert (await deliver(api, "products/create", product)).status_code == 200
    level = {
        "inventory_item_id": variants[0]["inventory_item_id"],
        "location_id": 1,
        "available": 5_000_000_000,
        "updated_at": "2026-01-02T00:00:00Z",
    }
    assert (await deliver(api, "inventory_levels/update", level)).status_code == 200
    order = order_of(variants[1]["id"], quantity=3_000_000_000)
    assert (await deliver(api, "orders/create", order)).status_code == 200

    expected = [(5_000_000_000, 0), (999_999_999, 3_000_000_000), (999_999_999, 0)]

    async def settled() -> bool:
        response = await api.get(f"/events/{product['id']}/tickets")
        items = response.json().get("items", []) if response.status_code == 200 else []
        return [(t["available"], t["sold"]) for t in items] == expected

    await eventually(settled)
    tickets = (await api.get(f"/events/{product['id']}/tickets")).json()["items"]
    assert tickets[1]["capacity"] == 3_999_999_999
    assert (await api.get(f"/events/{product['id']}")).json()["available"] == 6_999_999_998
    async with db.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(Event)) == 1
