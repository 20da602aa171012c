"""Builders of REST-shaped Shopify products (as webhooks carry them) for tests."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

_ids = itertools.count(9_007_199_254_740_993)  # above 2**53: JavaScript numbers would round
BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)


def next_id() -> int:
    return next(_ids)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def metafield(namespace: str, key: str, value: Any, kind: str) -> dict[str, Any]:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if kind == "boolean":
        text = "true" if value else "false"
    return {"namespace": namespace, "key": key, "value": text, "type": kind}


def make_variant(
    *,
    title: str = "General admission",
    price: str = "25",
    compare_at_price: str | None = None,
    quantity: int = 100,
    position: int = 1,
    metafields: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    variant_id = next_id()
    variant: dict[str, Any] = {
        "id": variant_id,
        "title": title,
        "price": price,
        "compare_at_price": compare_at_price,
        "position": position,
        "option1": title,
        "sku": f"SKU-{variant_id}",
        "inventory_item_id": next_id(),
        "inventory_quantity": quantity,
        "updated_at": iso(BASE_TIME),
    }
    if metafields is not None:
        variant["metafields"] = metafields
    return variant


def make_product(
    *,
    title: str = "Jazz Night",
    status: str = "active",
    category: str | None = "Concerts",
    tags: str = "music, live",
    body_html: str = "<p>An evening of <b>jazz</b>.</p>",
    start: datetime | None = BASE_TIME + timedelta(days=30),
    subtitle: str | None = "Live on stage",
    venue: dict[str, Any] | None = None,
    variants: list[dict[str, Any]] | None = None,
    updated_at: datetime = BASE_TIME,
    with_metafields: bool = True,
    handle: str | None = None,
    product_id: int | None = None,
) -> dict[str, Any]:
    product_id = product_id or next_id()
    product: dict[str, Any] = {
        "id": product_id,
        "title": title,
        "handle": handle or f"event-{product_id}",
        "body_html": body_html,
        "product_type": category or "",
        "tags": tags,
        "status": status,
        "created_at": iso(BASE_TIME - timedelta(days=1)),
        "updated_at": iso(updated_at),
        "variants": variants if variants is not None else [make_variant()],
        "images": [
            {
                "src": f"https://cdn.example.com/{product_id}.jpg",
                "alt": title,
                "width": 800,
                "height": 600,
                "position": 1,
            }
        ],
    }
    if with_metafields:
        fields = (
            [metafield("event", "subtitle", subtitle, "single_line_text_field")] if subtitle else []
        )
        if start is not None:
            fields += [
                metafield("event", "start_date", iso(start), "date_time"),
                metafield("event", "end_date", iso(start + timedelta(hours=3)), "date_time"),
            ]
        fields.append(
            metafield("event", "venue", venue or {"name": "Blue Hall", "city": "Riyadh"}, "json")
        )
        product["metafields"] = fields
    return product
