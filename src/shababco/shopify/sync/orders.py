"""Orders from the GraphQL Admin API into the ledger (`sold`)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from shababco.catalog.models import Ticket
from shababco.shopify.admin.client import ShopifyClient, ShopifyError
from shababco.shopify.admin.documents import (
    ORDER_LINES,
    ORDER_REFUNDS,
    ORDERS_PAGE,
    ORDERS_PAGE_SIZE,
)
from shababco.shopify.mirror.commerce import LineRecord, OrderRecord, RefundLineRecord
from shababco.shopify.mirror.ledger import apply_orders
from shababco.shopify.mirror.sql import in_ids
from shababco.shopify.models import RefundLine
from shababco.shopify.payloads import nodes, optional_id, optional_timestamp, parse_id


@dataclass
class OrderPage:
    orders: list[OrderRecord]
    end_cursor: str | None
    has_next: bool


def refund_line_id(refund_id: int, line_item_id: int) -> int:
    """A stable stand-in id for a refund line when Shopify gives none (the field is nullable).

    Negative, so it never collides with a real id from a refunds/create webhook.
    """
    digest = hashlib.sha256(f"{refund_id}:{line_item_id}".encode()).digest()
    return -(int.from_bytes(digest[:8], "big") >> 2) - 1


def order_record(node: dict[str, Any]) -> OrderRecord:
    """An OrderRecord from an order node with whole `lineItems` and `refunds`."""
    order_id = parse_id(node["id"], field="order id")
    lines = [
        LineRecord(
            line_item_id=parse_id(line["id"], field="line item id"),
            order_id=order_id,
            variant_id=optional_id((line.get("variant") or {}).get("id"), field="variant id"),
            quantity=int(line["quantity"]),
        )
        for line in nodes(node.get("lineItems"))
    ]
    refund_lines = []
    for refund in node.get("refunds") or []:
        refund_id = parse_id(refund["id"], field="refund id")
        for item in nodes(refund.get("refundLineItems")):
            line_item = item.get("lineItem") or {}
            line_item_id = parse_id(line_item.get("id"), field="refund line item")
            own_id = item.get("id")
            refund_lines.append(
                RefundLineRecord(
                    refund_line_item_id=(
                        parse_id(own_id) if own_id else refund_line_id(refund_id, line_item_id)
                    ),
                    refund_id=refund_id,
                    order_id=order_id,
                    line_item_id=line_item_id,
                    variant_id=optional_id(
                        (line_item.get("variant") or {}).get("id"), field="variant id"
                    ),
                    quantity=int(item["quantity"]),
                )
            )
    return OrderRecord(
        order_id=order_id,
        updated_at=optional_timestamp(node.get("updatedAt"), field="updatedAt"),
        cancelled_at=optional_timestamp(node.get("cancelledAt"), field="cancelledAt"),
        lines=lines,
        refund_lines=refund_lines,
    )


def _overflows(connection: Any) -> bool:
    return isinstance(connection, dict) and bool(
        (connection.get("pageInfo") or {}).get("hasNextPage")
    )


async def complete_order(client: ShopifyClient, node: dict[str, Any]) -> dict[str, Any]:
    """The order with all its line items and refund lines, fetched again if a page overflowed."""
    if _overflows(node.get("lineItems")):
        lines: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            data = await client.query(ORDER_LINES, {"id": node["id"], "after": after})
            page = data["order"]["lineItems"]
            lines.extend(page["nodes"])
            if not page["pageInfo"].get("hasNextPage"):
                break
            after = page["pageInfo"]["endCursor"]
        node = {**node, "lineItems": {"nodes": lines}}
    if any(_overflows(r.get("refundLineItems")) for r in node.get("refunds") or []):
        refunds = (await client.query(ORDER_REFUNDS, {"id": node["id"]}))["order"]["refunds"]
        if any(_overflows(r.get("refundLineItems")) for r in refunds):
            raise ShopifyError(f"order {node['id']} has a refund with more than 250 lines")
        node = {**node, "refunds": refunds}
    return node


async def order_pages(
    client: ShopifyClient, *, after: str | None = None, query: str | None = None
) -> AsyncIterator[OrderPage]:
    """Pages of orders (oldest update first) as ledger records."""
    while True:
        variables = {"first": ORDERS_PAGE_SIZE, "after": after, "query": query}
        connection = (await client.query(ORDERS_PAGE, variables))["orders"]
        records = [order_record(await complete_order(client, n)) for n in connection["nodes"]]
        info = connection["pageInfo"]
        yield OrderPage(records, info.get("endCursor"), bool(info.get("hasNextPage")))
        if not info.get("hasNextPage"):
            return
        after = info["endCursor"]


async def _known_refund_lines(
    conn: AsyncConnection, orders: Sequence[OrderRecord]
) -> set[tuple[int, int]]:
    keys = {(r.refund_id, r.line_item_id) for o in orders for r in o.refund_lines}
    if not keys:
        return set()
    rows = await conn.execute(
        select(RefundLine.refund_id, RefundLine.line_item_id).where(
            tuple_(RefundLine.refund_id, RefundLine.line_item_id).in_(keys)
        )
    )
    return {(row.refund_id, row.line_item_id) for row in rows}


async def _sold(conn: AsyncConnection, variant_ids: set[int]) -> dict[int, int]:
    rows = await conn.execute(
        select(Ticket.shopify_variant_id, Ticket.sold).where(
            in_ids(Ticket.shopify_variant_id, variant_ids)
        )
    )
    return {row.shopify_variant_id: row.sold for row in rows}


async def apply_order_batch(
    conn: AsyncConnection, *, orders: Sequence[OrderRecord]
) -> tuple[set[int], int]:
    """Apply orders to the ledger; returns (events whose sales moved, tickets whose sold changed).

    A refund line already recorded (by a refunds/create webhook, under its real id) is not
    recorded again under a stand-in id.
    """
    known = await _known_refund_lines(conn, orders)
    batch = [
        OrderRecord(
            o.order_id,
            o.updated_at,
            o.cancelled_at,
            o.lines,
            [r for r in o.refund_lines if (r.refund_id, r.line_item_id) not in known],
        )
        for o in orders
    ]
    variants = {line.variant_id for o in batch for line in o.lines if line.variant_id}
    before = await _sold(conn, variants)
    events = await apply_orders(conn, batch)
    after = await _sold(conn, variants)
    return events, sum(1 for v, sold in after.items() if before.get(v) != sold)
