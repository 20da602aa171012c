"""Search pages that carry their total: the statement's form, and the page read back from it.

Imported by search.gin, search.postings and catalog.search; imports listing (the page).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import FromClause, Row, Select, select, true

from shababco.catalog.listing import EventPage, page_of
from shababco.catalog.params import EventListParams


def totalled(
    total: Select[Any], rows: FromClause, columns: list[Any], order: tuple[Any, ...]
) -> Select[Any]:
    """The columns of `rows` with `total` beside each: `total LEFT JOIN rows`, so an empty page
    is a single row with the total and no event (`shopify_product_id` NULL)."""
    counted = total.subquery("counted")
    return (
        select(*columns, counted.c.total)
        .select_from(counted.outerjoin(rows, true()))
        .order_by(*order)
    )


def totalled_page(params: EventListParams, rows: Sequence[Row[Any]]) -> EventPage:
    """The page of a `totalled` statement's rows: its events, their total and the next cursor."""
    if not rows:  # never from a `totalled` statement: it has the total's row at least
        return page_of(params, [], 0)
    total = rows[0].total
    return page_of(params, rows if rows[0].shopify_product_id is not None else [], total)
