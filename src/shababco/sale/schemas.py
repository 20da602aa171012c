"""The sale's representations: the checkout request and answers, and the live messages' data.

Pydantic models validate the checkout body and document both routes in OpenAPI; the live
messages are built as bytes (sale.availability) in the shapes documented here.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StrictInt, StrictStr

MAX_LINES = 100
TicketId = Annotated[
    StrictStr,
    Field(pattern=r"^[0-9]{1,19}$", description="Shopify variant id, as a string (64-bit)."),
]


class CheckoutLine(BaseModel):
    ticket_id: TicketId
    quantity: Annotated[StrictInt, Field(ge=1, le=1_000_000)]


class CheckoutIn(BaseModel):
    items: Annotated[list[CheckoutLine], Field(min_length=1, max_length=MAX_LINES)]


class CheckoutItem(BaseModel):
    ticket_id: str
    event_id: str
    name: str
    price: str = Field(examples=["25.00"])
    quantity: int = Field(description="Lines of the same ticket merged.")
    available: int = Field(description="Available when checked; nothing is reserved.")


class CheckoutOut(BaseModel):
    url: str = Field(
        description="Shopify's cart permalink: opens checkout with these tickets.",
        examples=["https://shop.example.com/cart/44000000000001:2,44000000000002:1"],
    )
    items: list[CheckoutItem]


class CheckoutErrorBody(BaseModel):
    code: str = Field(examples=["unavailable", "not_found", "over_limit"])
    message: str
    details: list[dict[str, Any]] = Field(
        default_factory=list,
        description="One entry per offending ticket: `ticket_id`, and `requested` with "
        "`available` (unavailable) or `max_per_order` (over_limit).",
    )


class CheckoutErrorOut(BaseModel):
    error: CheckoutErrorBody


class TicketAvailability(BaseModel):
    id: str
    available: int
    sold_out: bool


class AvailabilityData(BaseModel):
    """The `data` of an `availability` message."""

    event_id: str
    available: int = Field(description="Sum of available over visible tickets.")
    tickets: list[TicketAvailability]


class EndedData(BaseModel):
    """The `data` of the `ended` message, the last of a stream."""

    event_id: str
    status: str = Field(examples=["deleted", "draft", "archived", "unlisted"])
