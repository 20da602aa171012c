"""Searches: the one entry point (`search_events`), and the text normalizer both sides share.

`choose_method` names the index that answers a search: the postings (search.postings) for one
word by relevance and no other filter, the GIN index (search.gin) for every other. Each builds
its statement once per shape and binds each request's values (catalog.run): building a search
statement cost 5-11 ms of SQLAlchemy construction, binding its values costs microseconds.
Imported by routes, and by shopify.apply for `search_document`; imports its modules, listing
(the page), run and params.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncConnection

from shababco.catalog import run
from shababco.catalog.columns import Values
from shababco.catalog.listing import EventPage
from shababco.catalog.params import EventFilters, EventListParams, Sort
from shababco.catalog.search import gin, postings
from shababco.catalog.search.totals import totalled_page
from shababco.catalog.search.words import (
    category_key,
    normalize,
    query_words,
    search_document,
    tokens,
)

__all__ = [
    "Method",
    "category_key",
    "choose_method",
    "finds_nothing",
    "normalize",
    "page_query",
    "query_words",
    "search_document",
    "search_events",
    "tokens",
]


class Method(Enum):
    POSTINGS = "postings"  # search.postings: ranked and counted from the postings' index alone
    GIN = "gin"  # search.gin: matched through the GIN index, then sorted and counted


def finds_nothing(filters: EventFilters) -> bool:
    """Whether the filters hold a search without a word (only punctuation or marks, say): a valid
    search that matches no event, answered without a query."""
    return filters.search is not None and not query_words(filters.search)


def choose_method(params: EventListParams) -> Method:
    """POSTINGS for a one-word search by relevance without other filters, else GIN."""
    filters = params.filters
    if params.sort is not Sort.RELEVANCE or not filters.search:
        return Method.GIN
    if filters.categories or filters.starts_after or filters.starts_before:
        return Method.GIN
    return Method.POSTINGS if len(query_words(filters.search)) == 1 else Method.GIN


def page_query(params: EventListParams) -> tuple[Select[Any], Values]:
    """The statement answering this search (its page with its total), and its values."""
    if choose_method(params) is Method.POSTINGS:
        return postings.page_query(params)
    return gin.page_query(params)


async def search_events(conn: AsyncConnection, params: EventListParams) -> EventPage:
    """One page of the listed events matching a search, their total, and the cursor of the
    next page: one statement (none for a search that `finds_nothing`)."""
    if finds_nothing(params.filters):
        return EventPage(rows=[], total=0, next_cursor=None)
    return totalled_page(params, await run.rows(conn, *page_query(params)))
