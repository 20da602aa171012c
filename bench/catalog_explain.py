"""The read side's statements with their values bound in, for EXPLAIN (bench.catalog_reads) and
tests: what a request of these parameters runs, built by the modules of shababco.catalog.

Also the count of a search's matches, which no request runs (a search's page carries its total)
but which the benchmark explains and the tests compare with the pages.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func

from shababco.catalog import detail, listing, search
from shababco.catalog.columns import Values
from shababco.catalog.filters import matching_shape
from shababco.catalog.params import EventFilters, EventListParams
from shababco.catalog.search import gin
from shababco.catalog.search.tsquery import search_cte


def first_page_statement(params: EventListParams) -> Select[Any]:
    """What a list request runs first for these parameters (a search: all it runs)."""
    if params.filters.search is None:
        return page_statement(params)
    statement, values = search.page_query(params)
    return statement.params(values)


def page_statement(params: EventListParams) -> Select[Any]:
    """The list's page statement, or a search's through the GIN index."""
    if params.filters.search is None:
        statement, values = listing.page_query(params)
    else:
        statement, values = gin.page_query(params)
    return statement.params(values)


def count_query(filters: EventFilters) -> tuple[Select[Any], Values]:
    """The statement counting the matches, and its values; a search's matched as search.gin
    matches them."""
    searched = gin.search_filters(filters)
    if searched is None:
        return listing.count_query(filters)
    words, shape, values = searched
    return matching_shape([func.count()], shape, search_cte(words)), values


def count_statement(filters: EventFilters) -> Select[Any]:
    statement, values = count_query(filters)
    return statement.params(values) if values else statement


def event_statement(key: str) -> Select[Any]:
    statement, values = detail.event_query(key)
    return statement.params(values)


def tickets_of_statement(key: str) -> Select[Any]:
    statement, values = detail.tickets_of_query(key)
    return statement.params(values)
