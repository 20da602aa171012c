"""All SQL of the read side. Each request runs at most two statements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Float,
    Numeric,
    Row,
    Select,
    Text,
    and_,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from shababco.catalog.models import Event, Ticket
from shababco.catalog.params import Cursor, EventFilters, EventListParams, Sort
from shababco.catalog.search import query_text, tsquery

SUMMARY_COLUMNS = (
    Event.shopify_product_id,
    Event.handle,
    Event.title,
    Event.subtitle,
    Event.category,
    Event.tags,
    Event.status,
    Event.start_date,
    Event.end_date,
    Event.venue,
    Event.images,
    Event.min_price,
    Event.currency,
    Event.available,
    Event.shopify_updated_at,
)
DETAIL_COLUMNS = (*SUMMARY_COLUMNS, Event.description_html, Event.metafields)
TICKET_COLUMNS = (
    Ticket.shopify_variant_id,
    Ticket.event_id,
    Ticket.name,
    Ticket.ticket_type,
    Ticket.price,
    Ticket.compare_at_price,
    Ticket.available,
    Ticket.sold,
    Ticket.features,
    Ticket.restrictions,
)
MAX_BIGINT = 2**63 - 1


def listed() -> ColumnElement[bool]:
    """Public list visibility; matches the partial indexes' predicate."""
    return and_(Event.status == "active", Event.deleted_at.is_(None))


def viewable() -> ColumnElement[bool]:
    """Visibility by id or handle: active or unlisted."""
    return and_(Event.status.in_(("active", "unlisted")), Event.deleted_at.is_(None))


def _start_key(sentinel: str) -> ColumnElement[Any]:
    return func.coalesce(
        Event.start_date, literal_column(f"'{sentinel}'::timestamptz", TIMESTAMP(timezone=True))
    )


def _price_key(sentinel: str) -> ColumnElement[Any]:
    return func.coalesce(Event.min_price, literal_column(f"'{sentinel}'::numeric", Numeric()))


def _relevance(search: str) -> ColumnElement[Any]:
    """Full-text rank plus trigram closeness to the whole text and, weighed up, to the title."""
    query = func.to_tsquery("simple", func.shababco_unaccent(tsquery(search) or ""))
    words = query_text(search)
    title = func.shababco_unaccent(func.lower(Event.title))
    return (
        cast(func.ts_rank(Event.search_vector, query), Float)
        + cast(func.word_similarity(words, Event.search_document), Float)
        + cast(func.word_similarity(words, title), Float)
    )


def sort_key(sort: Sort, search: str | None) -> tuple[ColumnElement[Any], Any]:
    """The ordering expression of a sort (matching its index) and the type of its cursor value."""
    if sort is Sort.START_DATE:
        return _start_key("infinity"), TIMESTAMP(timezone=True)
    if sort is Sort.START_DATE_DESC:
        return _start_key("-infinity"), TIMESTAMP(timezone=True)
    if sort is Sort.TITLE:
        return func.lower(Event.title), Text()
    if sort is Sort.PRICE:
        return _price_key("Infinity"), Numeric()
    if sort is Sort.PRICE_DESC:
        return _price_key("-Infinity"), Numeric()
    return _relevance(search or ""), Float()


def _filter_conditions(filters: EventFilters) -> list[ColumnElement[bool]]:
    conditions = [listed()]
    if filters.categories:
        conditions.append(Event.category.in_(filters.categories))
    start = _start_key("infinity")
    if filters.starts_after is not None:
        conditions += [Event.start_date.is_not(None), start >= filters.starts_after]
    if filters.starts_before is not None:
        conditions.append(start < filters.starts_before)
    if filters.search is not None:
        terms = tsquery(filters.search)
        if terms is not None:
            query = func.to_tsquery("simple", func.shababco_unaccent(terms))
            similar = literal(query_text(filters.search)).op("<%")(Event.search_document)
            conditions.append(or_(Event.search_vector.op("@@")(query), similar))
    return conditions


@dataclass(frozen=True)
class EventPage:
    rows: Sequence[Row[Any]]
    total: int
    next_cursor: Cursor | None


def _page_statement(params: EventListParams, conditions: list[ColumnElement[bool]]) -> Select[Any]:
    key, key_type = sort_key(params.sort, params.filters.search)
    position = tuple_(key, Event.shopify_product_id)
    if params.cursor is not None:
        after = tuple_(
            cast(literal(params.cursor.value, Text()), key_type), literal(params.cursor.last_id)
        )
        conditions = [*conditions, position < after if params.sort.descending else position > after]
    ordering = (
        (key.desc(), Event.shopify_product_id.desc())
        if params.sort.descending
        else (key.asc(), Event.shopify_product_id.asc())
    )
    return (
        select(*SUMMARY_COLUMNS, cast(key, Text).label("sort_value"))
        .where(*conditions)
        .order_by(*ordering)
        .offset(params.offset)
        .limit(params.limit + 1)
    )


async def list_events(conn: AsyncConnection, params: EventListParams) -> EventPage:
    """One page of listed events, the total matching, and the cursor of the next page."""
    conditions = _filter_conditions(params.filters)
    rows = (await conn.execute(_page_statement(params, conditions))).all()
    total = (
        await conn.execute(select(func.count()).select_from(Event).where(*conditions))
    ).scalar()
    next_cursor = None
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        last = rows[-1]
        next_cursor = Cursor(params.sort, last.sort_value, last.shopify_product_id)
    return EventPage(rows=rows, total=int(total or 0), next_cursor=next_cursor)


def _by_key(key: str) -> ColumnElement[bool]:
    """Match a Shopify product id or a handle."""
    if key.isdigit() and int(key) <= MAX_BIGINT:
        return or_(Event.shopify_product_id == int(key), Event.handle == key)
    return Event.handle == key


async def get_event(conn: AsyncConnection, key: str) -> Row[Any] | None:
    statement = (
        select(*DETAIL_COLUMNS)
        .where(_by_key(key), viewable())
        .order_by(Event.shopify_updated_at.desc())
        .limit(1)
    )
    return (await conn.execute(statement)).first()


async def visible_tickets(conn: AsyncConnection, event_id: int) -> Sequence[Row[Any]]:
    statement = (
        select(*TICKET_COLUMNS)
        .where(Ticket.event_id == event_id, Ticket.is_visible)
        .order_by(Ticket.position, Ticket.shopify_variant_id)
    )
    return (await conn.execute(statement)).all()


async def tickets_of(conn: AsyncConnection, key: str) -> tuple[int, Sequence[Row[Any]]] | None:
    """The visible tickets of a viewable event in one statement; None if there is no such event."""
    event = (
        select(Event.shopify_product_id)
        .where(_by_key(key), viewable())
        .order_by(Event.shopify_updated_at.desc())
        .limit(1)
        .cte("event")
    )
    statement = (
        select(event.c.shopify_product_id.label("found_event_id"), *TICKET_COLUMNS)
        .select_from(event)
        .outerjoin(
            Ticket,
            and_(Ticket.event_id == event.c.shopify_product_id, Ticket.is_visible),
        )
        .order_by(Ticket.position, Ticket.shopify_variant_id)
    )
    rows = (await conn.execute(statement)).all()
    if not rows:
        return None
    return rows[0].found_event_id, [row for row in rows if row.shopify_variant_id is not None]


async def category_counts(conn: AsyncConnection) -> Sequence[Row[str | None, int]]:
    statement = (
        select(Event.category, func.count().label("count"))
        .where(listed(), Event.category.is_not(None))
        .group_by(Event.category)
        .order_by(func.count().desc(), Event.category)
    )
    return (await conn.execute(statement)).all()
