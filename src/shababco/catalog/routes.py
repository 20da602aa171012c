"""The public read endpoints (SPEC §4), answered through the response cache (SPEC §8).

Each handler validates its parameters, then asks the cache for the response bytes, handing it
the computation to run on a miss: one connection, at most two statements, one serialization.
Imports listing, search and detail (the statements), params, schemas and the cache.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from shababco.cache.asgi import entry_response
from shababco.cache.core import Compute
from shababco.cache.store import Built
from shababco.catalog import detail, listing
from shababco.catalog.keys import cache_key
from shababco.catalog.params import (
    DEFAULT_LIMIT,
    DEFAULT_SORT,
    FIRST_PAGE,
    Cursor,
    EventFilters,
    EventListParams,
    InvalidCursor,
    Sort,
)
from shababco.catalog.schemas import (
    CategoriesOut,
    EventDetail,
    EventsPage,
    TicketsOut,
    detail_dict,
    summary_dict,
    ticket_dict,
)
from shababco.catalog.search import search_events
from shababco.deps import CacheDep, DatabaseDep
from shababco.errors import ApiError, ErrorOut
from shababco.http import dumps

router = APIRouter(tags=["catalog"])
ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorOut},
    422: {"model": ErrorOut},
    503: {"model": ErrorOut},
}


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _list_params(
    *,
    page: int | None,
    limit: int,
    cursor: str | None,
    category: list[str] | None,
    search: str | None,
    starts_after: datetime | None,
    starts_before: datetime | None,
    sort: Sort | None,
) -> EventListParams:
    if page is not None and cursor is not None:
        raise ApiError(400, "bad_request", "use either page or cursor, not both")
    search = (search or "").strip() or None
    if sort is Sort.RELEVANCE and search is None:
        raise ApiError(422, "invalid_parameter", "sort=relevance needs a search")
    chosen = sort or (Sort.RELEVANCE if search else DEFAULT_SORT)
    decoded = None
    if cursor is not None:
        try:
            decoded = Cursor.decode(cursor, chosen)
        except InvalidCursor as exc:
            raise ApiError(400, "invalid_cursor", str(exc)) from None
    categories = tuple(dict.fromkeys(c.strip() for c in category or () if c.strip()))
    filters = EventFilters(
        categories=categories,
        search=search,
        starts_after=_aware(starts_after),
        starts_before=_aware(starts_before),
    )
    return EventListParams(
        filters=filters, sort=chosen, limit=limit, page=page or FIRST_PAGE, cursor=decoded
    )


@router.get("/events", response_model=EventsPage, operation_id="listEvents", responses=ERRORS)
async def list_events(
    request: Request,
    database: DatabaseDep,
    cache: CacheDep,
    page: Annotated[int | None, Query(ge=1, le=100_000, description="1-based page")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512, description="next_cursor")] = None,
    category: Annotated[list[str] | None, Query(max_length=200)] = None,
    search: Annotated[str | None, Query(max_length=200)] = None,
    starts_after: Annotated[datetime | None, Query(description="start_date ≥ this")] = None,
    starts_before: Annotated[datetime | None, Query(description="start_date < this")] = None,
    sort: Annotated[Sort | None, Query(description="default start_date; relevance")] = None,
) -> Response:
    """List active events, filtered, sorted and paginated (by page or keyset cursor)."""
    params = _list_params(
        page=page,
        limit=limit,
        cursor=cursor,
        category=category,
        search=search,
        starts_after=starts_after,
        starts_before=starts_before,
        sort=sort,
    )

    async def compute() -> Built:
        async with database.reads(search=bool(params.filters.search)).connect() as conn:
            if params.filters.search is None:
                result = await listing.list_events(conn, params)
            else:
                result = await search_events(conn, params)
        page = {
            "items": [summary_dict(row) for row in result.rows],
            "page": None if params.cursor else params.page,
            "limit": params.limit,
            "total": result.total,
            "next_cursor": result.next_cursor.encode() if result.next_cursor else None,
        }
        return Built(dumps(page))

    return await _cached(request, cache, compute)


async def _cached(request: Request, cache: CacheDep, compute: Compute) -> Response:
    key = cache_key(request.scope["path"], request.scope["query_string"])
    assert key is not None, "every catalog route is cacheable"
    entry, source = await cache.fetch(key, compute)
    return entry_response(request, entry, source)


def _not_found(key: str) -> ApiError:
    return ApiError(404, "not_found", f"no event {key!r}")


@router.get(
    "/events/{event_id}",
    response_model=EventDetail,
    operation_id="getEvent",
    responses={404: {"model": ErrorOut}, **ERRORS},
)
async def get_event(
    request: Request, database: DatabaseDep, cache: CacheDep, event_id: str
) -> Response:
    """One active or unlisted event by Shopify product id or handle, with its visible tickets."""

    async def compute() -> Built:
        async with database.read.connect() as conn:
            event = await detail.get_event(conn, event_id)
            if event is None:
                raise _not_found(event_id)
            tickets = await detail.visible_tickets(conn, event.shopify_product_id)
        return Built(dumps(detail_dict(event, tickets)), event.shopify_product_id)

    return await _cached(request, cache, compute)


@router.get(
    "/events/{event_id}/tickets",
    response_model=TicketsOut,
    operation_id="listEventTickets",
    responses={404: {"model": ErrorOut}, **ERRORS},
)
async def list_tickets(
    request: Request, database: DatabaseDep, cache: CacheDep, event_id: str
) -> Response:
    """The visible tickets of an event with price, capacity, sold and available."""

    async def compute() -> Built:
        async with database.read.connect() as conn:
            found = await detail.tickets_of(conn, event_id)
        if found is None:
            raise _not_found(event_id)
        event_id_of, tickets = found
        items = [ticket_dict(ticket) for ticket in tickets]
        return Built(dumps({"event_id": str(event_id_of), "items": items}), event_id_of)

    return await _cached(request, cache, compute)


@router.get("/categories", response_model=CategoriesOut, operation_id="listCategories")
async def list_categories(request: Request, database: DatabaseDep, cache: CacheDep) -> Response:
    """Categories of active events with their counts."""

    async def compute() -> Built:
        async with database.read.connect() as conn:
            rows = await detail.category_counts(conn)
        return Built(dumps({"items": [{"name": row.category, "count": row.count} for row in rows]}))

    return await _cached(request, cache, compute)
