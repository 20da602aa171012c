"""The store's true state, in a comparable JSON shape (ids as strings, money as strings)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from shababco.simulator.models import Metafield, Product, Variant, graphql_time, money
from shababco.simulator.store import Store


def sold_by_variant(store: Store) -> Counter[int]:
    """Σ line quantities of non-cancelled orders minus refunded quantities, per variant."""
    sold: Counter[int] = Counter()
    for order in store.orders.values():
        if order.cancelled_at is not None:
            continue
        lines = {line.id: line for line in order.line_items}
        for line in order.line_items:
            if line.variant_id is not None:
                sold[line.variant_id] += line.quantity
        for refund in order.refunds:
            for refund_line in refund.line_items:
                variant_id = lines[refund_line.line_item_id].variant_id
                if variant_id is not None:
                    sold[variant_id] -= refund_line.quantity
    return sold


def _metafields(fields: dict[tuple[str, str], Metafield]) -> list[dict[str, str]]:
    return [
        {"namespace": m.namespace, "key": m.key, "type": m.type, "value": m.value}
        for m in sorted(fields.values(), key=lambda m: (m.namespace, m.key))
    ]


def _ticket(variant: Variant, sold: Counter[int]) -> dict[str, Any]:
    return {
        "id": str(variant.id),
        "title": variant.title,
        "position": variant.position,
        "price": money(variant.price),
        "compare_at_price": money(variant.compare_at_price),
        "sku": variant.sku,
        "inventory_item_id": str(variant.inventory_item_id),
        "metafields": _metafields(variant.metafields),
        "levels": [
            {
                "location_id": str(level.location_id),
                "available": level.available,
                "updated_at": graphql_time(level.updated_at),
            }
            for level in sorted(variant.levels.values(), key=lambda lv: lv.location_id)
        ],
        "available": variant.available,
        "sold": sold[variant.id],
    }


def _event(product: Product, sold: Counter[int]) -> dict[str, Any]:
    return {
        "id": str(product.id),
        "handle": product.handle,
        "title": product.title,
        "status": product.status,
        "product_type": product.product_type,
        "vendor": product.vendor,
        "tags": list(product.tags),
        "description_html": product.description_html,
        "created_at": graphql_time(product.created_at),
        "updated_at": graphql_time(product.updated_at),
        "metafields": _metafields(product.metafields),
        "images": [
            {
                "url": i.url,
                "alt": i.alt,
                "width": i.width,
                "height": i.height,
                "position": i.position,
            }
            for i in product.images
        ],
        "tickets": [_ticket(variant, sold) for variant in product.variants],
    }


def export_state(store: Store) -> dict[str, Any]:
    """Everything a mirror of this store should equal."""
    sold = sold_by_variant(store)
    return {
        "shop": {"domain": store.shop_domain, "name": store.shop_name, "currency": store.currency},
        "events": [_event(p, sold) for p in sorted(store.products.values(), key=lambda p: p.id)],
        "deleted_event_ids": [str(product_id) for product_id in store.deleted_product_ids],
        "locations": [
            {"id": str(loc.id), "name": loc.name, "city": loc.city}
            for loc in store.locations.values()
        ],
        "orders": [
            {
                "id": str(o.id),
                "name": o.name,
                "cancelled": o.cancelled_at is not None,
                "lines": [
                    {"variant_id": str(li.variant_id), "quantity": li.quantity}
                    for li in o.line_items
                ],
                "refunded": [
                    {"line_item_id": str(rl.line_item_id), "quantity": rl.quantity}
                    for r in o.refunds
                    for rl in r.line_items
                ],
            }
            for o in store.orders.values()
        ],
    }
