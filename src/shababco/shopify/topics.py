"""The webhook topics the mirror subscribes to and receives (SPEC §5, §6)."""

from __future__ import annotations

# As Shopify names them in X-Shopify-Topic, and as our webhook paths spell them.
WEBHOOK_TOPICS = (
    "products/create",
    "products/update",
    "products/delete",
    "orders/create",
    "orders/cancelled",
    "inventory_levels/update",
    "refunds/create",
)


def graphql_topic(topic: str) -> str:
    """`inventory_levels/update` → `INVENTORY_LEVELS_UPDATE` (WebhookSubscriptionTopic)."""
    return topic.replace("/", "_").upper()


def topic_path(graphql_name: str) -> str:
    """`INVENTORY_LEVELS_UPDATE` → `inventory_levels/update`."""
    for topic in WEBHOOK_TOPICS:
        if graphql_topic(topic) == graphql_name:
            return topic
    raise ValueError(f"not a mirrored webhook topic: {graphql_name}")
