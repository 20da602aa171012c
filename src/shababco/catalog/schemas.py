"""Response representations (SPEC §4). Pydantic models document the API in OpenAPI; the
`*_dict` builders produce the same shapes from rows for orjson, which is what is served."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Row

CENT = Decimal("0.01")


def money(value: Decimal | None) -> str | None:
    """Money as Shopify writes it: a decimal string with two decimals."""
    return None if value is None else str(value.quantize(CENT))


class Image(BaseModel):
    url: str | None
    alt: str | None = None
    width: int | None = None
    height: int | None = None
    position: int | None = None


class TicketOut(BaseModel):
    id: str = Field(description="Shopify variant id, as a string (64-bit).")
    name: str
    ticket_type: str | None
    price: str = Field(examples=["25.00"])
    compare_at_price: str | None
    capacity: int = Field(description="available + sold")
    sold: int
    available: int
    features: Any = None
    restrictions: Any = None


class TicketsOut(BaseModel):
    event_id: str
    items: list[TicketOut]


class EventSummary(BaseModel):
    id: str = Field(description="Shopify product id, as a string (64-bit).")
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
    min_price: str | None
    currency: str
    available: int = Field(description="Sum of available over visible tickets.")
    updated_at: datetime


class EventDetail(EventSummary):
    description: str | None
    images: list[Image]
    metafields: dict[str, Any]
    tickets: list[TicketOut]


class EventsPage(BaseModel):
    items: list[EventSummary]
    page: int | None = Field(description="The page number; null when paging by cursor.")
    limit: int
    total: int
    next_cursor: str | None


class CategoryCount(BaseModel):
    name: str
    count: int


class CategoriesOut(BaseModel):
    items: list[CategoryCount]


def summary_dict(row: Row[Any]) -> dict[str, Any]:
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


def ticket_dict(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": str(row.shopify_variant_id),
        "name": row.name,
        "ticket_type": row.ticket_type,
        "price": money(row.price),
        "compare_at_price": money(row.compare_at_price),
        "capacity": row.available + row.sold,
        "sold": row.sold,
        "available": row.available,
        "features": row.features,
        "restrictions": row.restrictions,
    }


def detail_dict(row: Row[Any], tickets: Sequence[Row[Any]]) -> dict[str, Any]:
    return {
        **summary_dict(row),
        "description": row.description_html,
        "images": row.images or [],
        "metafields": row.metafields,
        "tickets": [ticket_dict(ticket) for ticket in tickets],
    }
