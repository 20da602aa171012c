"""The inbox worker: applies stored webhook deliveries in batches, then announces the changes.

Any number of processes may run it: rows are claimed with `FOR UPDATE SKIP LOCKED`. A batch is
one transaction; if it fails, its deliveries are retried one by one so a single bad one cannot
hold the others back (it is kept, with its error, after MAX_ATTEMPTS).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shababco import metrics
from shababco.cache.changes import ChangeFeed, Changes
from shababco.errors import is_database_outage
from shababco.shopify.mirror.apply import apply_inventory_levels, delete_products, upsert_products
from shababco.shopify.mirror.ledger import apply_orders, apply_refund_lines
from shababco.shopify.models import WebhookDelivery
from shababco.shopify.payloads import parse_id
from shababco.shopify.sync.state import shop_currency
from shababco.shopify.webhooks.refetch import ProductRefetcher
from shababco.shopify.webhooks.topics import PRODUCT_UPDATES, Batch

log = logging.getLogger(__name__)
BATCH_SIZE = 200
MAX_ATTEMPTS = 5
IDLE_POLL_SECONDS = 1.0


async def apply_deliveries(
    conn: AsyncConnection, deliveries: Sequence[Any], *, currency: str
) -> set[int]:
    """Apply stored deliveries (any topics, any order); returns the events they changed."""
    batch = Batch(currency)
    for delivery in deliveries:
        batch.read(
            delivery.topic,
            delivery.payload,
            triggered_at=delivery.triggered_at,
            received_at=delivery.received_at,
        )
    changed = await upsert_products(conn, batch.products)
    for product_id, deleted_at in batch.deletions:
        changed |= await delete_products(conn, [product_id], deleted_at, currency=currency)
    changed |= await apply_inventory_levels(conn, batch.levels)
    changed |= await apply_orders(conn, batch.orders)
    changed |= await apply_refund_lines(conn, batch.refunds)
    return changed


class InboxWorker:
    """Drains the webhook inbox whenever woken (a new delivery) and every second regardless."""

    def __init__(
        self,
        engine: AsyncEngine,
        changes: ChangeFeed,
        *,
        currency: str,
        refetcher: ProductRefetcher | None = None,
    ) -> None:
        self._engine, self._changes, self._currency = engine, changes, currency
        self._refetcher = refetcher
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                while await self.process_batch():
                    pass
            except Exception as exc:
                level = logging.WARNING if is_database_outage(exc) else logging.ERROR
                log.log(level, "inbox batch failed: %s", type(exc).__name__, exc_info=True)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), IDLE_POLL_SECONDS)

    async def process_batch(self) -> int:
        """Apply one batch of pending deliveries; returns how many were claimed."""
        async with self._engine.begin() as conn:
            pending = (
                await conn.execute(
                    select(WebhookDelivery)
                    .where(
                        WebhookDelivery.processed_at.is_(None),
                        WebhookDelivery.attempts < MAX_ATTEMPTS,
                    )
                    .order_by(WebhookDelivery.received_at)
                    .limit(BATCH_SIZE)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not pending:
                return 0
            changed, outcomes = await self._apply(conn, pending)
        _count(outcomes)
        await self._changes.publish(Changes.of(changed))
        if self._refetcher is not None:
            self._refetcher.request(_updated_products(pending))
        return len(pending)

    async def _apply(
        self, conn: AsyncConnection, pending: Sequence[Any]
    ) -> tuple[set[int], list[Outcome]]:
        """Apply the batch whole, else row by row; returns the changes and each row's outcome."""
        currency = await shop_currency(conn, fallback=self._currency)
        try:
            async with conn.begin_nested():
                changed = await apply_deliveries(conn, pending, currency=currency)
                return changed, await _mark(conn, [row.webhook_id for row in pending])
        except Exception as exc:
            if is_database_outage(exc):
                raise
        changed, outcomes = set(), []
        for row in pending:
            try:
                async with conn.begin_nested():
                    changed |= await apply_deliveries(conn, [row], currency=currency)
                    outcomes += await _mark(conn, [row.webhook_id])
            except Exception as exc:
                if is_database_outage(exc):
                    raise
                log.warning("webhook %s (%s) failed: %s", row.webhook_id, row.topic, exc)
                await conn.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.webhook_id == row.webhook_id)
                    .values(attempts=WebhookDelivery.attempts + 1, last_error=str(exc)[:500])
                )
                gave_up = row.attempts + 1 >= MAX_ATTEMPTS
                outcomes.append((row.topic, "abandoned" if gave_up else "failed", None))
        return changed, outcomes


def _updated_products(deliveries: Sequence[Any]) -> set[int]:
    """Products whose delivery cannot have carried everything (see shopify.refetch)."""
    return {parse_id(row.payload.get("id")) for row in deliveries if row.topic in PRODUCT_UPDATES}


Outcome = tuple[str, str, float | None]  # topic, outcome, seconds from receipt to applied


async def _mark(conn: AsyncConnection, webhook_ids: list[str]) -> list[Outcome]:
    """Mark deliveries applied; the lag is measured on the database's clock, at this moment."""
    lag = func.extract("epoch", func.clock_timestamp() - WebhookDelivery.received_at)
    rows = await conn.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.webhook_id.in_(webhook_ids))
        .values(processed_at=func.now(), attempts=WebhookDelivery.attempts + 1)
        .returning(WebhookDelivery.topic, lag)
    )
    return [(topic, "applied", float(seconds)) for topic, seconds in rows]


def _count(outcomes: list[Outcome]) -> None:
    """Record a committed batch's outcomes."""
    for topic, outcome, lag in outcomes:
        metrics.WEBHOOKS_APPLIED.labels(topic=topic, outcome=outcome).inc()
        if lag is not None:
            metrics.WEBHOOK_APPLY_LAG.labels(topic=topic).observe(lag)


async def backlog(conn: AsyncConnection) -> dict[str, Any]:
    """Deliveries not applied yet: pending, abandoned (out of attempts), the oldest one's age."""
    unprocessed = WebhookDelivery.processed_at.is_(None)
    live = WebhookDelivery.attempts < MAX_ATTEMPTS
    oldest_live = func.min(WebhookDelivery.received_at).filter(live)
    row = (
        await conn.execute(
            select(
                func.count().filter(live),
                func.count().filter(~live),
                func.coalesce(func.extract("epoch", func.now() - oldest_live), 0),
            ).where(unprocessed)
        )
    ).one()
    return {"pending": row[0], "abandoned": row[1], "oldest_pending_seconds": float(row[2])}
