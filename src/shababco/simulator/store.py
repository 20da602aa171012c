"""The simulated store's in-memory state, its id allocator and its change events."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shababco.simulator.models import (
    BulkOperation,
    InventoryLevel,
    Location,
    Metafield,
    Order,
    Product,
    Refund,
    Variant,
    WebhookSubscription,
    parse_gid,
)

# First id of each resource kind: realistic magnitudes; products start just below 2^53 so
# that a few dozen events already cross it (JavaScript numbers lose precision there).
ID_STARTS = {
    "product": 2**53 - 600,
    "variant": 47_932_212_183_346,
    "inventory_item": 49_981_232_001_122,
    "location": 61_234_567_890,
    "metafield": 30_117_220_311_090,
    "image": 44_574_175_396_146,
    "media": 33_912_873_009_452,
    "option": 11_431_955_824_946,
    "order": 5_612_344_098_321,
    "line_item": 14_220_391_002_117,
    "refund": 921_873_004_551,
    "refund_line_item": 512_300_778_112,
    "subscription": 1_402_387_712_001,
    "bulk": 4_417_009_335_810,
}

Listener = Callable[[str, object], None]


class IdAllocator:
    """Monotonically increasing ids per resource kind, with realistic gaps."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed ^ 0x5EED)
        self._last = {kind: start for kind, start in ID_STARTS.items()}

    def next(self, kind: str) -> int:
        """Return a fresh id of `kind`, greater than every earlier one."""
        self._last[kind] += self._rng.randint(7, 41)
        return self._last[kind]


@dataclass
class Store:
    """Everything the simulated shop knows; changes go through the mutation modules."""

    seed: int
    shop_domain: str
    shop_name: str = "Shababco Events"
    currency: str = "SAR"
    products: dict[int, Product] = field(default_factory=dict)
    variants: dict[int, Variant] = field(default_factory=dict)
    items: dict[int, Variant] = field(default_factory=dict)
    locations: dict[int, Location] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    refunds: dict[int, Refund] = field(default_factory=dict)
    subscriptions: dict[int, WebhookSubscription] = field(default_factory=dict)
    bulk_operations: dict[int, BulkOperation] = field(default_factory=dict)
    deleted_product_ids: list[int] = field(default_factory=list)
    listeners: list[Listener] = field(default_factory=list)
    handles: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.ids = IdAllocator(self.seed)

    def now(self) -> datetime:
        """Return the current time at Shopify's one-second timestamp resolution."""
        return datetime.now(UTC).replace(microsecond=0)

    def emit(self, topic: str, subject: object) -> None:
        """Tell every listener (the webhook dispatcher) that `topic` happened."""
        for listener in self.listeners:
            listener(topic, subject)

    def unique_handle(self, wanted: str, current: str | None = None) -> str:
        """Return `wanted`, or `wanted-N` if another product already uses it."""
        if wanted == current:
            return wanted
        candidate, suffix = wanted, 1
        while candidate in self.handles:
            suffix += 1
            candidate = f"{wanted}-{suffix}"
        self.handles.add(candidate)
        if current is not None:
            self.handles.discard(current)
        return candidate

    def register_product(self, product: Product) -> None:
        """Index a new product and its variants."""
        self.products[product.id] = product
        for variant in product.variants:
            self.index_variant(variant)

    def index_variant(self, variant: Variant) -> None:
        """Index a variant by its id and by its inventory item id."""
        self.variants[variant.id] = variant
        self.items[variant.inventory_item_id] = variant

    def forget_variant(self, variant: Variant) -> None:
        """Drop a removed variant from the indexes."""
        self.variants.pop(variant.id, None)
        self.items.pop(variant.inventory_item_id, None)

    def remove_product(self, product: Product) -> None:
        """Delete a product for good, remembering its id for the export."""
        for variant in product.variants:
            self.forget_variant(variant)
        self.products.pop(product.id, None)
        self.handles.discard(product.handle)
        self.deleted_product_ids.append(product.id)

    def set_available(self, variant: Variant, location_id: int, available: int) -> InventoryLevel:
        """Set `available` of a variant at a location, creating the level if needed."""
        moment = self.now()
        level = variant.levels.get(location_id)
        if level is None:
            level = InventoryLevel(
                variant.inventory_item_id, location_id, available, moment, moment
            )
            variant.levels[location_id] = level
        variant.old_inventory_quantity = variant.available
        level.available = available
        level.updated_at = moment
        variant.updated_at = moment
        return level

    def new_metafield(
        self, owner_kind: str, owner_id: int, namespace: str, key: str, kind: str, value: str
    ) -> Metafield:
        """Create a metafield record with a fresh id."""
        moment = self.now()
        return Metafield(
            self.ids.next("metafield"),
            owner_kind,
            owner_id,
            namespace,
            key,
            kind,
            value,
            moment,
            moment,
        )

    def find_metafield_owner(self, owner_gid: str) -> Product | Variant | None:
        """Return the product or variant a metafield owner id points to."""
        product_id = parse_gid(owner_gid, "Product")
        if product_id is not None:
            return self.products.get(product_id)
        variant_id = parse_gid(owner_gid, "ProductVariant")
        return None if variant_id is None else self.variants.get(variant_id)
