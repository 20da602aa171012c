"""The public read endpoints, answered through the response cache.

Each handler validates its parameters, then asks the cache for the response bytes, handing it
the computation to run on a miss: one connection, at most two statements (an event and its
tickets: one; a key no event has now: one more, for where its handle moved), one serialization.
Imports listing, search and detail (the statements), params, schemas and the cache.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from shababco.cache.asgi import entry_response
from shababco.cache.core import Compute
from shababco.cache.store import Built
from shababco.catalog import detail, listing
from shababco.catalog.inputs import (
    Categories,
    CursorText,
    Limit,
    Page,
    SearchText,
    SortOrder,
    StartsAfter,
    StartsBefore,
    is_blank,
)
from shababco.catalog.keys import cache_key
from shababco.catalog.listing import EventPage
from shababco.catalog.params import (
    DEFAULT_LIMIT,
    DEFAULT_SORT,
    FIRST_PAGE,
    NUL,
    Cursor,
    EventFilters,
    EventListParams,
    InvalidCursor,
    Sort,
)
from shababco.catalog.schemas import (
    CATEGORIES_RESPONSES,
    CONDITIONAL,
    DETAIL_RESPONSES,
    LIST_RESPONSES,
    CategoriesOut,
    EventDetail,
    EventsPage,
    TicketsOut,
    detail_dict,
    summary_dict,
    tickets_of_json,
)
from shababco.catalog.search import category_key, finds_nothing, search_events
from shababco.database.engines import Database
from shababco.deps import cache_of, database_of
from shababco.errors import ApiError
from shababco.http import DETAIL_CACHE_CONTROL, dumps

router = APIRouter(tags=["catalog"])
LIST_DESCRIPTION = """List active events, filtered, sorted and paginated (by page or keyset cursor).

Constraints between parameters: `page` and `cursor` exclude each other (400); `sort=relevance`
needs a `search` (422); a `cursor` holds its sort, so it must come with the same `sort` (400).
Every parameter given blank (empty, or spaces) is the same as one not given."""
EVENT_KEY_DESCRIPTION = (
    "The Shopify product id in canonical decimal (ASCII digits, no leading zero) or the event's"
    " current handle; any other spelling is 404. An old handle answers 301 to the current one."
)
EventKey = Annotated[str, Path(description=EVENT_KEY_DESCRIPTION)]


def _list_params(
    *,
    page: int | None,
    limit: int | None,
    cursor: str | None,
    category: list[str] | None,
    search: str | None,
    starts_after: datetime | None,
    starts_before: datetime | None,
    sort: Sort | None,
) -> EventListParams:
    if page is not None and cursor is not None:
        raise ApiError(400, "bad_request", "use either page or cursor, not both")
    if sort is Sort.RELEVANCE and search is None:
        raise ApiError(422, "invalid_parameter", "sort=relevance needs a search")
    chosen = sort or (Sort.RELEVANCE if search else DEFAULT_SORT)
    decoded = None
    if cursor is not None:
        try:
            decoded = Cursor.decode(cursor, chosen)
        except InvalidCursor as exc:
            raise ApiError(400, "invalid_cursor", str(exc)) from None
    names = (name for name in category or () if not is_blank(name))
    filters = EventFilters(
        categories=tuple(dict.fromkeys(category_key(name) for name in names)),
        search=search,
        starts_after=starts_after,
        starts_before=starts_before,
    )
    return EventListParams(
        filters=filters,
        sort=chosen,
        limit=limit or DEFAULT_LIMIT,
        page=page or FIRST_PAGE,
        cursor=decoded,
    )


@router.get(
    "/events",
    response_model=EventsPage,
    operation_id="listEvents",
    description=LIST_DESCRIPTION,
    responses=LIST_RESPONSES,
    openapi_extra=CONDITIONAL,
)
async def list_events(
    request: Request,
    page: Page = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorText = None,
    category: Categories = None,
    search: SearchText = None,
    starts_after: StartsAfter = None,
    starts_before: StartsBefore = None,
    sort: SortOrder = None,
) -> Response:
    """List active events (the OpenAPI description: LIST_DESCRIPTION)."""
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
    database = database_of(request)

    async def compute() -> Built:
        if finds_nothing(params.filters):
            result = EventPage(rows=[], total=0, next_cursor=None)
        else:
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

    return await _cached(request, compute)


async def _cached(request: Request, compute: Compute) -> Response:
    cache = cache_of(request)
    key = cache_key(request.scope["path"], request.scope["query_string"])
    assert key is not None, "every catalog route is cacheable"
    entry, source = await cache.fetch(key, compute)
    return entry_response(request, entry, source)


class Moved(Exception):
    """The event answers at another URL: its handle changed."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


def _not_found(key: str) -> ApiError:
    return ApiError(404, "not_found", f"no event {key!r}")


async def _moved_or_not_found(database: Database, key: str, rest: str) -> Exception:
    """`Moved` to the current handle if `key` is an old handle of a viewable event, else 404."""
    async with database.read.connect() as conn:
        handle = await detail.current_handle(conn, key)
    if handle is None:
        return _not_found(key)
    return Moved(f"/events/{quote(handle, safe='')}{rest}")


async def _addressed(request: Request, key: str, compute: Compute) -> Response:
    """The cached answer of an event's route; 404 without a query for a key no event can have."""
    if NUL in key:
        raise _not_found(key)
    try:
        return await _cached(request, compute)
    except Moved as moved:
        headers = {"Cache-Control": DETAIL_CACHE_CONTROL}
        return RedirectResponse(moved.location, status_code=301, headers=headers)


@router.get(
    "/events/{event_id}",
    response_model=EventDetail,
    operation_id="getEvent",
    responses=DETAIL_RESPONSES,
    openapi_extra=CONDITIONAL,
)
async def get_event(request: Request, event_id: EventKey) -> Response:
    """One active or unlisted event by Shopify product id or handle, with its visible tickets."""
    database = database_of(request)

    async def compute() -> Built:
        event = await detail.get_event(database.read, event_id)
        if event is None:
            raise await _moved_or_not_found(database, event_id, "")
        return Built(dumps(detail_dict(event)), event.shopify_product_id)

    return await _addressed(request, event_id, compute)


@router.get(
    "/events/{event_id}/tickets",
    response_model=TicketsOut,
    operation_id="listEventTickets",
    responses=DETAIL_RESPONSES,
    openapi_extra=CONDITIONAL,
)
async def list_tickets(request: Request, event_id: EventKey) -> Response:
    """The visible tickets of an event with price, capacity, sold and available."""
    database = database_of(request)

    async def compute() -> Built:
        found = await detail.tickets_of(database.read, event_id)
        if found is None:
            raise await _moved_or_not_found(database, event_id, "/tickets")
        found_id = found.shopify_product_id
        items = tickets_of_json(found.tickets_json)
        return Built(dumps({"event_id": str(found_id), "items": items}), found_id)

    return await _addressed(request, event_id, compute)


@router.get(
    "/categories",
    response_model=CategoriesOut,
    operation_id="listCategories",
    responses=CATEGORIES_RESPONSES,
    openapi_extra=CONDITIONAL,
)
async def list_categories(request: Request) -> Response:
    """Categories of active events with their counts, in the store's spelling: the spellings of
    one category (`Music`, `music`) count as one, named as most of its events write it."""
    database = database_of(request)

    async def compute() -> Built:
        async with database.read.connect() as conn:
            rows = await detail.category_counts(conn)
        return Built(dumps({"items": [{"name": row.category, "count": row.count} for row in rows]}))

    return await _cached(request, compute)
