"""List pages without a search, and their counts: two statements per request.

Statements are built once per shape (`lru_cache`) with bound parameters, and executed with each
request's values (catalog.run): building a statement cost milliseconds of SQLAlchemy
construction, binding its values costs microseconds. Imported by routes and search.gin (which
pages alike); imports filters, columns, run, models and params.
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
    Integer,
    Row,
    Select,
    Subquery,
    Text,
    bindparam,
    cast,
    func,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from shababco.catalog import run
from shababco.catalog.columns import (
    STATEMENT_SHAPES,
    SUMMARY_COLUMNS,
    TIMESTAMPTZ,
    Values,
    ordering,
    sort_key,
)
from shababco.catalog.filters import FilterShape, filter_shape, matching, matching_shape
from shababco.catalog.models import Event, ListingCount, ListingDayCount
from shababco.catalog.params import Cursor, EventFilters, EventListParams, Sort


@dataclass(frozen=True)
class EventPage:
    rows: Sequence[Row[Any]]
    total: int
    next_cursor: Cursor | None


@dataclass(frozen=True)
class _PageShape:
    filters: FilterShape
    sort: Sort
    cursor: bool


def page_query(params: EventListParams) -> tuple[Select[Any], Values]:
    """The page statement of this request's shape (built once) and the values it runs with."""
    filters, values = filter_shape(params.filters)
    shape = _PageShape(filters, params.sort, params.cursor is not None)
    return _page_statement(shape), values | page_values(params)


def page_values(params: EventListParams) -> Values:
    """The values of `keyset_page`'s parameters."""
    values: Values = {"offset": params.offset, "limit": params.limit + 1}
    if params.cursor is not None:
        values |= {"cursor_value": params.cursor.value, "cursor_id": params.cursor.last_id}
    return values


@lru_cache(maxsize=STATEMENT_SHAPES)
def _page_statement(shape: _PageShape) -> Select[Any]:
    """One page of listed events (limit + 1 rows, to know whether another page follows).

    The page is picked from the narrow source first (index-only where the indexes allow, so a
    deep offset skips index entries, not rows), then its few wide rows are joined.
    """
    key, key_type = sort_key(shape.sort, None)
    event_id = Event.shopify_product_id
    picked = matching_shape(
        [event_id.label("picked_id"), key.label("sort_key")], shape.filters, None
    )
    page = keyset_page(picked, key, event_id, key_type, shape.sort, shape.cursor)
    rows = page.join(Event, Event.shopify_product_id == page.c.picked_id)
    order = ordering(page.c.sort_key, page.c.picked_id, shape.sort.descending)
    return select(*page_columns(page)).select_from(rows).order_by(*order)


def keyset_page(
    picked: Select[Any], key: Any, event_id: Any, key_type: Any, sort: Sort, cursor: bool
) -> Subquery:
    """The `page` of the picked (id, key) rows: after the cursor if any, in order, from `offset`,
    `limit` rows (all bound)."""
    descending = sort.descending
    if cursor:
        value = cast(bindparam("cursor_value", type_=Text()), key_type)
        last_id = bindparam("cursor_id", type_=BigInteger())
        position, after = tuple_(key, event_id), tuple_(value, last_id)
        picked = picked.where(position < after if descending else position > after)
    offset, limit = bindparam("offset", type_=Integer()), bindparam("limit", type_=Integer())
    return (
        picked.order_by(*ordering(key, event_id, descending))
        .offset(offset)
        .limit(limit)
        .subquery("page")
    )


def page_columns(page: Subquery) -> list[Any]:
    """The summary columns of the page's events, and its sort key as text (the next cursor's)."""
    return [*SUMMARY_COLUMNS, cast(page.c.sort_key, Text).label("sort_value")]


def count_query(filters: EventFilters) -> tuple[Select[Any], Values]:
    """The statement counting the listed events matching the filters (but a search), and its
    values."""
    shape, values = filter_shape(filters)
    if shape.after or shape.before:
        return _dated_count_query(filters, shape, values)
    return _count_statement(shape), values


@lru_cache(maxsize=STATEMENT_SHAPES)
def _count_statement(shape: FilterShape) -> Select[Any]:
    """The number of matches, from the trigger-kept counts unless dates filter."""
    if shape.after or shape.before:
        return matching_shape([func.count()], shape, None)
    counted = select(func.coalesce(func.sum(ListingCount.listed), 0))
    if shape.categories:
        categories: Any = bindparam("categories", expanding=True)
        counted = counted.where(ListingCount.category_key.in_(categories))
    return counted


def _dated_count_query(
    filters: EventFilters, shape: FilterShape, values: Values
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
def _dated_count_statement(shape: FilterShape) -> Select[Any]:
    """The days of a date-filtered count summed, plus its boundary days counted (bound)."""
    categories: Any = bindparam("categories", expanding=True) if shape.categories else None
    days = select(func.coalesce(func.sum(ListingDayCount.listed), 0)).where(
        func.isfinite(ListingDayCount.day)
    )
    if categories is not None:
        days = days.where(ListingDayCount.category_key.in_(categories))
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
    return matching(
        [func.count()],
        None,
        categories=categories,
        after=bindparam(after, type_=TIMESTAMPTZ),
        before=bindparam(before, type_=TIMESTAMPTZ),
    )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


async def list_events(conn: AsyncConnection, params: EventListParams) -> EventPage:
    """One page of listed events without a search (searches: catalog.search), the total
    matching, and the cursor of the next page: two statements."""
    assert params.filters.search is None, "a search is answered by catalog.search"
    rows = await run.rows(conn, *page_query(params))
    total = (await run.rows(conn, *count_query(params.filters)))[0][0]
    return page_of(params, rows, total)


def page_of(params: EventListParams, rows: Sequence[Row[Any]], total: int | None) -> EventPage:
    """The page's rows (limit + 1 were asked for), the total, and the next page's cursor."""
    next_cursor = None
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        last = rows[-1]
        next_cursor = Cursor(params.sort, last.sort_value, last.shopify_product_id)
    return EventPage(rows=rows, total=int(total or 0), next_cursor=next_cursor)
