"""Webhook subscriptions: register the topics idempotently, list, delete."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from shababco import metrics
from shababco.shopify.admin.client import ShopifyClient, ShopifyError
from shababco.shopify.admin.documents import (
    SUBSCRIPTION_CREATE,
    SUBSCRIPTION_DELETE,
    SUBSCRIPTIONS_PAGE,
    SUBSCRIPTIONS_PAGE_SIZE,
)
from shababco.shopify.webhooks.topics import WEBHOOK_TOPICS, graphql_topic, topic_path

log = logging.getLogger(__name__)
TOPICS = tuple(graphql_topic(topic) for topic in WEBHOOK_TOPICS)
METAFIELD_NAMESPACES = ["event", "ticket"]


@dataclass(frozen=True)
class Subscription:
    id: str
    topic: str
    uri: str
    metafield_namespaces: tuple[str, ...] = ()
    created: bool = False


def webhook_uri(address: str, topic: str) -> str:
    return f"{address.rstrip('/')}/webhooks/{topic_path(topic)}"


def _subscription(node: dict[str, Any], *, created: bool = False) -> Subscription:
    return Subscription(
        id=str(node["id"]),
        topic=str(node["topic"]),
        uri=str(node.get("uri") or ""),
        metafield_namespaces=tuple(node.get("metafieldNamespaces") or ()),
        created=created,
    )


async def list_subscriptions(client: ShopifyClient) -> list[Subscription]:
    """Every subscription of this app in the store."""
    found: list[Subscription] = []
    after: str | None = None
    while True:
        data = await client.query(
            SUBSCRIPTIONS_PAGE, {"first": SUBSCRIPTIONS_PAGE_SIZE, "after": after}
        )
        connection = data["webhookSubscriptions"]
        found += [_subscription(node) for node in connection["nodes"]]
        if not connection["pageInfo"].get("hasNextPage"):
            return found
        after = connection["pageInfo"]["endCursor"]


async def register_subscriptions(client: ShopifyClient, *, address: str) -> list[Subscription]:
    """Subscribe every topic at `{address}/webhooks/{topic}`, keeping what already exists."""
    existing = {(s.topic, s.uri): s for s in await list_subscriptions(client)}
    result: list[Subscription] = []
    for topic in TOPICS:
        uri = webhook_uri(address, topic)
        if (topic, uri) in existing:
            result.append(existing[(topic, uri)])
            continue
        subscription = {"uri": uri, "format": "JSON", "metafieldNamespaces": METAFIELD_NAMESPACES}
        data = await client.query(
            SUBSCRIPTION_CREATE, {"topic": topic, "subscription": subscription}
        )
        payload = data["webhookSubscriptionCreate"]
        if payload["userErrors"]:
            messages = "; ".join(error["message"] for error in payload["userErrors"])
            raise ShopifyError(f"cannot subscribe {topic} at {uri}: {messages}")
        result.append(_subscription(payload["webhookSubscription"], created=True))
    return result


async def repair_subscriptions(client: ShopifyClient, *, address: str) -> list[Subscription]:
    """Create again every topic's subscription missing at `address` (Shopify deletes one whose
    deliveries keep failing); log and count each. Returns those created."""
    created = [s for s in await register_subscriptions(client, address=address) if s.created]
    for subscription in created:
        log.warning(
            "webhook subscription %s at %s was missing: created again",
            subscription.topic,
            subscription.uri,
        )
        metrics.SUBSCRIPTIONS_REPAIRED.labels(topic=subscription.topic).inc()
    return created


async def delete_subscription(client: ShopifyClient, *, subscription_id: str) -> None:
    """Delete one subscription by its GID (or numeric id)."""
    if not subscription_id.startswith("gid://"):
        subscription_id = f"gid://shopify/WebhookSubscription/{subscription_id}"
    data = await client.query(SUBSCRIPTION_DELETE, {"id": subscription_id})
    errors = data["webhookSubscriptionDelete"]["userErrors"]
    if errors:
        raise ShopifyError("; ".join(error["message"] for error in errors))
