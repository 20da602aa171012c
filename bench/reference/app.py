"""The uncached reads as one would write them by hand: FastAPI, an asyncpg pool, orjson.

The same rows by key as `shababco serve` reads (an event and its visible tickets, a ticket list,
the first page of the list and its total), the same JSON keys, nothing else: no cache, no
ETag, no middleware. asyncpg's defaults (a pool of 10, prepared statements cached), JSON
columns decoded by orjson. Environment: `DATABASE_URL`.

    DATABASE_URL=postgresql://… uvicorn bench.reference.app:app
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import Response

EVENT_COLUMNS = """shopify_product_id, handle, title, subtitle, category, tags, status,
    start_date, end_date, venue, images, min_price, currency, available, shopify_updated_at"""
VIEWABLE = """SELECT {columns} FROM events
    WHERE {key} = $1 AND status IN ('active', 'unlisted') AND deleted_at IS NULL
    ORDER BY shopify_updated_at DESC LIMIT 1"""
DETAIL_COLUMNS = f"{EVENT_COLUMNS}, description_html, metafields"
# (by id, by handle) for the detail's row and for the ticket list's event id; the statements
# are put together from the constants above, values are always parameters
EVENT = (
    VIEWABLE.format(columns=DETAIL_COLUMNS, key="shopify_product_id"),
    VIEWABLE.format(columns=DETAIL_COLUMNS, key="handle"),
)
EVENT_ID = (
    VIEWABLE.format(columns="shopify_product_id", key="shopify_product_id"),
    VIEWABLE.format(columns="shopify_product_id", key="handle"),
)
TICKETS = """SELECT shopify_variant_id, name, ticket_type, price, compare_at_price, available,
    sold, features, restrictions FROM tickets WHERE event_id = $1 AND is_visible
    ORDER BY position, shopify_variant_id"""
PAGE = f"""SELECT {EVENT_COLUMNS} FROM events WHERE status = 'active' AND deleted_at IS NULL
    ORDER BY start_key, shopify_product_id LIMIT $1"""  # noqa: S608 (constants only)
# The listed events per category, kept by the writers: the total without counting rows.
TOTAL = "SELECT coalesce(sum(listed), 0)::bigint FROM listing_counts"
CENT = Decimal("0.01")


async def _json_codecs(conn: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(
            name,
            schema="pg_catalog",
            encoder=lambda v: orjson.dumps(v).decode(),
            decoder=orjson.loads,
        )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    url = os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    app.state.pool = await asyncpg.create_pool(url, init=_json_codecs)
    yield
    await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


def money(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(CENT))


def summary(row: asyncpg.Record) -> dict[str, Any]:
    images = row["images"] or []
    return {
        "id": str(row["shopify_product_id"]),
        "handle": row["handle"],
        "title": row["title"],
        "subtitle": row["subtitle"],
        "category": row["category"],
        "tags": row["tags"],
        "status": row["status"],
        "start_date": row["start_date"],
        "end_date": row["end_date"],
        "venue": row["venue"],
        "image": images[0] if images else None,
        "min_price": money(row["min_price"]),
        "currency": row["currency"],
        "available": row["available"],
        "updated_at": row["shopify_updated_at"],
    }


def ticket(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": str(row["shopify_variant_id"]),
        "name": row["name"],
        "ticket_type": row["ticket_type"],
        "price": money(row["price"]),
        "compare_at_price": money(row["compare_at_price"]),
        "capacity": row["available"] + row["sold"],
        "sold": row["sold"],
        "available": row["available"],
        "features": row["features"],
        "restrictions": row["restrictions"],
    }


async def find_event(
    conn: asyncpg.Connection, key: str, statements: tuple[str, str]
) -> asyncpg.Record:
    """The viewable event by canonical decimal id or handle, else 404."""
    if key.isascii() and key.isdigit() and not key.startswith("0"):
        row = await conn.fetchrow(statements[0], int(key))
    else:
        row = await conn.fetchrow(statements[1], key)
    if row is None:
        raise HTTPException(404)
    return row


def json_response(payload: Any) -> Response:
    return Response(orjson.dumps(payload), media_type="application/json")


@app.get("/events")
async def list_events(request: Request, limit: int = 20) -> Response:
    async with request.app.state.pool.acquire() as conn:
        rows = await conn.fetch(PAGE, limit)
        total = await conn.fetchval(TOTAL)
    return json_response({"items": [summary(row) for row in rows], "total": total})


@app.get("/events/{key}")
async def get_event(request: Request, key: str) -> Response:
    async with request.app.state.pool.acquire() as conn:
        event = await find_event(conn, key, EVENT)
        tickets = await conn.fetch(TICKETS, event["shopify_product_id"])
    body = summary(event) | {
        "description": event["description_html"],
        "images": event["images"] or [],
        "metafields": event["metafields"],
        "tickets": [ticket(row) for row in tickets],
    }
    return json_response(body)


@app.get("/events/{key}/tickets")
async def list_tickets(request: Request, key: str) -> Response:
    async with request.app.state.pool.acquire() as conn:
        event = await find_event(conn, key, EVENT_ID)
        tickets = await conn.fetch(TICKETS, event["shopify_product_id"])
    event_id = str(event["shopify_product_id"])
    return json_response({"event_id": event_id, "items": [ticket(row) for row in tickets]})
