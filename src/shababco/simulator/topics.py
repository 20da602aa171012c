"""Webhook topics: REST names, GraphQL enum names, and the body each one carries."""

from __future__ import annotations

from typing import Any

import orjson

from shababco.simulator.models import (
    BulkOperation,
    InventoryLevel,
    Order,
    Product,
    Refund,
    gid,
    rest_time,
)
from shababco.simulator.payloads import inventory_level_body, product_body
from shababco.simulator.payloads_orders import order_body, refund_body
from shababco.simulator.store import Store

TOPICS = (
    "products/create",
    "products/update",
    "products/delete",
    "orders/create",
    "orders/cancelled",
    "inventory_levels/update",
    "refunds/create",
    "bulk_operations/finish",
)


def topic_enum(topic: str) -> str:
    """`products/update` -> `PRODUCTS_UPDATE`."""
    return topic.upper().replace("/", "_")


def topic_name(enum: str) -> str:
    """`PRODUCTS_UPDATE` -> `products/update`."""
    return next(topic for topic in TOPICS if topic_enum(topic) == enum)


def render(
    store: Store, topic: str, subject: object, namespaces: tuple[str, ...]
) -> dict[str, Any]:
    """The body Shopify sends for `topic` about `subject`."""
    if topic == "products/delete":
        assert isinstance(subject, Product)
        return {"id": subject.id}
    if isinstance(subject, Product):
        return product_body(subject, namespaces)
    if isinstance(subject, InventoryLevel):
        return inventory_level_body(subject)
    if isinstance(subject, Order):
        return order_body(store, subject)
    if isinstance(subject, Refund):
        return refund_body(store, subject)
    if isinstance(subject, BulkOperation):
        return {
            "admin_graphql_api_id": gid("BulkOperation", subject.id),
            "completed_at": rest_time(subject.completed_at),
            "created_at": rest_time(subject.created_at),
            "error_code": subject.error_code.lower() if subject.error_code else None,
            "status": subject.status.lower(),
            "type": "query",
        }
    raise TypeError(f"no webhook body for {topic} about {type(subject).__name__}")


def encode(body: dict[str, Any]) -> bytes:
    """Serialize like Shopify: compact UTF-8 JSON with '/' escaped as '\\/'."""
    # '/' can only occur inside JSON strings, where '\/' is a legal escape.
    return orjson.dumps(body).replace(b"/", b"\\/")


def resource_header(topic: str, subject: object) -> dict[str, str]:
    """The per-resource header Shopify adds, such as X-Shopify-Product-Id."""
    if isinstance(subject, Product):
        return {"X-Shopify-Product-Id": str(subject.id)}
    if isinstance(subject, Order):
        return {"X-Shopify-Order-Id": str(subject.id)}
    return {}
