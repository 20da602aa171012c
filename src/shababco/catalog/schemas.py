"""Response representations and every answer of the read routes, as OpenAPI shows them.

Pydantic models document the API; the `*_dict` builders produce the same shapes from rows for
orjson, which is what is served (tests/catalog/test_contract.py holds one to the other). The
models forbid extra keys, so the document lists every key the API sends.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from shababco.errors import error_responses

CENT = Decimal("0.01")
MONEY = r"^-?[0-9]+\.[0-9]{2}$"
DECIMAL_ID = r"^[0-9]+$"


class Representation(BaseModel):
    """A response body: exactly these keys."""

    model_config = ConfigDict(extra="forbid")


def money(value: Decimal | None) -> str | None:
    """Money as Shopify writes it: a decimal string with two decimals."""
    return None if value is None else str(value.quantize(CENT))


class Image(Representation):
    url: str | None
    alt: str | None = None
    width: int | None = None
    height: int | None = None
    position: int | None = None


class TicketOut(Representation):
    id: str = Field(description="Shopify variant id, as a string (64-bit).", pattern=DECIMAL_ID)
    name: str
    ticket_type: str | None
    price: str = Field(examples=["25.00"], pattern=MONEY)
    compare_at_price: str | None = Field(pattern=MONEY)
    capacity: int = Field(description="available + sold")
    sold: int
    available: int
    features: Any = None
    restrictions: Any = None


class TicketsOut(Representation):
    event_id: str = Field(pattern=DECIMAL_ID)
    items: list[TicketOut]


class EventSummary(Representation):
    id: str = Field(description="Shopify product id, as a string (64-bit).", pattern=DECIMAL_ID)
    handle: str
    title: str
    subtitle: str | None
    category: str | None
    tags: list[str]
    status: str
    start_date: datetime | None
    end_date: datetime | None
    venue: dict[str, Any] | None
    image: Image | None
    min_price: str | None = Field(pattern=MONEY)
    currency: str
    available: int = Field(description="Sum of available over visible tickets.")
    updated_at: datetime


class EventDetail(EventSummary):
    description: str | None
    images: list[Image]
    metafields: dict[str, Any]
    tickets: list[TicketOut]


class EventsPage(Representation):
    items: list[EventSummary]
    page: int | None = Field(description="The page number; null when paging by cursor.")
    limit: int
    total: int = Field(description="Events matching the filters, on every page.")
    next_cursor: str | None = Field(description="The `cursor` of the next page; null on the last.")


class CategoryCount(Representation):
    name: str
    count: int


class CategoriesOut(Representation):
    items: list[CategoryCount]


CACHED_HEADERS: dict[str, Any] = {
    "ETag": {
        "description": "A strong tag of the body, the same in every process.",
        "required": True,
        "schema": {"type": "string"},
    },
    "Cache-Control": {"required": True, "schema": {"type": "string"}},
    "X-Cache": {
        "description": "Where the answer came from: the process (l1), Redis (l2), another"
        " request's fill (wait), or the database (miss).",
        "schema": {"type": "string", "enum": ["l1", "l2", "wait", "miss"]},
    },
}
# Documented beside each route's own parameters (its handler reads it from the request).
CONDITIONAL = {
    "parameters": [
        {
            "name": "If-None-Match",
            "in": "header",
            "required": False,
            "description": "ETags of a copy the client holds: 304 if one is current.",
            "schema": {"type": "string"},
        }
    ]
}
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {
        "description": "Not Modified: `If-None-Match` names the current ETag. No body.",
        "headers": CACHED_HEADERS,
    }
}
Responses = dict[int | str, dict[str, Any]]
LIST_RESPONSES: Responses = {
    200: {"headers": CACHED_HEADERS},
    **NOT_MODIFIED,
    **error_responses(400, 422, 500, 503),
}
DETAIL_RESPONSES: Responses = {
    200: {"headers": CACHED_HEADERS},
    301: {
        "description": "Moved Permanently: an old handle of the event; `Location` holds the"
        " current one. No body.",
        "headers": {"Location": {"required": True, "schema": {"type": "string"}}},
    },
    **NOT_MODIFIED,
    **error_responses(404, 500, 503),
}
CATEGORIES_RESPONSES: Responses = {
    200: {"headers": CACHED_HEADERS},
    **NOT_MODIFIED,
    **error_responses(500, 503),
}


def summary_dict(row: Any) -> dict[str, Any]:
    """An event's summary from its row: SQLAlchemy's or the driver's (catalog.run)."""
    images = row.images or []
    return {
        "id": str(row.shopify_product_id),
        "handle": row.handle,
        "title": row.title,
        "subtitle": row.subtitle,
        "category": row.category,
        "tags": row.tags,
        "status": row.status,
        "start_date": row.start_date,
        "end_date": row.end_date,
        "venue": row.venue,
        "image": images[0] if images else None,
        "min_price": money(row.min_price),
        "currency": row.currency,
        "available": row.available,
        "updated_at": row.shopify_updated_at,
    }


def tickets_of_json(text: str | None) -> list[dict[str, Any]]:
    """The ticket representations of a statement's `tickets_json` (catalog.detail builds them)."""
    return [] if text is None else list(orjson.loads(text))


def detail_dict(row: Any) -> dict[str, Any]:
    """An event's detail from its row with `tickets_json` (catalog.detail.get_event)."""
    return {
        **summary_dict(row),
        "description": row.description_html,
        "images": row.images or [],
        "metafields": row.metafields,
        "tickets": tickets_of_json(row.tickets_json),
    }
