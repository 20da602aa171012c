"""One event by id or handle, its visible tickets, where an old handle moved, and the category
counts.

Each statement is built once (`lru_cache`) and run with the request's values (catalog.run).
Imported by routes; imports columns, run, models and params.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Row,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from shababco.catalog import run
from shababco.catalog.columns import DETAIL_COLUMNS, TICKET_COLUMNS, Values, viewable
from shababco.catalog.models import Event, EventHandle, ListingCount, Ticket
from shababco.catalog.params import canonical_id


def _key_values(key: str) -> tuple[bool, Values]:
    """Whether `key` may be a Shopify product id (else only a handle), and its bound values."""
    event_id = canonical_id(key)
    if event_id is not None:
        return True, {"key_id": event_id, "key_handle": key}
    return False, {"key_handle": key}


def _by_key(by_id: bool) -> ColumnElement[bool]:
    """Match a Shopify product id or a handle (`key_id`, `key_handle` bound at execution)."""
    handle = Event.handle == bindparam("key_handle", type_=Text())
    if by_id:
        return or_(Event.shopify_product_id == bindparam("key_id", type_=BigInteger()), handle)
    return handle


@lru_cache(maxsize=2)
def _event_statement(by_id: bool) -> Select[Any]:
    return (
        select(*DETAIL_COLUMNS)
        .where(_by_key(by_id), viewable())
        .order_by(Event.shopify_updated_at.desc())
        .limit(1)
    )


def event_query(key: str) -> tuple[Select[Any], Values]:
    """The statement of a viewable event by id or handle, and its values."""
    by_id, values = _key_values(key)
    return _event_statement(by_id), values


async def get_event(conn: AsyncConnection, key: str) -> Row[Any] | None:
    found = await run.rows(conn, *event_query(key))
    return found[0] if found else None


@lru_cache(maxsize=1)
def _visible_tickets_statement() -> Select[Any]:
    return (
        select(*TICKET_COLUMNS)
        .where(Ticket.event_id == bindparam("event_id", type_=BigInteger()), Ticket.is_visible)
        .order_by(Ticket.position, Ticket.shopify_variant_id)
    )


def visible_tickets_query(event_id: int) -> tuple[Select[Any], Values]:
    """The statement of an event's visible tickets, and its values."""
    return _visible_tickets_statement(), {"event_id": event_id}


async def visible_tickets(conn: AsyncConnection, event_id: int) -> Sequence[Row[Any]]:
    return await run.rows(conn, *visible_tickets_query(event_id))


@lru_cache(maxsize=2)
def _tickets_of_statement(by_id: bool) -> Select[Any]:
    """A viewable event's id joined to its visible tickets (one row with NULLs if it has none)."""
    event = (
        select(Event.shopify_product_id)
        .where(_by_key(by_id), viewable())
        .order_by(Event.shopify_updated_at.desc())
        .limit(1)
        .cte("event")
    )
    return (
        select(event.c.shopify_product_id.label("found_event_id"), *TICKET_COLUMNS)
        .select_from(event)
        .outerjoin(
            Ticket,
            and_(Ticket.event_id == event.c.shopify_product_id, Ticket.is_visible),
        )
        .order_by(Ticket.position, Ticket.shopify_variant_id)
    )


def tickets_of_query(key: str) -> tuple[Select[Any], Values]:
    """The statement of a viewable event's visible tickets by id or handle, and its values."""
    by_id, values = _key_values(key)
    return _tickets_of_statement(by_id), values


async def tickets_of(conn: AsyncConnection, key: str) -> tuple[int, Sequence[Row[Any]]] | None:
    """The visible tickets of a viewable event in one statement; None if there is no such event."""
    rows = await run.rows(conn, *tickets_of_query(key))
    if not rows:
        return None
    return rows[0].found_event_id, [row for row in rows if row.shopify_variant_id is not None]


@lru_cache(maxsize=1)
def _current_handle_statement() -> Select[str]:
    """The current handle of the viewable event that once had the handle `key`, unless an event
    (deleted ones aside) has it now: a handle in use never redirects."""
    key = bindparam("key", type_=Text())
    other = aliased(Event)
    in_use = exists().where(other.handle == key, other.deleted_at.is_(None))
    return (
        select(Event.handle)
        .join(EventHandle, EventHandle.event_id == Event.shopify_product_id)
        .where(EventHandle.handle == key, viewable(), ~in_use)
    )


async def current_handle(conn: AsyncConnection, key: str) -> str | None:
    """Where an old handle moved: the event's handle now, or None."""
    found = await run.rows(conn, _current_handle_statement(), {"key": key})
    return found[0].handle if found else None


@lru_cache(maxsize=1)
def category_counts_statement() -> Select[str, int]:
    """Listed events per category, the spellings of one folded key counted as one and named as
    most of its events write it (ties: the first in byte order)."""
    listed = cast(func.sum(ListingCount.listed), BigInteger)
    spellings = (ListingCount.listed.desc(), ListingCount.category.collate("C"))
    names = func.array_agg(aggregate_order_by(ListingCount.category, *spellings))
    name = names[1].label("category")
    return (
        select(name, listed.label("count"))
        .where(ListingCount.listed > 0, ListingCount.category != "")
        .group_by(ListingCount.category_key)
        .order_by(listed.desc(), name)
    )


async def category_counts(conn: AsyncConnection) -> Sequence[Row[Any]]:
    return await run.rows(conn, category_counts_statement())
