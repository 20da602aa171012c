"""Checking an order against the mirror and building Shopify's cart permalink for it.

Nothing is reserved: the check says the tickets were there a moment ago, and Shopify's checkout,
which the permalink opens, stays the authority on what can be bought. A ticket can be ordered when
it exists, is visible, and its event is listed (active, not deleted); each line's quantity is at
most the ticket's `ticket.max_per_order` metafield (else CHECKOUT_MAX_PER_LINE) and at most what
is available. Lines naming the same ticket are merged first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, Select, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from shababco.catalog.columns import listed
from shababco.catalog.models import Event, Ticket
from shababco.catalog.schemas import money
from shababco.sale.schemas import CheckoutLine


@dataclass(frozen=True, slots=True)
class Orderable:
    """A ticket that can be ordered, as the mirror has it now."""

    ticket_id: int
    event_id: int
    name: str
    price: Decimal
    available: int
    max_per_order: int | None


class Refusal(Exception):
    """The order cannot go to checkout: a status, a code and one detail per offending line."""

    def __init__(self, status: int, code: str, message: str, details: list[dict[str, Any]]):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def merged(lines: Iterable[CheckoutLine]) -> dict[int, int]:
    """Quantity per ticket id, lines of one ticket added up, in the order first named."""
    quantities: dict[int, int] = {}
    for line in lines:
        ticket_id = int(line.ticket_id)
        quantities[ticket_id] = quantities.get(ticket_id, 0) + line.quantity
    return quantities


@lru_cache(maxsize=1)
def _orderable_statement() -> Select[Any]:
    return (
        select(
            Ticket.shopify_variant_id,
            Ticket.event_id,
            Ticket.name,
            Ticket.price,
            Ticket.available,
            Ticket.metafields["ticket"]["max_per_order"].label("max_per_order"),
        )
        .join(Event, Event.shopify_product_id == Ticket.event_id)
        .where(
            Ticket.shopify_variant_id == bindparam("ids", type_=ARRAY(BigInteger())).any_(),
            Ticket.is_visible,
            listed(),
        )
    )


def _limit(value: Any) -> int | None:
    """A `max_per_order` metafield as a positive whole number, None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return value if isinstance(value, int) and value >= 1 else None


async def orderable(conn: AsyncConnection, ticket_ids: Iterable[int]) -> dict[int, Orderable]:
    """The tickets among `ticket_ids` that can be ordered, by id, in one statement."""
    rows = await conn.execute(_orderable_statement(), {"ids": sorted(set(ticket_ids))})
    return {
        row.shopify_variant_id: Orderable(
            ticket_id=row.shopify_variant_id,
            event_id=row.event_id,
            name=row.name,
            price=row.price,
            available=row.available,
            max_per_order=_limit(row.max_per_order),
        )
        for row in rows
    }


def check(
    quantities: dict[int, int], found: dict[int, Orderable], *, default_limit: int
) -> list[tuple[Orderable, int]]:
    """The order's lines, or a Refusal naming every line that fails the first failing rule:
    unknown or hidden tickets (404), then quantities over the limit (422), then short (409)."""
    unknown = [{"ticket_id": str(t)} for t in quantities if t not in found]
    if unknown:
        names = ", ".join(repr(detail["ticket_id"]) for detail in unknown)
        raise Refusal(404, "not_found", f"no ticket on sale: {names}", unknown)
    lines = [(found[ticket_id], quantity) for ticket_id, quantity in quantities.items()]
    over = [
        {"ticket_id": str(t.ticket_id), "requested": q, "max_per_order": limit}
        for t, q in lines
        if q > (limit := t.max_per_order or default_limit)
    ]
    if over:
        raise Refusal(422, "over_limit", "more tickets than one order may hold", over)
    short = [
        {"ticket_id": str(t.ticket_id), "requested": q, "available": max(t.available, 0)}
        for t, q in lines
        if t.available < q
    ]
    if short:
        raise Refusal(409, "unavailable", "not enough tickets left", short)
    return lines


def cart_url(storefront: str, lines: Iterable[tuple[Orderable, int]]) -> str:
    """Shopify's cart permalink: `/cart/<variant id>:<quantity>,…` opens checkout with them."""
    return f"{storefront}/cart/" + ",".join(f"{t.ticket_id}:{q}" for t, q in lines)


def item(ticket: Orderable, quantity: int) -> dict[str, Any]:
    return {
        "ticket_id": str(ticket.ticket_id),
        "event_id": str(ticket.event_id),
        "name": ticket.name,
        "price": money(ticket.price),
        "quantity": quantity,
        "available": ticket.available,
    }
