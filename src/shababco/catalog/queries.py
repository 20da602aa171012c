"""All SQL of the read side. Each request runs at most two statements, a search one.

Statements are built once per shape (`lru_cache`) with bound parameters, and executed with each
request's values (catalog.run): building a search statement cost 5-11 ms of SQLAlchemy
construction, binding its values costs microseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    Float,
    FromClause,
    Integer,
    Numeric,
    Row,
    Select,
    SQLColumnExpression,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from shababco.catalog import postings, run
from shababco.catalog.models import (
    Event,
    EventSearch,
    ListingCount,
    ListingDayCount,
    Ticket,
)
from shababco.catalog.params import MAX_BIGINT, Cursor, EventFilters, EventListParams, Sort
from shababco.catalog.search_sql import SearchShape, search_cte, search_values, totalled

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


def listed() -> ColumnElement[bool]:
    """Public list visibility; matches the partial indexes' predicate."""
    return and_(Event.status == "active", Event.deleted_at.is_(None))


def viewable() -> ColumnElement[bool]:
    """Visibility by id or handle: active or unlisted (not an IN list, which SQLAlchemy expands
    per execution: catalog.run)."""
    status = or_(Event.status == "active", Event.status == "unlisted")
    return and_(status, Event.deleted_at.is_(None))


def _start_key(sentinel: str, column: Any = Event.start_date) -> ColumnElement[Any]:
    return func.coalesce(
        column, literal_column(f"'{sentinel}'::timestamptz", TIMESTAMP(timezone=True))
    )


def _price_key(sentinel: str, column: Any = Event.min_price) -> ColumnElement[Any]:
    return func.coalesce(column, literal_column(f"'{sentinel}'::numeric", Numeric()))


def _relevance(query: FromClause) -> ColumnElement[Any]:
    """2 when the name (title, subtitle) matches, 1 when the title part does (with the labels:
    category, tags, venue), else 0; the id breaks ties, newest first. catalog.postings ranks
    one-word searches alike."""
    title = EventSearch.title_vector
    in_name = title.op("@@")(query.c.in_name)
    in_title = title.op("@@")(query.c.query)
    return case((in_name, 2.0), (in_title, 1.0), else_=0.0)


def sort_key(sort: Sort, query: FromClause | None) -> tuple[ColumnElement[Any], Any]:
    """The ordering expression of a sort (matching its index) and the type of its cursor value;
    a search's from the copies in `event_search`."""
    start_column = Event.start_date if query is None else EventSearch.start_date
    price_column = Event.min_price if query is None else EventSearch.min_price
    if sort is Sort.START_DATE:
        key = Event.start_key.expression if query is None else _start_key("infinity", start_column)
        return key, TIMESTAMP(timezone=True)
    if sort is Sort.START_DATE_DESC:
        return _start_key("-infinity", start_column), TIMESTAMP(timezone=True)
    if sort is Sort.TITLE:
        title_key = func.lower(Event.title) if query is None else EventSearch.title_key.expression
        return title_key, Text()
    if sort is Sort.PRICE:
        return _price_key("Infinity", price_column), Numeric()
    if sort is Sort.PRICE_DESC:
        return _price_key("-Infinity", price_column), Numeric()
    if query is None:
        return literal(0.0, Float()), Float()
    return _relevance(query), Float()


@dataclass(frozen=True)
class _FilterShape:
    """What a filtered statement depends on besides its values: built once per shape."""

    search: SearchShape | None = None
    categories: bool = False
    after: bool = False
    before: bool = False


@dataclass(frozen=True)
class _PageShape:
    filters: _FilterShape
    sort: Sort
    cursor: bool


Values = dict[str, Any]
STATEMENT_SHAPES = 512  # kept per process; a search's shape is its words' form counts
TIMESTAMPTZ = TIMESTAMP(timezone=True)


def _filter_shape(filters: EventFilters) -> tuple[_FilterShape, Values]:
    values: Values = {}
    search = search_values(filters.search) if filters.search else None
    if search is not None:
        values.update(search[1])
    if filters.categories:
        values["categories"] = list(filters.categories)
    if filters.starts_after is not None:
        values["starts_after"] = filters.starts_after
    if filters.starts_before is not None:
        values["starts_before"] = filters.starts_before
    shape = _FilterShape(
        search=search[0] if search is not None else None,
        categories=bool(filters.categories),
        after=filters.starts_after is not None,
        before=filters.starts_before is not None,
    )
    return shape, values


def _matching(
    columns: list[Any],
    query: FromClause | None,
    *,
    categories: Any = None,
    after: Any = None,
    before: Any = None,
) -> Select[Any]:
    """SELECT columns FROM the listed events matching the filters (bound parameters or values).

    With a search the narrow `event_search` rows are the source (they copy the filter and sort
    columns); without, `events` and its indexes.
    """
    if query is None:
        category, start_date = Event.category, Event.start_date
        conditions: list[SQLColumnExpression[bool]] = [listed()]
        source: FromClause = Event.__table__
    else:
        category, start_date = EventSearch.category, EventSearch.start_date
        conditions = [EventSearch.listed, EventSearch.document_vector.op("@@")(query.c.match)]
        source = EventSearch.__table__.join(query, true())
    if categories is not None:
        conditions.append(category.in_(categories))
    start = Event.start_key if query is None else _start_key("infinity", start_date)
    if after is not None:
        # "< infinity" rather than "start_date IS NOT NULL": the indexes carry only the key.
        conditions += [start >= after, start < _start_key("infinity", None)]
    if before is not None:
        conditions.append(start < before)
    return select(*columns).select_from(source).where(*conditions)


def _matching_shape(
    columns: list[Any], shape: _FilterShape, query: FromClause | None
) -> Select[Any]:
    """`_matching` with a bound parameter for each filter the shape has."""
    return _matching(
        columns,
        query,
        categories=bindparam("categories", expanding=True) if shape.categories else None,
        after=bindparam("starts_after", type_=TIMESTAMPTZ) if shape.after else None,
        before=bindparam("starts_before", type_=TIMESTAMPTZ) if shape.before else None,
    )


@dataclass(frozen=True)
class EventPage:
    rows: Sequence[Row[Any]]
    total: int
    next_cursor: Cursor | None


def page_query(params: EventListParams) -> tuple[Select[Any], Values]:
    """The page statement of this request's shape (built once) and the values it runs with."""
    filters, values = _filter_shape(params.filters)
    shape = _PageShape(filters, params.sort, params.cursor is not None)
    values |= {"offset": params.offset, "limit": params.limit + 1}
    if params.cursor is not None:
        values |= {"cursor_value": params.cursor.value, "cursor_id": params.cursor.last_id}
    return _page_statement(shape), values


def first_page_statement(params: EventListParams) -> Select[Any]:
    """What `list_events` runs first for these parameters, values bound in: for EXPLAIN."""
    by_postings = postings.page_query(params, SUMMARY_COLUMNS)
    if by_postings is not None:
        statement, values = by_postings
        return statement.params(values)
    return page_statement(params)


def page_statement(params: EventListParams) -> Select[Any]:
    """The page statement with its values bound in: for EXPLAIN and tests."""
    statement, values = page_query(params)
    return statement.params(values)


@lru_cache(maxsize=STATEMENT_SHAPES)
def _page_statement(shape: _PageShape) -> Select[Any]:
    """One page of listed events (limit + 1 rows, to know whether another page follows).

    The page is picked from the narrow source first (index-only where the indexes allow, so a
    deep offset skips index entries, not rows), then its few wide rows are joined. A search
    ranks all its matches anyway, so it counts them too: the (id, key) pairs are materialized
    once, then counted and sorted (the rows kept are 16 bytes wide, not the vectors the key was
    computed from), and the total comes as a column of every row, or of a single row without
    an event when the page is empty (`totalled`). Counting apart visited every match twice.
    """
    query = search_cte(shape.filters.search) if shape.filters.search else None
    key, key_type = sort_key(shape.sort, query)
    event_id: Any = Event.shopify_product_id if query is None else EventSearch.event_id
    picked: Select[Any] = _matching_shape(
        [event_id.label("picked_id"), key.label("sort_key")], shape.filters, query
    )
    descending = shape.sort.descending
    if query is not None:
        matches = picked.cte("matches").prefix_with("MATERIALIZED")
        key, event_id = matches.c.sort_key, matches.c.picked_id
        picked = select(matches)
    if shape.cursor:
        value = cast(bindparam("cursor_value", type_=Text()), key_type)
        last_id = bindparam("cursor_id", type_=BigInteger())
        position, after = tuple_(key, event_id), tuple_(value, last_id)
        picked = picked.where(position < after if descending else position > after)
    offset, limit = bindparam("offset", type_=Integer()), bindparam("limit", type_=Integer())
    page = (
        picked.order_by(*_ordering(key, event_id, descending))
        .offset(offset)
        .limit(limit)
        .subquery("page")
    )
    rows = page.join(Event, Event.shopify_product_id == page.c.picked_id)
    columns: list[Any] = [*SUMMARY_COLUMNS, cast(page.c.sort_key, Text).label("sort_value")]
    order = _ordering(page.c.sort_key, page.c.picked_id, descending)
    if query is None:
        return select(*columns).select_from(rows).order_by(*order)
    return totalled(select(func.count().label("total")).select_from(matches), rows, columns, order)


def _ordering(key: Any, event_id: Any, descending: bool) -> tuple[Any, Any]:
    """ORDER BY the sort key, then the id (the tie-breaker of every keyset)."""
    return (key.desc(), event_id.desc()) if descending else (key, event_id)


def count_query(filters: EventFilters) -> tuple[Select[Any], Values]:
    """The statement counting the matches, and its values."""
    shape, values = _filter_shape(filters)
    if shape.search is None and (shape.after or shape.before):
        return _dated_count_query(filters, shape, values)
    return _count_statement(shape), values


def count_statement(filters: EventFilters) -> Select[Any]:
    """The count statement with its values bound in: for EXPLAIN and tests."""
    statement, values = count_query(filters)
    return statement.params(values) if values else statement


@lru_cache(maxsize=STATEMENT_SHAPES)
def _count_statement(shape: _FilterShape) -> Select[Any]:
    """The number of matches, from the trigger-kept counts wherever a search does not filter."""
    if shape.search is not None or shape.after or shape.before:
        query = search_cte(shape.search) if shape.search is not None else None
        return _matching_shape([func.count()], shape, query)
    counted = select(func.coalesce(func.sum(ListingCount.listed), 0))
    if shape.categories:
        counted = counted.where(ListingCount.category.in_(bindparam("categories", expanding=True)))
    return counted


def _dated_count_query(
    filters: EventFilters, shape: _FilterShape, values: Values
) -> tuple[Select[Any], Values]:
    """Whole UTC days summed from listing_day_counts, the partial first and last day counted
    directly; a window of under two days is counted directly."""
    after, before = filters.starts_after, filters.starts_before
    after_day = after.astimezone(UTC).date() if after else None
    before_day = before.astimezone(UTC).date() if before else None
    if after_day and before_day and (before_day - after_day).days < 2:
        return _count_statement(shape), values
    if after_day is not None:
        values |= {"after_day": after_day, "after_edge": _midnight(after_day + timedelta(days=1))}
    if before_day is not None:
        values |= {"before_day": before_day, "before_edge": _midnight(before_day)}
    return _dated_count_statement(shape), values


@lru_cache(maxsize=STATEMENT_SHAPES)
def _dated_count_statement(shape: _FilterShape) -> Select[Any]:
    """The days of a date-filtered count summed, plus its boundary days counted (bound)."""
    categories: Any = bindparam("categories", expanding=True) if shape.categories else None
    days = select(func.coalesce(func.sum(ListingDayCount.listed), 0)).where(
        func.isfinite(ListingDayCount.day)
    )
    if categories is not None:
        days = days.where(ListingDayCount.category.in_(categories))
    edges = []
    if shape.after:
        days = days.where(ListingDayCount.day > bindparam("after_day", type_=Date()))
        edges.append(_edge_count(categories, "starts_after", "after_edge"))
    if shape.before:
        days = days.where(ListingDayCount.day < bindparam("before_day", type_=Date()))
        edges.append(_edge_count(categories, "before_edge", "starts_before"))
    total: ColumnElement[Any] = days.scalar_subquery()
    for edge in edges:
        total = total + edge.scalar_subquery()
    return select(total)


def _edge_count(categories: Any, after: str, before: str) -> Select[Any]:
    """A direct count of the listed events starting between two bound moments."""
    return _matching(
        [func.count()],
        None,
        categories=categories,
        after=bindparam(after, type_=TIMESTAMPTZ),
        before=bindparam(before, type_=TIMESTAMPTZ),
    )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


async def list_events(conn: AsyncConnection, params: EventListParams) -> EventPage:
    """One page of listed events, the total matching, and the cursor of the next page: one
    statement for a search (its page carries its total), two otherwise."""
    search = postings.page_query(params, SUMMARY_COLUMNS) or (
        page_query(params) if params.filters.search is not None else None
    )
    if search is not None:
        rows = await run.rows(conn, *search)
        total = rows[0].total
        return _page(params, rows if rows[0].shopify_product_id is not None else [], total)
    rows = await run.rows(conn, *page_query(params))
    total = (await run.rows(conn, *count_query(params.filters)))[0][0]
    return _page(params, rows, total)


def _page(params: EventListParams, rows: Sequence[Row[Any]], total: int | None) -> EventPage:
    next_cursor = None
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        last = rows[-1]
        next_cursor = Cursor(params.sort, last.sort_value, last.shopify_product_id)
    return EventPage(rows=rows, total=int(total or 0), next_cursor=next_cursor)


def _key_values(key: str) -> tuple[bool, Values]:
    """Whether `key` may be a Shopify product id (else only a handle), and its bound values."""
    if key.isdigit() and int(key) <= MAX_BIGINT:
        return True, {"key_id": int(key), "key_handle": key}
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


def event_statement(key: str) -> Select[Any]:
    """The event statement with its values bound in: for EXPLAIN and tests."""
    by_id, values = _key_values(key)
    return _event_statement(by_id).params(values)


async def get_event(conn: AsyncConnection, key: str) -> Row[Any] | None:
    by_id, values = _key_values(key)
    found = await run.rows(conn, _event_statement(by_id), values)
    return found[0] if found else None


@lru_cache(maxsize=1)
def _visible_tickets_statement() -> Select[Any]:
    return (
        select(*TICKET_COLUMNS)
        .where(Ticket.event_id == bindparam("event_id", type_=BigInteger()), Ticket.is_visible)
        .order_by(Ticket.position, Ticket.shopify_variant_id)
    )


def visible_tickets_statement(event_id: int) -> Select[Any]:
    return _visible_tickets_statement().params(event_id=event_id)


async def visible_tickets(conn: AsyncConnection, event_id: int) -> Sequence[Row[Any]]:
    return await run.rows(conn, _visible_tickets_statement(), {"event_id": event_id})


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


def tickets_of_statement(key: str) -> Select[Any]:
    by_id, values = _key_values(key)
    return _tickets_of_statement(by_id).params(values)


async def tickets_of(conn: AsyncConnection, key: str) -> tuple[int, Sequence[Row[Any]]] | None:
    """The visible tickets of a viewable event in one statement; None if there is no such event."""
    by_id, values = _key_values(key)
    rows = await run.rows(conn, _tickets_of_statement(by_id), values)
    if not rows:
        return None
    return rows[0].found_event_id, [row for row in rows if row.shopify_variant_id is not None]


@lru_cache(maxsize=1)
def category_counts_statement() -> Select[str, int]:
    return (
        select(ListingCount.category, ListingCount.listed.label("count"))
        .where(ListingCount.listed > 0, ListingCount.category != "")
        .order_by(ListingCount.listed.desc(), ListingCount.category)
    )


async def category_counts(conn: AsyncConnection) -> Sequence[Row[Any]]:
    return await run.rows(conn, category_counts_statement())
