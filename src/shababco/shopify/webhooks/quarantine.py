"""The inbox's quarantine as an operator sees it: deliveries that could not be applied, each with
its reason, until retried (`InboxWorker.retry`) or discarded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from shababco.shopify.models import WebhookDelivery
from shababco.shopify.webhooks.inbox import QUARANTINED


@dataclass(frozen=True)
class Quarantined:
    webhook_id: str
    topic: str
    received_at: datetime
    attempts: int
    reason: str


async def quarantined(conn: AsyncConnection) -> list[Quarantined]:
    """Every quarantined delivery, oldest first."""
    rows = await conn.execute(
        select(
            WebhookDelivery.webhook_id,
            WebhookDelivery.topic,
            WebhookDelivery.received_at,
            WebhookDelivery.attempts,
            WebhookDelivery.last_error,
        )
        .where(QUARANTINED)
        .order_by(WebhookDelivery.received_at, WebhookDelivery.webhook_id)
    )
    return [
        Quarantined(row.webhook_id, row.topic, row.received_at, row.attempts, row.last_error or "")
        for row in rows
    ]


async def discard(conn: AsyncConnection, webhook_ids: Sequence[str] | None) -> list[str]:
    """Delete quarantined deliveries (those named, or all); returns the ids deleted.

    Their webhook ids are forgotten too: a redelivery of one would be stored and tried again.
    """
    statement = delete(WebhookDelivery).where(QUARANTINED)
    if webhook_ids is not None:
        statement = statement.where(WebhookDelivery.webhook_id.in_(webhook_ids))
    result = await conn.execute(statement.returning(WebhookDelivery.webhook_id))
    return list(result.scalars())
