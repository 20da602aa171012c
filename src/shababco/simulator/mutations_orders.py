"""Order mutations: orderCreate, orderCancel, refundCreate, and the inventory they move."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from shababco.simulator.context import ExecContext, Resolver
from shababco.simulator.models import (
    InventoryLevel,
    LineItem,
    Order,
    Refund,
    RefundLineItem,
    Variant,
    parse_gid,
)
from shababco.simulator.resolvers_admin import refunded_quantity
from shababco.simulator.userrors import parse_money, user_error

CLAIMING_BEHAVIOURS = {"DECREMENT_IGNORING_POLICY", "DECREMENT_OBEYING_POLICY"}
RESTOCKING_TYPES = {"return", "cancel", "legacy_restock"}


def order_create(_: Any, args: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    """orderCreate: record a sale; claims stock unless `inventoryBehaviour` is BYPASS (default)."""
    data, options = args["order"], args.get("options") or {}
    behaviour = options.get("inventoryBehaviour") or "BYPASS"
    lines: list[LineItem] = []
    for index, row in enumerate(data.get("lineItems") or []):
        line = _line_item(ctx, row)
        if isinstance(line, str):
            return {
                "order": None,
                "userErrors": [user_error(["order", "lineItems", str(index)], line, "INVALID")],
            }
        lines.append(line)
    if not lines:
        return {
            "order": None,
            "userErrors": [
                user_error(["order", "lineItems"], "Line items can't be blank", "BLANK")
            ],
        }
    if behaviour == "DECREMENT_OBEYING_POLICY":
        short = _first_short_line(ctx, lines)
        if short is not None:
            message = f"Unable to reserve inventory for {short.title}: not enough available."
            return {
                "order": None,
                "userErrors": [
                    user_error(["order", "lineItems"], message, "INVENTORY_CLAIM_FAILED")
                ],
            }
    store, moment = ctx.store, ctx.store.now()
    order = Order(
        id=store.ids.next("order"),
        number=1000 + len(store.orders) + 1,
        email=data.get("email"),
        created_at=moment,
        updated_at=moment,
        line_items=lines,
        financial_status=(data.get("financialStatus") or "PAID").lower(),
        note=data.get("note"),
        tags=list(data.get("tags") or []),
    )
    store.orders[order.id] = order
    touched = _claim(ctx, lines) if behaviour in CLAIMING_BEHAVIOURS else []
    store.emit("orders/create", order)
    for level in touched:
        store.emit("inventory_levels/update", level)
    return {"order": order, "userErrors": []}


def _line_item(ctx: ExecContext, row: dict[str, Any]) -> LineItem | str:
    variant = ctx.store.variants.get(parse_gid(row.get("variantId") or "", "ProductVariant") or 0)
    if row.get("variantId") and variant is None:
        return "Variant does not exist"
    if row["quantity"] < 1:
        return "Quantity must be greater than or equal to 1"
    price_set = (row.get("priceSet") or {}).get("shopMoney") or {}
    price = parse_money(price_set["amount"]) if price_set.get("amount") is not None else None
    if variant is None:
        title = row.get("title") or "Custom item"
        return LineItem(
            ctx.store.ids.next("line_item"),
            None,
            None,
            title,
            None,
            row.get("sku"),
            row["quantity"],
            price if price is not None else Decimal("0.00"),
        )
    product = ctx.store.products[variant.product_id]
    return LineItem(
        id=ctx.store.ids.next("line_item"),
        variant_id=variant.id,
        product_id=product.id,
        title=product.title,
        variant_title=variant.title,
        sku=variant.sku,
        quantity=row["quantity"],
        price=price if price is not None else variant.price,
    )


def _first_short_line(ctx: ExecContext, lines: list[LineItem]) -> LineItem | None:
    for line in lines:
        variant = ctx.store.variants.get(line.variant_id or 0)
        if (
            variant is not None
            and variant.inventory_policy == "deny"
            and variant.available < line.quantity
        ):
            return line
    return None


def _claim(ctx: ExecContext, lines: list[LineItem]) -> list[InventoryLevel]:
    """Take each line's quantity from the locations holding the most stock first."""
    touched = []
    for line in lines:
        variant = ctx.store.variants.get(line.variant_id or 0)
        if variant is None or not variant.levels:
            continue
        remaining = line.quantity
        for level in sorted(
            variant.levels.values(), key=lambda lv: (-lv.available, lv.location_id)
        ):
            take = min(remaining, max(level.available, 0))
            if take == 0:
                continue
            line.claimed[level.location_id] = take
            touched.append(
                ctx.store.set_available(variant, level.location_id, level.available - take)
            )
            remaining -= take
            if remaining == 0:
                break
        if remaining:  # Ignoring the policy: the first location goes negative.
            location_id = min(variant.levels)
            line.claimed[location_id] = line.claimed.get(location_id, 0) + remaining
            level = variant.levels[location_id]
            touched.append(
                ctx.store.set_available(variant, location_id, level.available - remaining)
            )
    return touched


def _restock(ctx: ExecContext, variant: Variant, location_id: int, quantity: int) -> InventoryLevel:
    current = variant.levels[location_id].available if location_id in variant.levels else 0
    return ctx.store.set_available(variant, location_id, current + quantity)


def order_cancel(_: Any, args: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    """orderCancel: cancel (and optionally restock); fires orders/cancelled."""
    order = ctx.store.orders.get(parse_gid(args["orderId"], "Order") or 0)
    if order is None or order.cancelled_at is not None:
        message = "Order does not exist" if order is None else "Order has already been cancelled"
        error = user_error(["orderId"], message, "INVALID")
        return {"job": None, "orderCancelUserErrors": [error], "userErrors": [error]}
    order.cancelled_at = order.updated_at = ctx.store.now()
    order.cancel_reason = args["reason"].lower()
    order.financial_status = "refunded" if args.get("refund") else "voided"
    touched = []
    if args["restock"]:
        for line in order.line_items:
            variant = ctx.store.variants.get(line.variant_id or 0)
            remaining = line.quantity - _restocked_quantity(order, line)
            if variant is None or remaining <= 0:
                continue
            location_id = next(iter(line.claimed), None) or min(
                variant.levels or ctx.store.locations
            )
            touched.append(_restock(ctx, variant, location_id, remaining))
    ctx.store.emit("orders/cancelled", order)
    for level in touched:
        ctx.store.emit("inventory_levels/update", level)
    job = {"id": f"gid://shopify/Job/{uuid.uuid4()}", "done": True}
    return {"job": job, "orderCancelUserErrors": [], "userErrors": []}


def _restocked_quantity(order: Order, line: LineItem) -> int:
    return sum(
        refund_line.quantity
        for refund in order.refunds
        for refund_line in refund.line_items
        if refund_line.line_item_id == line.id and refund_line.restock_type in RESTOCKING_TYPES
    )


def refund_create(_: Any, args: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    """refundCreate: refund line quantities, restocking when asked; fires refunds/create."""
    data = args["input"]
    order = ctx.store.orders.get(parse_gid(data["orderId"], "Order") or 0)
    if order is None:
        return {
            "refund": None,
            "order": None,
            "userErrors": [user_error(["orderId"], "Order does not exist")],
        }
    lines = {line.id: line for line in order.line_items}
    refund_lines: list[RefundLineItem] = []
    for index, row in enumerate(data.get("refundLineItems") or []):
        line = lines.get(parse_gid(row["lineItemId"], "LineItem") or 0)
        if line is None or row["quantity"] > line.quantity - refunded_quantity(order, line):
            message = (
                "Line item does not exist"
                if line is None
                else "Quantity cannot refund more items than were purchased"
            )
            return {
                "refund": None,
                "order": None,
                "userErrors": [user_error(["refundLineItems", str(index)], message)],
            }
        location_id = parse_gid(row.get("locationId") or "", "Location") or next(
            iter(line.claimed), None
        )
        restock_type = (row.get("restockType") or "NO_RESTOCK").lower()
        refund_lines.append(
            RefundLineItem(
                ctx.store.ids.next("refund_line_item"),
                line.id,
                row["quantity"],
                restock_type,
                location_id,
            )
        )
    refund = Refund(
        ctx.store.ids.next("refund"), order.id, data.get("note"), ctx.store.now(), refund_lines
    )
    order.refunds.append(refund)
    order.updated_at = refund.created_at
    ctx.store.refunds[refund.id] = refund
    order.financial_status = (
        "refunded"
        if all(refunded_quantity(order, line) >= line.quantity for line in order.line_items)
        else "partially_refunded"
    )
    touched = [
        _restock(
            ctx,
            ctx.store.variants[lines[rl.line_item_id].variant_id or 0],
            rl.location_id or min(ctx.store.locations),
            rl.quantity,
        )
        for rl in refund_lines
        if rl.restock_type in RESTOCKING_TYPES
        and lines[rl.line_item_id].variant_id in ctx.store.variants
    ]
    ctx.store.emit("refunds/create", refund)
    for level in touched:
        ctx.store.emit("inventory_levels/update", level)
    return {"refund": refund, "order": order, "userErrors": []}


ORDER_MUTATIONS: dict[str, Resolver] = {
    "orderCreate": order_create,
    "orderCancel": order_cancel,
    "refundCreate": refund_create,
}
