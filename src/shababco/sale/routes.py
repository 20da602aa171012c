"""`GET /events/{event_id}/live` (availability as Server-Sent Events) and `POST /checkout`.

The router carries its own lifespan, run inside the app's (database, cache and settings are up):
it starts this process's `LiveHub` on the cache's change-log follower and stops it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.responses import Response

from shababco import metrics
from shababco.cache.changelog import latest_seq
from shababco.cache.keys import CacheKey
from shababco.cache.store import Built
from shababco.config import Settings
from shababco.deps import CacheDep, DatabaseDep, SettingsDep
from shababco.errors import ApiError, ErrorOut, error_response, error_responses
from shababco.http import dumps
from shababco.sale import checkout
from shababco.sale.availability import MAX_KEY_LENGTH, availability_frame, on_sale_by_key
from shababco.sale.live import LiveHub, close_streams_on_exit
from shababco.sale.schemas import AvailabilityData, CheckoutErrorOut, CheckoutIn, CheckoutOut
from shababco.sale.stream import EventStream

LIVE_PATH = "/events/{event_id}/live"
CHECKOUT_BODY_BYTES = 64 * 1024
RETRY_AFTER_SECONDS = "5"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    hub = LiveHub(
        app.state.database.read,
        queue_limit=settings.live_queue_messages,
        max_streams=settings.live_max_streams,
        keepalive=settings.live_keepalive_seconds,
    )
    app.state.cache.watch_log(hub.changed)
    hub.start()
    close_streams_on_exit(hub)
    app.state.live = hub
    try:
        yield
    finally:
        await hub.stop()


router = APIRouter(tags=["sale"], lifespan=lifespan)


def live_url(api_url: str, event: str | int) -> str:
    """The live stream of an event (id or handle) on the API at `api_url`, for `curl -N`."""
    return api_url.rstrip("/") + LIVE_PATH.format(event_id=event)


async def get_hub(request: Request) -> LiveHub:
    hub: LiveHub = request.app.state.live
    return hub


HubDep = Annotated[LiveHub, Depends(get_hub)]
STREAM_DOC = {
    "model": AvailabilityData,
    "description": "Server-Sent Events: `availability` messages (`id`: the change-log position, "
    "`data`: this schema as JSON), keep-alive comments, and a last `ended` message "
    '(`data`: `{"event_id", "status"}`) when the event leaves the sale.',
}


def _json_error(description: str) -> dict[str, Any]:
    """An error answer of the stream's route, which is JSON, not an event stream."""
    schema = {"$ref": "#/components/schemas/ErrorOut"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _last_event_id(header: str | None) -> int | None:
    text = (header or "").strip()
    return int(text) if text.isdigit() and len(text) <= 18 else None


async def _client_is_current(seen: int | None, horizon: int, database: DatabaseDep) -> bool:
    """Whether a reconnecting client's last message id leaves nothing to send at once: no change
    was recorded after it. An id beyond this process's position counts if the log has it."""
    if seen is None or seen < horizon:
        return False
    if seen == horizon:
        return True
    async with database.read.connect() as conn:
        return seen <= await latest_seq(conn)


@router.get(
    LIVE_PATH,
    response_class=EventStream,
    status_code=200,
    operation_id="watchEventAvailability",
    responses={
        200: STREAM_DOC,
        404: _json_error("No listed event has this id or handle"),
        503: _json_error("Too many streams here (see Retry-After), or the database is down"),
        **error_responses(500),
    },
)
async def watch_availability(
    event_id: str,
    database: DatabaseDep,
    cache: CacheDep,
    hub: HubDep,
    settings: SettingsDep,
    last_event_id: Annotated[
        str | None, Header(description="Sent by EventSource on reconnect: resume after it.")
    ] = None,
) -> Response:
    """Stream a listed event's availability: at once, then after every change to it."""
    if hub.open >= hub.max_streams:
        return error_response(
            503, "too_many_streams", "this server holds all the streams it can; retry shortly",
            {"Retry-After": RETRY_AFTER_SECONDS},
        )  # fmt: skip
    horizon = cache.generations.horizon  # the snapshot holds every change up to here

    async def compute() -> Built:
        async with database.read.connect() as conn:
            found = await on_sale_by_key(conn, event_id)
        if found is None:
            raise ApiError(404, "not_found", f"no event {event_id!r} on sale")
        return Built(found[1], found[0])

    storable = len(event_id) <= MAX_KEY_LENGTH
    key = CacheKey(f"/events/{event_id}/live", LIVE_PATH, listing=False, storable=storable)
    entry, _ = await cache.fetch(key, compute)
    assert entry.event_id is not None, "a live entry names its event"
    current = await _client_is_current(_last_event_id(last_event_id), horizon, database)
    subscriber = hub.subscribe(entry.event_id, last=None if current else entry.body)
    newest = cache.generations.events.get(entry.event_id, 0)
    if newest > horizon:  # changed while the snapshot was read: send the state after it
        hub.changed(newest, [entry.event_id])
    first = None if current else availability_frame(horizon, entry.body).wire
    return EventStream(hub, subscriber, first)


@router.post(
    "/checkout",
    response_model=CheckoutOut,
    operation_id="checkout",
    max_body_size=CHECKOUT_BODY_BYTES,
    responses={
        404: {"model": CheckoutErrorOut, "description": "A ticket is unknown or not on sale"},
        409: {"model": CheckoutErrorOut, "description": "Not enough tickets left"},
        413: {"model": ErrorOut},
        422: {"model": CheckoutErrorOut, "description": "Malformed, or over the order limit"},
        503: {"model": ErrorOut},
    },
)
async def check_out(order: CheckoutIn, database: DatabaseDep, settings: SettingsDep) -> Response:
    """Check an order against the mirror and answer Shopify's cart permalink for it.

    Nothing is reserved: Shopify's checkout decides what can be bought."""
    storefront = settings.storefront_url
    if storefront is None:
        raise ApiError(503, "checkout_unavailable", "SHOP_STOREFRONT_URL is not set")
    quantities = checkout.merged(order.items)
    async with database.read.connect() as conn:
        found = await checkout.orderable(conn, quantities)
    try:
        lines = checkout.check(quantities, found, default_limit=settings.checkout_max_per_line)
    except checkout.Refusal as refusal:
        metrics.checkout_answered(refusal.code)
        body = {"code": refusal.code, "message": refusal.message, "details": refusal.details}
        return Response(
            dumps({"error": body}),
            status_code=refusal.status,
            media_type="application/json",
            headers={"Cache-Control": "no-store"},
        )
    metrics.checkout_answered("ok")
    answer = {
        "url": checkout.cart_url(storefront, lines),
        "items": [checkout.item(ticket, quantity) for ticket, quantity in lines],
    }
    return Response(
        dumps(answer), media_type="application/json", headers={"Cache-Control": "no-store"}
    )
