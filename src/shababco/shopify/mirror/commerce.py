"""Normalizers of the commerce payloads: orders, refunds and inventory levels (REST-shaped).

Each payload also has its `*_facts`: the part of it the normalizer reads. The inbox stores only
that, so the customer data an order carries (e-mail, name, addresses, phone, note) is never
written anywhere: the ledger needs ids, timestamps and quantities.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shababco.shopify.mirror.products import InventoryLevelRecord
from shababco.shopify.payloads import (
    PayloadError,
    first_present,
    nodes,
    optional_id,
    optional_int,
    optional_timestamp,
    parse_id,
    parse_timestamp,
)


@dataclass(frozen=True)
class LineRecord:
    line_item_id: int
    order_id: int
    variant_id: int | None
    quantity: int


@dataclass(frozen=True)
class RefundLineRecord:
    refund_line_item_id: int
    refund_id: int
    order_id: int
    line_item_id: int
    variant_id: int | None
    quantity: int


@dataclass(frozen=True)
class OrderRecord:
    order_id: int
    updated_at: datetime | None
    cancelled_at: datetime | None
    lines: list[LineRecord]
    refund_lines: list[RefundLineRecord]


def _object(payload: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping):
        raise PayloadError(f"{what} must be a JSON object")
    return payload


def _quantity(value: Any, field: str) -> int:
    quantity = optional_int(value, field=field, low=0)
    if quantity is None:
        raise PayloadError(f"{field} must be a non-negative integer")
    return quantity


def _pick(item: Any, keys: tuple[str, ...]) -> Any:
    """The named keys of an object; anything else as it is (its normalizer refuses it)."""
    if not isinstance(item, Mapping):
        return item
    return {key: item[key] for key in keys if key in item}


def _picked_list(payload: Mapping[str, Any], key: str, pick: Any) -> dict[str, Any]:
    return {key: [pick(item) for item in nodes(payload[key])]} if key in payload else {}


def order_facts(payload: Any) -> Any:
    """What the ledger reads of an order: ids, timestamps, line quantities, embedded refunds."""
    if not isinstance(payload, Mapping):
        return payload
    return {
        **_pick(payload, ("id", "updated_at", "cancelled_at")),
        **_picked_list(payload, "line_items", lambda line: _pick(line, LINE_KEYS)),
        **_picked_list(payload, "refunds", refund_facts),
    }


def refund_facts(payload: Any) -> Any:
    """What the ledger reads of a refund: its ids and refunded quantities."""
    if not isinstance(payload, Mapping):
        return payload
    return {
        **_pick(payload, ("id", "order_id")),
        **_picked_list(payload, "refund_line_items", _refund_line_facts),
    }


def _refund_line_facts(item: Mapping[str, Any]) -> dict[str, Any]:
    facts = _pick(item, ("id", "line_item_id", "quantity"))
    if "line_item" in item:
        facts["line_item"] = _pick(item["line_item"], LINE_KEYS)
    return dict(facts)


def level_facts(payload: Any) -> Any:
    return _pick(payload, ("inventory_item_id", "location_id", "available", "updated_at"))


def deletion_facts(payload: Any) -> Any:
    return _pick(payload, ("id",))


LINE_KEYS = ("id", "variant_id", "quantity")


def normalize_order(payload: Any) -> OrderRecord:
    """An order's id, lifecycle timestamps, line items and any refunds it embeds."""
    order = _object(payload, "an order")
    order_id = parse_id(order.get("id"), field="order id")
    lines = [
        LineRecord(
            line_item_id=parse_id(line.get("id"), field="line item id"),
            order_id=order_id,
            variant_id=optional_id(line.get("variant_id"), field="variant_id"),
            quantity=_quantity(line.get("quantity"), "line item quantity"),
        )
        for line in nodes(order.get("line_items"))
    ]
    refund_lines = [
        line
        for refund in nodes(order.get("refunds"))
        for line in _refund_lines({**refund, "order_id": refund.get("order_id", order_id)})
    ]
    return OrderRecord(
        order_id=order_id,
        updated_at=optional_timestamp(order.get("updated_at"), field="updated_at"),
        cancelled_at=optional_timestamp(order.get("cancelled_at"), field="cancelled_at"),
        lines=lines,
        refund_lines=refund_lines,
    )


def normalize_refund(payload: Any) -> list[RefundLineRecord]:
    """The refunded quantities of a refunds/create payload."""
    return _refund_lines(_object(payload, "a refund"))


def _refund_lines(refund: Mapping[str, Any]) -> list[RefundLineRecord]:
    refund_id = parse_id(refund.get("id"), field="refund id")
    order_id = parse_id(refund.get("order_id"), field="refund order_id")
    result = []
    for item in nodes(refund.get("refund_line_items")):
        nested = item.get("line_item")
        line_item: Mapping[str, Any] = nested if isinstance(nested, Mapping) else {}
        result.append(
            RefundLineRecord(
                refund_line_item_id=parse_id(item.get("id"), field="refund line item id"),
                refund_id=refund_id,
                order_id=order_id,
                line_item_id=parse_id(
                    first_present(item, "line_item_id")[1] or line_item.get("id"),
                    field="refund line_item_id",
                ),
                variant_id=optional_id(line_item.get("variant_id"), field="variant_id"),
                quantity=_quantity(item.get("quantity"), "refund quantity"),
            )
        )
    return result


def normalize_inventory_level(
    payload: Any, *, triggered_at: datetime | None
) -> InventoryLevelRecord:
    """An inventory_levels/update payload; without `updated_at` the delivery's trigger time."""
    level = _object(payload, "an inventory level")
    available = optional_int(level.get("available"), field="available")
    updated = level.get("updated_at")
    return InventoryLevelRecord(
        inventory_item_id=parse_id(level.get("inventory_item_id"), field="inventory_item_id"),
        location_id=parse_id(level.get("location_id"), field="location_id"),
        available=available or 0,
        updated_at=parse_timestamp(updated, field="updated_at")
        if updated is not None or triggered_at is None
        else triggered_at,
        triggered_at=triggered_at,
    )


def normalize_deletion(payload: Any) -> int:
    """The product id of a products/delete payload (`{"id": …}`)."""
    return parse_id(_object(payload, "a deletion").get("id"), field="id")
