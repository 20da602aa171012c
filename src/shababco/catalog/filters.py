"""The listed events matching a list's filters: a statement shape, its values and its WHERE.

A category filter matches the events' folded category keys (`EventFilters.categories` holds
keys: search.words.category_key), so any spelling of a category finds it. Imported by listing and
search.gin (a search's source is `event_search` joined to its tsquery CTE, handed in as `query`);
imports columns, models and params.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import FromClause, Select, SQLColumnExpression, bindparam, select, true

from shababco.catalog.columns import TIMESTAMPTZ, Values, listed, start_key
from shababco.catalog.models import Event, EventSearch
from shababco.catalog.params import EventFilters


@dataclass(frozen=True)
class FilterShape:
    """What a filtered statement depends on besides its values (a search's words apart:
    catalog.search.gin): built once per shape."""

    categories: bool = False
    after: bool = False
    before: bool = False


def filter_shape(filters: EventFilters) -> tuple[FilterShape, Values]:
    """The shape of the filters but the search, and the values of their bound parameters."""
    values: Values = {}
    if filters.categories:
        values["categories"] = list(filters.categories)
    if filters.starts_after is not None:
        values["starts_after"] = filters.starts_after
    if filters.starts_before is not None:
        values["starts_before"] = filters.starts_before
    shape = FilterShape(
        categories=bool(filters.categories),
        after=filters.starts_after is not None,
        before=filters.starts_before is not None,
    )
    return shape, values


def matching(
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
        category, start_date = Event.category_key, Event.start_date
        conditions: list[SQLColumnExpression[bool]] = [listed()]
        source: FromClause = Event.__table__
    else:
        category, start_date = EventSearch.category_key, EventSearch.start_date
        conditions = [EventSearch.listed, EventSearch.document_vector.op("@@")(query.c.match)]
        source = EventSearch.__table__.join(query, true())
    if categories is not None:
        conditions.append(category.in_(categories))
    start = Event.start_key if query is None else start_key("infinity", start_date)
    if after is not None:
        # "< infinity" rather than "start_date IS NOT NULL": the indexes carry only the key.
        conditions += [start >= after, start < start_key("infinity", None)]
    if before is not None:
        conditions.append(start < before)
    return select(*columns).select_from(source).where(*conditions)


def matching_shape(columns: list[Any], shape: FilterShape, query: FromClause | None) -> Select[Any]:
    """`matching` with a bound parameter for each filter the shape has."""
    return matching(
        columns,
        query,
        categories=bindparam("categories", expanding=True) if shape.categories else None,
        after=bindparam("starts_after", type_=TIMESTAMPTZ) if shape.after else None,
        before=bindparam("starts_before", type_=TIMESTAMPTZ) if shape.before else None,
    )
