"""The order-line ledger behind `sold`.

sold = Σ line quantities of orders that are not cancelled − Σ their refunded quantities. Lines
are kept even when their variant is not mirrored yet, and counted once it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shababco.catalog.models import Ticket
from shababco.shopify.mirror.commerce import OrderRecord, RefundLineRecord
from shababco.shopify.mirror.sql import in_ids, saturated
from shababco.shopify.models import Order, OrderLine, RefundLine


def _moment(order: OrderRecord) -> datetime:
    return order.updated_at or order.cancelled_at or datetime.min.replace(tzinfo=UTC)


def _newest_per_order(orders: Iterable[OrderRecord]) -> list[OrderRecord]:
    """One record per order (the newest), so one statement never touches a row twice."""
    newest: dict[int, OrderRecord] = {}
    for order in orders:
        current = newest.get(order.order_id)
        if current is None or _moment(order) >= _moment(current):
            newest[order.order_id] = order
    return list(newest.values())


async def apply_orders(conn: AsyncConnection, orders: Sequence[OrderRecord]) -> set[int]:
    """Record orders, their lines and embedded refunds; returns the events whose sales moved."""
    if not orders:
        return set()
    batch = _newest_per_order(orders)
    statement = insert(Order).values(
        [
            {
                "shopify_order_id": o.order_id,
                "cancelled_at": o.cancelled_at,
                "shopify_updated_at": o.updated_at,
            }
            for o in batch
        ]
    )
    excluded = statement.excluded
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[Order.shopify_order_id],
            # An order is never un-cancelled: a late orders/create keeps the cancellation.
            set_={
                "cancelled_at": func.coalesce(Order.cancelled_at, excluded.cancelled_at),
                "shopify_updated_at": func.greatest(
                    Order.shopify_updated_at, excluded.shopify_updated_at
                ),
            },
        )
    )
    lines = [line for order in batch for line in order.lines]
    if lines:
        await conn.execute(
            insert(OrderLine)
            .values(
                [
                    {
                        "shopify_line_item_id": line.line_item_id,
                        "order_id": line.order_id,
                        "variant_id": line.variant_id,
                        "quantity": line.quantity,
                    }
                    for line in lines
                ]
            )
            .on_conflict_do_nothing()
        )
    refund_lines = [line for order in batch for line in order.refund_lines]
    await _insert_refund_lines(conn, refund_lines)
    variants = {line.variant_id for line in lines} | {r.variant_id for r in refund_lines}
    variants |= await _variants_of_orders(conn, [o.order_id for o in batch])
    return await refresh_sold(conn, variant_ids={v for v in variants if v is not None})


async def apply_refund_lines(
    conn: AsyncConnection, refund_lines: Sequence[RefundLineRecord]
) -> set[int]:
    """Record refunded quantities; returns the events whose sales moved."""
    await _insert_refund_lines(conn, refund_lines)
    variants = {r.variant_id for r in refund_lines if r.variant_id is not None}
    variants |= await _variants_of_lines(conn, [r.line_item_id for r in refund_lines])
    return await refresh_sold(conn, variant_ids=variants)


async def _insert_refund_lines(conn: AsyncConnection, lines: Sequence[RefundLineRecord]) -> None:
    if not lines:
        return
    await conn.execute(
        insert(RefundLine)
        .values(
            [
                {
                    "shopify_refund_line_item_id": line.refund_line_item_id,
                    "refund_id": line.refund_id,
                    "order_id": line.order_id,
                    "line_item_id": line.line_item_id,
                    "variant_id": line.variant_id,
                    "quantity": line.quantity,
                }
                for line in lines
            ]
        )
        .on_conflict_do_nothing()
    )


async def _variants_of_orders(conn: AsyncConnection, order_ids: list[int]) -> set[int]:
    rows = await conn.execute(
        select(OrderLine.variant_id).where(
            in_ids(OrderLine.order_id, order_ids), OrderLine.variant_id.is_not(None)
        )
    )
    return {variant for variant in rows.scalars() if variant is not None}


async def _variants_of_lines(conn: AsyncConnection, line_ids: list[int]) -> set[int]:
    rows = await conn.execute(
        select(OrderLine.variant_id).where(
            in_ids(OrderLine.shopify_line_item_id, line_ids), OrderLine.variant_id.is_not(None)
        )
    )
    return {variant for variant in rows.scalars() if variant is not None}


def _sold_expression() -> Any:
    """Σ ordered − Σ refunded for the ticket, over orders not cancelled (unknown ones count)."""
    ordered = (
        select(func.coalesce(func.sum(OrderLine.quantity), 0))
        .select_from(OrderLine)
        .outerjoin(Order, Order.shopify_order_id == OrderLine.order_id)
        .where(OrderLine.variant_id == Ticket.shopify_variant_id, Order.cancelled_at.is_(None))
        .scalar_subquery()
    )
    refunded = (
        select(func.coalesce(func.sum(RefundLine.quantity), 0))
        .select_from(RefundLine)
        .outerjoin(Order, Order.shopify_order_id == RefundLine.order_id)
        .outerjoin(OrderLine, OrderLine.shopify_line_item_id == RefundLine.line_item_id)
        .where(
            func.coalesce(RefundLine.variant_id, OrderLine.variant_id) == Ticket.shopify_variant_id,
            Order.cancelled_at.is_(None),
        )
        .scalar_subquery()
    )
    # A refund delivered before its order would make sold negative until the order arrives.
    return saturated(func.greatest(ordered - refunded, 0))


async def refresh_sold(
    conn: AsyncConnection,
    *,
    variant_ids: Iterable[int] | None = None,
    event_ids: Iterable[int] | None = None,
) -> set[int]:
    """Recompute `sold` of the given tickets from the ledger; returns their events' ids."""
    statement = update(Ticket).values(sold=_sold_expression()).returning(Ticket.event_id)
    if variant_ids is not None:
        statement = statement.where(in_ids(Ticket.shopify_variant_id, variant_ids))
    if event_ids is not None:
        statement = statement.where(in_ids(Ticket.event_id, event_ids))
    return set((await conn.execute(statement)).scalars())
