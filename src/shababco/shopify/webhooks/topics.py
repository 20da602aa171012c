"""The topics the mirror subscribes to, and the one table that reads each topic's payload.

Intake keeps of a delivery only what its topic's reader reads (`TOPICS[topic].facts`), then reads
it into a throwaway `Batch` to refuse what the worker could not apply; the inbox worker reads
stored deliveries into a real one and applies it. Both go through `TOPICS`, so a topic is added in
one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shababco.shopify.mirror.commerce import (
    OrderRecord,
    RefundLineRecord,
    deletion_facts,
    level_facts,
    normalize_deletion,
    normalize_inventory_level,
    normalize_order,
    normalize_refund,
    order_facts,
    refund_facts,
)
from shababco.shopify.mirror.products import (
    InventoryLevelRecord,
    ProductRecords,
    normalize_product,
)


@dataclass
class Batch:
    """The records read from a batch of deliveries, grouped by what applies them."""

    currency: str
    products: list[ProductRecords] = field(default_factory=list)
    deletions: list[tuple[int, datetime]] = field(default_factory=list)
    levels: list[InventoryLevelRecord] = field(default_factory=list)
    orders: list[OrderRecord] = field(default_factory=list)
    refunds: list[RefundLineRecord] = field(default_factory=list)

    def read(
        self, topic: str, payload: Any, *, triggered_at: datetime | None, received_at: datetime
    ) -> None:
        """Normalize one delivery into the batch; raises PayloadError for a malformed one."""
        TOPICS[topic].read(self, payload, triggered_at, received_at)


Reader = Callable[[Batch, Any, datetime | None, datetime], None]


@dataclass(frozen=True)
class Topic:
    read: Reader
    facts: Callable[[Any], Any]  # the part of a payload `read` needs: what the inbox stores


def _whole(payload: Any) -> Any:
    return payload


def _product(batch: Batch, payload: Any, triggered_at: datetime | None, _: datetime) -> None:
    record = normalize_product(payload, currency=batch.currency, triggered_at=triggered_at)
    batch.products.append(record)


def _deletion(
    batch: Batch, payload: Any, triggered_at: datetime | None, received_at: datetime
) -> None:
    batch.deletions.append((normalize_deletion(payload), triggered_at or received_at))


def _level(batch: Batch, payload: Any, triggered_at: datetime | None, _: datetime) -> None:
    batch.levels.append(normalize_inventory_level(payload, triggered_at=triggered_at))


def _order(batch: Batch, payload: Any, _triggered: datetime | None, _: datetime) -> None:
    batch.orders.append(normalize_order(payload))


def _refund(batch: Batch, payload: Any, _triggered: datetime | None, _: datetime) -> None:
    batch.refunds.extend(normalize_refund(payload))


# As Shopify names them in X-Shopify-Topic, and as our webhook paths spell them. A product is
# kept whole (its normalizer reads most of it, and it carries no customer data).
TOPICS: dict[str, Topic] = {
    "products/create": Topic(_product, _whole),
    "products/update": Topic(_product, _whole),
    "products/delete": Topic(_deletion, deletion_facts),
    "orders/create": Topic(_order, order_facts),
    "orders/cancelled": Topic(_order, order_facts),
    "inventory_levels/update": Topic(_level, level_facts),
    "refunds/create": Topic(_refund, refund_facts),
}
WEBHOOK_TOPICS = tuple(TOPICS)
PRODUCT_UPDATES = frozenset({"products/create", "products/update"})


def graphql_topic(topic: str) -> str:
    """`inventory_levels/update` → `INVENTORY_LEVELS_UPDATE` (WebhookSubscriptionTopic)."""
    return topic.replace("/", "_").upper()


def topic_path(graphql_name: str) -> str:
    """`INVENTORY_LEVELS_UPDATE` → `inventory_levels/update`."""
    for topic in WEBHOOK_TOPICS:
        if graphql_topic(topic) == graphql_name:
            return topic
    raise ValueError(f"not a mirrored webhook topic: {graphql_name}")
