"""Plain records of the simulated store's state (products, inventory, orders, subscriptions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

# The shop's own time zone: REST bodies carry local offsets, GraphQL carries UTC.
SHOP_TIMEZONE = timezone(timedelta(hours=3))


def gid(kind: str, resource_id: int) -> str:
    """Return Shopify's global id for a resource."""
    return f"gid://shopify/{kind}/{resource_id}"


def parse_gid(value: str, kind: str) -> int | None:
    """Return the numeric id inside a global id of the given kind, or None."""
    prefix = f"gid://shopify/{kind}/"
    if not value.startswith(prefix):
        return None
    digits = value[len(prefix) :].split("?", 1)[0]
    return int(digits) if digits.isdigit() else None


def rest_time(moment: datetime | None) -> str | None:
    """Format a timestamp the way REST bodies do (shop offset, seconds)."""
    if moment is None:
        return None
    return moment.astimezone(SHOP_TIMEZONE).isoformat(timespec="seconds")


def graphql_time(moment: datetime | None) -> str | None:
    """Format a timestamp the way GraphQL DateTime does (UTC, seconds, Z)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def money(amount: Decimal | None) -> str | None:
    """Format money as Shopify does: a decimal string with two places."""
    return None if amount is None else f"{amount:.2f}"


@dataclass
class Metafield:
    id: int
    owner_kind: str
    owner_id: int
    namespace: str
    key: str
    type: str
    value: str
    created_at: datetime
    updated_at: datetime


@dataclass
class Image:
    id: int
    media_id: int
    product_id: int
    url: str
    alt: str | None
    width: int
    height: int
    position: int
    created_at: datetime
    updated_at: datetime


@dataclass
class Location:
    id: int
    name: str
    address1: str
    city: str
    country_code: str
    created_at: datetime


@dataclass
class InventoryLevel:
    inventory_item_id: int
    location_id: int
    available: int
    created_at: datetime
    updated_at: datetime


@dataclass
class ProductOption:
    id: int
    name: str
    values: list[str]


@dataclass
class Variant:
    id: int
    product_id: int
    inventory_item_id: int
    title: str
    price: Decimal
    compare_at_price: Decimal | None
    position: int
    sku: str | None
    option_values: list[str]
    created_at: datetime
    updated_at: datetime
    inventory_policy: str = "deny"
    taxable: bool = True
    barcode: str | None = None
    metafields: dict[tuple[str, str], Metafield] = field(default_factory=dict)
    levels: dict[int, InventoryLevel] = field(default_factory=dict)
    old_inventory_quantity: int = 0

    @property
    def available(self) -> int:
        """Sum of `available` over every location."""
        return sum(level.available for level in self.levels.values())


@dataclass
class Product:
    id: int
    title: str
    handle: str
    status: str
    product_type: str
    vendor: str
    tags: list[str]
    description_html: str
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    options: list[ProductOption] = field(default_factory=list)
    variants: list[Variant] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    metafields: dict[tuple[str, str], Metafield] = field(default_factory=dict)


@dataclass
class LineItem:
    id: int
    variant_id: int | None
    product_id: int | None
    title: str
    variant_title: str | None
    sku: str | None
    quantity: int
    price: Decimal
    claimed: dict[int, int] = field(default_factory=dict)


@dataclass
class RefundLineItem:
    id: int
    line_item_id: int
    quantity: int
    restock_type: str
    location_id: int | None


@dataclass
class Refund:
    id: int
    order_id: int
    note: str | None
    created_at: datetime
    line_items: list[RefundLineItem]

    @property
    def restock(self) -> bool:
        """True when any refunded line went back to stock."""
        return any(line.restock_type != "no_restock" for line in self.line_items)


@dataclass
class Order:
    id: int
    number: int
    email: str | None
    created_at: datetime
    updated_at: datetime
    line_items: list[LineItem]
    financial_status: str = "paid"
    note: str | None = None
    tags: list[str] = field(default_factory=list)
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    refunds: list[Refund] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The merchant-facing order name such as #1001."""
        return f"#{self.number}"


@dataclass
class WebhookSubscription:
    id: int
    topic: str
    uri: str
    format: str
    metafield_namespaces: list[str]
    include_fields: list[str]
    filter: str | None
    api_version: str
    created_at: datetime
    updated_at: datetime
    name: str | None = None


@dataclass
class BulkOperation:
    id: int
    query: str
    group_objects: bool
    created_at: datetime
    status: str = "CREATED"
    completed_at: datetime | None = None
    object_count: int = 0
    root_object_count: int = 0
    file_size: int | None = None
    url: str | None = None
    error_code: str | None = None
    result: bytes = b""
