"""What a live stream says: an event's availability, read from the mirror and encoded once.

An event is on sale while it is listed (active, not deleted): `on_sale_by_key` finds one by id or
handle, as the detail route does, and `states_of` reads several by id whatever their status, so
that a stream learns when its event left the sale. The same encoder serves both, so one state
gives the same bytes wherever it is read (a stream skips a message equal to its last).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, Row, Select, Text, and_, bindparam, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from shababco.catalog.columns import listed
from shababco.catalog.models import Event, Ticket
from shababco.catalog.params import canonical_id
from shababco.http import dumps

MAX_KEY_LENGTH = 255  # Shopify handles are at most 255 characters; ids are shorter
DELETED = "deleted"
STATE_COLUMNS: tuple[Any, ...] = (
    Event.shopify_product_id,
    Event.status,
    Event.deleted_at,
    Ticket.shopify_variant_id,
    Ticket.available,
)


@dataclass(frozen=True, slots=True)
class Frame:
    """One Server-Sent Events message: its `data` (compared to skip repeats) and its bytes."""

    data: bytes
    wire: bytes
    final: bool = False


def availability_data(event_id: int, tickets: Sequence[tuple[int, int]]) -> bytes:
    """The `data` of an availability message: the event's total and each visible ticket's."""
    return dumps(
        {
            "event_id": str(event_id),
            "available": sum(max(available, 0) for _, available in tickets),
            "tickets": [
                {"id": str(ticket_id), "available": available, "sold_out": available <= 0}
                for ticket_id, available in tickets
            ],
        }
    )


def ended_data(event_id: int, status: str) -> bytes:
    """The `data` of the last message of a stream: the event is no longer on sale."""
    return dumps({"event_id": str(event_id), "status": status})


def availability_frame(seq: int, data: bytes) -> Frame:
    return Frame(data, b"id: %d\nevent: availability\ndata: %s\n\n" % (seq, data))


def ended_frame(seq: int, data: bytes) -> Frame:
    return Frame(data, b"id: %d\nevent: ended\ndata: %s\n\n" % (seq, data), final=True)


def _key_match(by_id: bool) -> Any:
    handle = Event.handle == bindparam("key_handle", type_=Text())
    if by_id:
        return or_(Event.shopify_product_id == bindparam("key_id", type_=BigInteger()), handle)
    return handle


@lru_cache(maxsize=2)
def _by_key_statement(by_id: bool) -> Select[Any]:
    """A listed event's id by id or handle, joined to its visible tickets (NULLs if none)."""
    event = (
        select(Event.shopify_product_id)
        .where(_key_match(by_id), listed())
        .order_by(Event.shopify_updated_at.desc())
        .limit(1)
        .cte("event")
    )
    return (
        select(event.c.shopify_product_id, Ticket.shopify_variant_id, Ticket.available)
        .select_from(event)
        .outerjoin(Ticket, and_(Ticket.event_id == event.c.shopify_product_id, Ticket.is_visible))
        .order_by(Ticket.position, Ticket.shopify_variant_id)
    )


async def on_sale_by_key(conn: AsyncConnection, key: str) -> tuple[int, bytes] | None:
    """A listed event's id and availability data, by id or handle; None if there is none."""
    if not key or len(key) > MAX_KEY_LENGTH or "\x00" in key:
        return None
    event_id = canonical_id(key)  # one URL per event, as the detail route has it
    by_id = event_id is not None
    values: dict[str, Any] = {"key_handle": key, **({"key_id": event_id} if by_id else {})}
    rows = (await conn.execute(_by_key_statement(by_id), values)).all()
    if not rows:
        return None
    event_id = rows[0].shopify_product_id
    tickets = [(r.shopify_variant_id, r.available) for r in rows if r.shopify_variant_id]
    return event_id, availability_data(event_id, tickets)


@lru_cache(maxsize=1)
def _states_statement() -> Select[Any]:
    """Events by id, whatever their status, each joined to its visible tickets."""
    return (
        select(*STATE_COLUMNS)
        .select_from(Event)
        .outerjoin(Ticket, and_(Ticket.event_id == Event.shopify_product_id, Ticket.is_visible))
        .where(Event.shopify_product_id == bindparam("ids", type_=ARRAY(BigInteger())).any_())
        .order_by(Event.shopify_product_id, Ticket.position, Ticket.shopify_variant_id)
    )


def _state(event_id: int, rows: list[Row[Any]]) -> tuple[bytes, bool]:
    """The data of one event's message and whether it ends the stream."""
    if not rows:
        return ended_data(event_id, DELETED), True
    head = rows[0]
    if head.deleted_at is not None or head.status != "active":
        return ended_data(event_id, DELETED if head.deleted_at else head.status), True
    tickets = [(r.shopify_variant_id, r.available) for r in rows if r.shopify_variant_id]
    return availability_data(event_id, tickets), False


async def states_of(
    conn: AsyncConnection, event_ids: Iterable[int]
) -> dict[int, tuple[bytes, bool]]:
    """Each event's message data and whether it ends the stream, in one statement."""
    ids = sorted(set(event_ids))
    rows = (await conn.execute(_states_statement(), {"ids": ids})).all()
    grouped: dict[int, list[Row[Any]]] = {event_id: [] for event_id in ids}
    for row in rows:
        grouped[row.shopify_product_id].append(row)
    return {event_id: _state(event_id, found) for event_id, found in grouped.items()}
