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
    bindparam,
    cast,
    exists,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from shababco.catalog import run
from shababco.catalog.columns import DETAIL_COLUMNS, Values, viewable
from shababco.catalog.models import Event, EventHandle, ListingCount, Ticket
from shababco.catalog.params import canonical_id
from shababco.catalog.run import Record


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


# A ticket's representation (schemas.TicketOut), key by key in its order, built by PostgreSQL:
# money is the column's text (two decimals, as Shopify writes it), ids are decimal strings.
TICKET_FIELDS: tuple[tuple[str, Any], ...] = (
    ("id", cast(Ticket.shopify_variant_id, Text)),
    ("name", Ticket.name),
    ("ticket_type", Ticket.ticket_type),
    ("price", cast(Ticket.price, Text)),
    ("compare_at_price", cast(Ticket.compare_at_price, Text)),
    ("capacity", Ticket.available + Ticket.sold),
    ("sold", Ticket.sold),
    ("available", Ticket.available),
    ("features", Ticket.features),
    ("restrictions", Ticket.restrictions),
)


def _tickets_json() -> ColumnElement[str | None]:
    """The event's visible tickets as the JSON text of their representations, in ticket order
    (NULL for none): one statement answers an event and its tickets, and the tickets need no
    Python to become JSON but one parse (schemas.tickets_of_json)."""
    pairs: list[Any] = []
    for key, value in TICKET_FIELDS:
        pairs += [literal_column(f"'{key}'"), value]
    ordered = aggregate_order_by(
        func.json_build_object(*pairs), Ticket.position, Ticket.shopify_variant_id
    )
    return (
        select(cast(func.json_agg(ordered), Text))
        .where(Ticket.event_id == Event.shopify_product_id, Ticket.is_visible)
        .scalar_subquery()
        .label("tickets_json")
    )


def _viewable_by_key(by_id: bool, *columns: Any) -> Select[Any]:
    """The columns of the viewable event with the key (the newest, if an id and a handle both
    match)."""
    return (
        select(*columns)
        .where(_by_key(by_id), viewable())
        .order_by(Event.shopify_updated_at.desc())
        .limit(1)
    )


@lru_cache(maxsize=2)
def _event_statement(by_id: bool) -> Select[Any]:
    return _viewable_by_key(by_id, *DETAIL_COLUMNS, _tickets_json())


def event_query(key: str) -> tuple[Select[Any], Values]:
    """The statement of a viewable event by id or handle with its tickets, and its values."""
    by_id, values = _key_values(key)
    return _event_statement(by_id), values


async def get_event(engine: AsyncEngine, key: str) -> Record | None:
    """The viewable event with its visible tickets (`tickets_json`) in one statement, or None."""
    found = await run.driver_rows(engine, *event_query(key))
    return found[0] if found else None


@lru_cache(maxsize=2)
def _tickets_of_statement(by_id: bool) -> Select[Any]:
    return _viewable_by_key(by_id, Event.shopify_product_id, _tickets_json())


def tickets_of_query(key: str) -> tuple[Select[Any], Values]:
    """The statement of a viewable event's visible tickets by id or handle, and its values."""
    by_id, values = _key_values(key)
    return _tickets_of_statement(by_id), values


async def tickets_of(engine: AsyncEngine, key: str) -> Record | None:
    """The id of the viewable event and its visible tickets (`tickets_json`) in one statement;
    None if there is no such event."""
    found = await run.driver_rows(engine, *tickets_of_query(key))
    return found[0] if found else None


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
