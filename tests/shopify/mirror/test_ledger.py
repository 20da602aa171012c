"""The order-line ledger: sold = ordered − refunded over orders not cancelled (invariant 2)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.catalog.models import Ticket
from shababco.shopify.mirror.commerce import LineRecord, OrderRecord, RefundLineRecord
from shababco.shopify.mirror.ledger import apply_orders, apply_refund_lines
from tests.support.data import load_products
from tests.support.factories import make_product, make_variant, next_id


async def sold(engine: AsyncEngine, variant_id: int) -> int:
    async with engine.connect() as conn:
        value = await conn.scalar(
            select(Ticket.sold).where(Ticket.shopify_variant_id == variant_id)
        )
    return int(value or 0)


async def test_a_refund_known_by_two_ids_counts_once(db: AsyncEngine) -> None:
    variant = make_variant()
    await load_products(db, make_product(variants=[variant]))
    order_id, line_id, refund_id = next_id(), next_id(), next_id()
    order = OrderRecord(
        order_id=order_id,
        updated_at=None,
        cancelled_at=None,
        lines=[LineRecord(line_id, order_id, variant["id"], 3)],
        refund_lines=[],
    )

    def refund_line(refund_line_id: int) -> RefundLineRecord:
        return RefundLineRecord(refund_line_id, refund_id, order_id, line_id, variant["id"], 1)

    async with db.begin() as conn:
        await apply_orders(conn, [order])
        # Sync stood in a negative id where the API gave none; the webhook has the real one.
        await apply_refund_lines(conn, [refund_line(-line_id)])
        await apply_refund_lines(conn, [refund_line(next_id())])
    assert await sold(db, variant["id"]) == 2
