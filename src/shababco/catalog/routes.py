"""The public read endpoints (SPEC §4)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from shababco.catalog import queries
from shababco.catalog.params import Cursor, EventFilters, EventListParams, InvalidCursor, Sort
from shababco.catalog.schemas import (
    CategoriesOut,
    EventDetail,
    EventsPage,
    TicketsOut,
    detail_dict,
    summary_dict,
    ticket_dict,
)
from shababco.deps import ReadConnection
from shababco.errors import ApiError, ErrorOut
from shababco.http import DETAIL_CACHE_CONTROL, LIST_CACHE_CONTROL, dumps, json_response

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
    chosen = sort or (Sort.RELEVANCE if search else Sort.START_DATE)
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
        filters=filters, sort=chosen, limit=limit, page=page or 1, cursor=decoded
    )


@router.get("/events", response_model=EventsPage, operation_id="listEvents", responses=ERRORS)
async def list_events(
    request: Request,
    conn: ReadConnection,
    page: Annotated[int | None, Query(ge=1, le=100_000, description="1-based page")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
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
    result = await queries.list_events(conn, params)
    body = dumps(
        {
            "items": [summary_dict(row) for row in result.rows],
            "page": None if params.cursor else params.page,
            "limit": params.limit,
            "total": result.total,
            "next_cursor": result.next_cursor.encode() if result.next_cursor else None,
        }
    )
    return json_response(request, body, LIST_CACHE_CONTROL)


def _not_found(key: str) -> ApiError:
    return ApiError(404, "not_found", f"no event {key!r}")


@router.get(
    "/events/{event_id}",
    response_model=EventDetail,
    operation_id="getEvent",
    responses={404: {"model": ErrorOut}, **ERRORS},
)
async def get_event(request: Request, conn: ReadConnection, event_id: str) -> Response:
    """One active or unlisted event by Shopify product id or handle, with its visible tickets."""
    event = await queries.get_event(conn, event_id)
    if event is None:
        raise _not_found(event_id)
    tickets = await queries.visible_tickets(conn, event.shopify_product_id)
    return json_response(request, dumps(detail_dict(event, tickets)), DETAIL_CACHE_CONTROL)


@router.get(
    "/events/{event_id}/tickets",
    response_model=TicketsOut,
    operation_id="listEventTickets",
    responses={404: {"model": ErrorOut}, **ERRORS},
)
async def list_tickets(request: Request, conn: ReadConnection, event_id: str) -> Response:
    """The visible tickets of an event with price, capacity, sold and available."""
    found = await queries.tickets_of(conn, event_id)
    if found is None:
        raise _not_found(event_id)
    event_id_of, tickets = found
    body = dumps(
        {
            "event_id": str(event_id_of),
            "items": [ticket_dict(ticket) for ticket in tickets],
        }
    )
    return json_response(request, body, DETAIL_CACHE_CONTROL)


@router.get("/categories", response_model=CategoriesOut, operation_id="listCategories")
async def list_categories(request: Request, conn: ReadConnection) -> Response:
    """Categories of active events with their counts."""
    rows = await queries.category_counts(conn)
    body = dumps({"items": [{"name": row.category, "count": row.count} for row in rows]})
    return json_response(request, body, LIST_CACHE_CONTROL)
