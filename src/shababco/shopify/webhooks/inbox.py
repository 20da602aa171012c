"""The inbox worker: applies stored webhook deliveries in batches, then announces the changes.

Any number of processes may run it: rows are claimed with `FOR UPDATE SKIP LOCKED`. A batch is
one transaction; if it fails, its deliveries are tried one by one so a single bad one cannot hold
the others back. A delivery that fails is tried again after a backoff or quarantined with its
reason (`failures`); quarantined ones wait for an operator (`shababco webhooks failed`, `retry`,
`discard`). Applied rows are deleted once older than the retention period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Executable, and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shababco import metrics
from shababco.cache.changes import ChangeFeed, Changes
from shababco.shopify.mirror.apply import apply_inventory_levels, delete_products, upsert_products
from shababco.shopify.mirror.ledger import apply_orders, apply_refund_lines
from shababco.shopify.models import WebhookDelivery
from shababco.shopify.payloads import parse_id
from shababco.shopify.sync.state import shop_currency
from shababco.shopify.webhooks.failures import Failure, Kind, backoff_seconds, classify, gives_up
from shababco.shopify.webhooks.refetch import ProductRefetcher
from shababco.shopify.webhooks.topics import PRODUCT_UPDATES, Batch

log = logging.getLogger(__name__)
BATCH_SIZE = 200
IDLE_POLL_SECONDS = 1.0
PRUNE_EVERY_SECONDS = 600.0
PRUNE_BATCH = 5_000

PENDING = and_(WebhookDelivery.processed_at.is_(None), WebhookDelivery.quarantined_at.is_(None))
QUARANTINED = WebhookDelivery.quarantined_at.is_not(None)


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


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery: `applied`, `failed` (tried again later) or `quarantined`."""

    webhook_id: str
    topic: str
    outcome: str
    lag: float | None = None  # seconds from receipt to applied
    reason: str | None = None


class InboxWorker:
    """Drains the webhook inbox whenever woken (a new delivery) and every second regardless."""

    def __init__(
        self,
        engine: AsyncEngine,
        changes: ChangeFeed,
        *,
        currency: str,
        refetcher: ProductRefetcher | None = None,
        retention: timedelta | None = None,
    ) -> None:
        self._engine, self._changes, self._currency = engine, changes, currency
        self._refetcher = refetcher
        self._retention = retention
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        clock = asyncio.get_running_loop().time
        next_prune = clock()
        while not stop.is_set():
            # Cleared before the inbox is read, never after: a delivery stored while a batch
            # runs (too late for its claim) wakes the next round at once, not a second later.
            self._wake.clear()
            try:
                while await self.process_batch():
                    pass
                if self._retention is not None and clock() >= next_prune:
                    await prune_applied(self._engine, older_than=self._retention)
                    next_prune = clock() + PRUNE_EVERY_SECONDS
            except Exception as exc:
                level = logging.WARNING if classify(exc).kind is Kind.OUTAGE else logging.ERROR
                log.log(level, "inbox batch failed: %s", type(exc).__name__, exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), IDLE_POLL_SECONDS)

    async def process_batch(self) -> int:
        """Apply one batch of due deliveries; returns how many were claimed."""
        claim = (
            select(WebhookDelivery)
            .where(PENDING, WebhookDelivery.next_attempt_at <= func.now())
            .order_by(WebhookDelivery.received_at)
            .limit(BATCH_SIZE)
            .with_for_update(skip_locked=True)
        )
        return len(await self._process(claim))

    async def retry(self, webhook_ids: Sequence[str] | None = None) -> list[Outcome]:
        """Apply quarantined deliveries again now: those named, or all of them."""
        if webhook_ids is None:
            async with self._engine.connect() as conn:
                listing = select(WebhookDelivery.webhook_id).where(QUARANTINED)
                webhook_ids = list((await conn.execute(listing)).scalars())
        outcomes: list[Outcome] = []
        for start in range(0, len(webhook_ids), BATCH_SIZE):
            chunk = webhook_ids[start : start + BATCH_SIZE]
            # A fresh start: the attempts count again from zero, and nobody else claims them.
            requeue = (
                update(WebhookDelivery)
                .where(QUARANTINED, WebhookDelivery.webhook_id.in_(chunk))
                .values(quarantined_at=None, attempts=0, next_attempt_at=func.now())
                .returning(WebhookDelivery)
            )
            outcomes += await self._process(requeue)
        return outcomes

    async def _process(self, claim: Executable) -> list[Outcome]:
        """Claim rows with `claim`, apply them in one transaction, then announce the changes."""
        async with self._engine.begin() as conn:
            rows = (await conn.execute(claim)).all()
            if not rows:
                return []
            changed, outcomes = await self._apply(conn, rows)
            # In the same transaction: the change is in the log the moment the data is.
            changes = await self._changes.record(conn, Changes.of(changed))
        _count(outcomes)
        await self._changes.announce(changes)
        if self._refetcher is not None:
            applied = {o.webhook_id for o in outcomes if o.outcome == "applied"}
            self._refetcher.request(_updated_products(r for r in rows if r.webhook_id in applied))
        return outcomes

    async def _apply(
        self, conn: AsyncConnection, rows: Sequence[Any]
    ) -> tuple[set[int], list[Outcome]]:
        """Apply the rows whole, else one by one; returns the changes and each row's outcome."""
        currency = await shop_currency(conn, fallback=self._currency)
        try:
            async with conn.begin_nested():
                changed = await apply_deliveries(conn, rows, currency=currency)
                return changed, await _mark(conn, [row.webhook_id for row in rows])
        except Exception as exc:
            if classify(exc).kind is Kind.OUTAGE:
                raise
        changed, outcomes = set(), []
        for row in rows:
            try:
                async with conn.begin_nested():
                    changed |= await apply_deliveries(conn, [row], currency=currency)
                    outcomes += await _mark(conn, [row.webhook_id])
            except Exception as exc:
                failure = classify(exc)
                if failure.kind is Kind.OUTAGE:
                    raise
                outcomes.append(await _failed(conn, row, failure))
        return changed, outcomes


def _updated_products(deliveries: Any) -> set[int]:
    """Products whose delivery cannot have carried everything (see shopify.refetch)."""
    return {parse_id(row.payload.get("id")) for row in deliveries if row.topic in PRODUCT_UPDATES}


async def _mark(conn: AsyncConnection, webhook_ids: list[str]) -> list[Outcome]:
    """Mark deliveries applied; the lag is measured on the database's clock, at this moment."""
    lag = func.extract("epoch", func.clock_timestamp() - WebhookDelivery.received_at)
    rows = await conn.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.webhook_id.in_(webhook_ids))
        .values(processed_at=func.now(), attempts=WebhookDelivery.attempts + 1, last_error=None)
        .returning(WebhookDelivery.webhook_id, WebhookDelivery.topic, lag)
    )
    return [
        Outcome(webhook_id, topic, "applied", float(seconds)) for webhook_id, topic, seconds in rows
    ]


async def _failed(conn: AsyncConnection, row: Any, failure: Failure) -> Outcome:
    """Record a failed attempt: quarantine the delivery, or schedule its next attempt."""
    attempts = row.attempts + 1
    values: dict[str, Any] = {"attempts": attempts, "last_error": failure.reason}
    if gives_up(failure, attempts):
        values["quarantined_at"] = func.now()
        outcome = "quarantined"
        log.warning(
            "webhook %s (%s) quarantined after %d attempts: %s",
            row.webhook_id,
            row.topic,
            attempts,
            failure.reason,
        )
    else:
        delay = backoff_seconds(attempts)
        values["next_attempt_at"] = func.now() + timedelta(seconds=delay)
        outcome = "failed"
        log.warning(
            "webhook %s (%s) failed attempt %d, next in %.1f s: %s",
            row.webhook_id,
            row.topic,
            attempts,
            delay,
            failure.reason,
        )
    await conn.execute(
        update(WebhookDelivery).where(WebhookDelivery.webhook_id == row.webhook_id).values(values)
    )
    return Outcome(row.webhook_id, row.topic, outcome, reason=failure.reason)


def _count(outcomes: list[Outcome]) -> None:
    """Record a committed batch's outcomes."""
    for outcome in outcomes:
        metrics.WEBHOOKS_APPLIED.labels(topic=outcome.topic, outcome=outcome.outcome).inc()
        if outcome.lag is not None:
            metrics.WEBHOOK_APPLY_LAG.labels(topic=outcome.topic).observe(outcome.lag)


async def prune_applied(engine: AsyncEngine, *, older_than: timedelta) -> int:
    """Delete deliveries applied longer than `older_than` ago, a batch per transaction.

    A redelivery of a pruned webhook id is stored and applied again, which changes nothing (the
    ordering guard and the ledger's keys), so the period need only outlast Shopify's retries.
    """
    deleted = 0
    while True:
        doomed = (
            select(WebhookDelivery.webhook_id)
            .where(WebhookDelivery.processed_at < func.now() - older_than)
            .limit(PRUNE_BATCH)
            .with_for_update(skip_locked=True)
        )
        async with engine.begin() as conn:
            result = await conn.execute(
                delete(WebhookDelivery).where(
                    WebhookDelivery.webhook_id.in_(doomed.scalar_subquery())
                )
            )
        deleted += result.rowcount
        if result.rowcount < PRUNE_BATCH:
            return deleted


async def backlog(conn: AsyncConnection) -> dict[str, Any]:
    """Deliveries not applied yet: pending (never tried), retrying (after a failed attempt),
    quarantined (waiting for an operator), and the oldest not quarantined one's age."""
    quarantined = (
        select(func.count())
        .select_from(WebhookDelivery)
        .where(QUARANTINED)
        .correlate(None)
        .scalar_subquery()
    )
    first_try = WebhookDelivery.attempts == 0
    row = (
        await conn.execute(
            select(
                func.count().filter(first_try),
                func.count().filter(~first_try),
                quarantined,
                func.coalesce(
                    func.extract("epoch", func.now() - func.min(WebhookDelivery.received_at)), 0
                ),
            ).where(PENDING)
        )
    ).one()
    return {
        "pending": row[0],
        "retrying": row[1],
        "quarantined": row[2],
        "oldest_pending_seconds": float(row[3]),
    }
