"""What `shababco webhooks failed|retry|discard` do: the webhook inbox's quarantine, behind the CLI.

A retry applies the deliveries in this process, through the inbox worker's own code, and reports
each one's outcome; running servers learn of the changes through the change log. A retried
product is not refetched from the store here: the next reconciliation completes it.
"""

from __future__ import annotations

from collections.abc import Sequence

from shababco.cache.changes import ChangeFeed
from shababco.config import Settings
from shababco.database.migrate import migrated_database
from shababco.shopify.webhooks.inbox import InboxWorker, Outcome
from shababco.shopify.webhooks.quarantine import Quarantined, discard, quarantined


async def failed_deliveries(settings: Settings) -> list[Quarantined]:
    async with (
        migrated_database(settings, pool=False) as database,
        database.write.connect() as conn,
    ):
        return await quarantined(conn)


async def retry_deliveries(settings: Settings, webhook_ids: Sequence[str] | None) -> list[Outcome]:
    """Apply quarantined deliveries again (those named, or all); returns their outcomes."""
    async with migrated_database(settings, pool=False) as database:
        worker = InboxWorker(
            database.write, ChangeFeed(database.write), currency=settings.shop_currency
        )
        return await worker.retry(webhook_ids)


async def discard_deliveries(settings: Settings, webhook_ids: Sequence[str] | None) -> list[str]:
    """Delete quarantined deliveries (those named, or all); returns the ids deleted."""
    async with (
        migrated_database(settings, pool=False) as database,
        database.write.begin() as conn,
    ):
        return await discard(conn, webhook_ids)


def failed_line(delivery: Quarantined) -> str:
    """One line per delivery: webhook id, topic, received at, reason."""
    received = delivery.received_at.isoformat(timespec="seconds")
    return f"{delivery.webhook_id}  {delivery.topic}  {received}  {delivery.reason}"


def outcome_line(outcome: Outcome) -> str:
    what = {
        "applied": "applied",
        "quarantined": "quarantined again",
        "failed": "failed; the inbox worker tries it again",
    }[outcome.outcome]
    reason = f": {outcome.reason}" if outcome.reason else ""
    return f"{outcome.webhook_id}  {outcome.topic}  {what}{reason}"
