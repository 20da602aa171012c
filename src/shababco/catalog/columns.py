"""What the read statements share: column lists, visibility predicates and sort keys.

Imported by listing, detail and search; imports only models and params.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Float,
    FromClause,
    Numeric,
    Text,
    and_,
    case,
    func,
    literal,
    literal_column,
    or_,
)
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.sql.elements import ColumnElement

from shababco.catalog.models import Event, EventSearch
from shababco.catalog.params import Sort

Values = dict[str, Any]
STATEMENT_SHAPES = 512  # kept per process; a search's shape is its words' form counts
TIMESTAMPTZ = TIMESTAMP(timezone=True)

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


def listed() -> ColumnElement[bool]:
    """Public list visibility; matches the partial indexes' predicate."""
    return and_(Event.status == "active", Event.deleted_at.is_(None))


def viewable() -> ColumnElement[bool]:
    """Visibility by id or handle: active or unlisted (not an IN list, which SQLAlchemy expands
    per execution: catalog.run)."""
    status = or_(Event.status == "active", Event.status == "unlisted")
    return and_(status, Event.deleted_at.is_(None))


def start_key(sentinel: str, column: Any = Event.start_date) -> ColumnElement[Any]:
    """The start date, missing ones at the `sentinel` end ('infinity' or '-infinity')."""
    return func.coalesce(
        column, literal_column(f"'{sentinel}'::timestamptz", TIMESTAMP(timezone=True))
    )


def _price_key(sentinel: str, column: Any = Event.min_price) -> ColumnElement[Any]:
    return func.coalesce(column, literal_column(f"'{sentinel}'::numeric", Numeric()))


def _relevance(query: FromClause) -> ColumnElement[Any]:
    """2 when the name (title, subtitle) matches, 1 when the title part does (with the labels:
    category, tags, venue), else 0; the id breaks ties, newest first. catalog.search.postings
    ranks one-word searches alike."""
    title = EventSearch.title_vector
    in_name = title.op("@@")(query.c.in_name)
    in_title = title.op("@@")(query.c.query)
    return case((in_name, 2.0), (in_title, 1.0), else_=0.0)


def sort_key(sort: Sort, query: FromClause | None) -> tuple[ColumnElement[Any], Any]:
    """The ordering expression of a sort (matching its index) and the type of its cursor value;
    a search's (`query`: its tsquery CTE) from the copies in `event_search`."""
    start_column = Event.start_date if query is None else EventSearch.start_date
    price_column = Event.min_price if query is None else EventSearch.min_price
    if sort is Sort.START_DATE:
        key = Event.start_key.expression if query is None else start_key("infinity", start_column)
        return key, TIMESTAMP(timezone=True)
    if sort is Sort.START_DATE_DESC:
        return start_key("-infinity", start_column), TIMESTAMP(timezone=True)
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


def ordering(key: Any, event_id: Any, descending: bool) -> tuple[Any, Any]:
    """ORDER BY the sort key, then the id (the tie-breaker of every keyset)."""
    return (key.desc(), event_id.desc()) if descending else (key, event_id)
