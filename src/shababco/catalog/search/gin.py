"""Searches answered through the GIN index of `event_search`: any sort, any filters, any words.

One statement per request: a search ranks all its matches anyway, so its page carries their
total (search.totals). Imported by catalog.search; imports search.tsquery, search.totals,
listing (the keyset page), filters, columns, models and params.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, func, select

from shababco.catalog import listing
from shababco.catalog.columns import STATEMENT_SHAPES, Values, ordering, sort_key
from shababco.catalog.filters import FilterShape, filter_shape, matching_shape
from shababco.catalog.models import Event, EventSearch
from shababco.catalog.params import EventFilters, EventListParams, Sort
from shababco.catalog.search.totals import totalled
from shababco.catalog.search.tsquery import SearchShape, search_cte, search_values


@dataclass(frozen=True)
class _PageShape:
    """What a search's page statement depends on besides its values: built once per shape."""

    search: SearchShape
    filters: FilterShape
    sort: Sort
    cursor: bool


def search_filters(filters: EventFilters) -> tuple[SearchShape, FilterShape, Values] | None:
    """The shapes of a search's words and other filters, and all their values; None if the
    search has no word."""
    searched = search_values(filters.search or "")
    if searched is None:
        return None
    shape, filter_values = filter_shape(filters)
    return searched[0], shape, {**searched[1], **filter_values}


def page_query(params: EventListParams) -> tuple[Select[Any], Values]:
    """The page statement of this search's shape (built once) and the values it runs with."""
    searched = search_filters(params.filters)
    assert searched is not None, "a search without a word is never run (search.finds_nothing)"
    search, filters, values = searched
    shape = _PageShape(search, filters, params.sort, params.cursor is not None)
    return _page_statement(shape), values | listing.page_values(params)


@lru_cache(maxsize=STATEMENT_SHAPES)
def _page_statement(shape: _PageShape) -> Select[Any]:
    """One page of the matching events (limit + 1 rows), each with the total.

    The (id, key) pairs of the matches are materialized once, then counted and sorted (the rows
    kept are 16 bytes wide, not the vectors the key was computed from); the page's few wide
    rows are joined last. The total comes as a column of every row, or of a single row without
    an event when the page is empty (`totalled`). Counting apart visited every match twice.
    """
    query = search_cte(shape.search)
    key, key_type = sort_key(shape.sort, query)
    picked = matching_shape(
        [EventSearch.event_id.label("picked_id"), key.label("sort_key")], shape.filters, query
    )
    matches = picked.cte("matches").prefix_with("MATERIALIZED")
    key, event_id = matches.c.sort_key, matches.c.picked_id
    page = listing.keyset_page(select(matches), key, event_id, key_type, shape.sort, shape.cursor)
    rows = page.join(Event, Event.shopify_product_id == page.c.picked_id)
    order = ordering(page.c.sort_key, page.c.picked_id, shape.sort.descending)
    total = select(func.count().label("total")).select_from(matches)
    return totalled(total, rows, listing.page_columns(page), order)
