"""Periodic jobs of the API process: reconciliation, run by the holder of a lease only.

Every `serve` process claims the `reconcile` lease (`database.leases`) every tick, a tenth of the
interval; the holder renews it and runs a pass whenever the last one finished an interval ago. A
holder killed outright stops renewing, and another process holds the lease within four ticks,
well within one interval. A pass also takes a transaction-scoped advisory lock, so that a pass
run by hand (`shababco reconcile`) or by a holder that lost its lease mid-pass never overlaps
another. Both work through a transaction pooler: neither needs a session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco import metrics
from shababco.cache.changes import ChangeFeed
from shababco.config import Settings
from shababco.database.engines import Database
from shababco.database.leases import Leadership
from shababco.shopify.admin.client import ShopifyClient
from shababco.shopify.sync.reconcile import ReconcileReport, reconcile, report_lines
from shababco.shopify.sync.state import RECONCILE, read_state
from shababco.shopify.webhooks.subscriptions import repair_subscriptions

log = logging.getLogger(__name__)

# pg_try_advisory_xact_lock key of reconciliation ("shababco" folded into a bigint).
RECONCILE_LOCK = 0x5348_4142_4142_434F
LOCK_RETRY_SECONDS = 5.0
RECONCILE_LEASE = "reconcile"
# The lock's transaction waits, idle, for the whole pass: a server's idle-in-transaction timeout
# must not end it (and free the lock) halfway.
NO_IDLE_TIMEOUT = text("SET LOCAL idle_in_transaction_session_timeout = 0")


def lease_tick(settings: Settings) -> float:
    """Seconds between lease renewals: a tenth of the interval, within 0.2-30 s."""
    return min(30.0, max(0.2, settings.reconcile_interval_seconds / 10))


def reconciler_leadership(settings: Settings, database: Database) -> Leadership | None:
    """This process's claim on reconciliation, None when periodic passes are off."""
    interval = settings.reconcile_interval_seconds
    if interval <= 0 or not settings.shopify_shop or settings.shopify_access_token is None:
        return None
    return Leadership(database.write, name=RECONCILE_LEASE, tick=lease_tick(settings))


async def reconcile_if_due(
    engine: AsyncEngine,
    client: ShopifyClient,
    *,
    currency: str,
    changes: ChangeFeed | None,
    interval: float,
    address: str | None = None,
) -> ReconcileReport | None:
    """Reconcile unless another process holds the lock or a pass finished within `interval`.

    The lock is transaction-scoped, on a connection held open for the pass: it works behind a
    transaction pooler too, and a crashed process releases it with its connection.
    """
    async with engine.connect() as lock, lock.begin():
        await lock.execute(NO_IDLE_TIMEOUT)
        if not await lock.scalar(select(func.pg_try_advisory_xact_lock(RECONCILE_LOCK))):
            return None
        state = await read_state(lock, name=RECONCILE) or {}
        finished = state.get("finished_at")
        if finished and datetime.fromisoformat(finished) > datetime.now(UTC) - timedelta(
            seconds=interval
        ):
            return None
        return await reconcile(engine, client, currency=currency, changes=changes, address=address)


async def run_reconciler(
    settings: Settings,
    database: Database,
    changes: ChangeFeed,
    *,
    stop: asyncio.Event,
    leadership: Leadership | None = None,
) -> None:
    """Reconcile every `RECONCILE_INTERVAL_SECONDS` while this process holds the lease."""
    leadership = leadership or reconciler_leadership(settings, database)
    if leadership is None:
        log.info("periodic reconciliation is off (no store configured or interval 0)")
        return
    renewing = asyncio.create_task(leadership.run(stop), name="reconcile-lease")
    retry_at = 0.0  # after a failed pass, the next waits an interval, as a finished one does
    try:
        async with ShopifyClient.from_settings(settings) as client:
            while not stop.is_set():
                due = leadership.leader and time.monotonic() >= retry_at
                if due and not await _pass_if_due(settings, database, changes, client):
                    retry_at = time.monotonic() + settings.reconcile_interval_seconds
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=leadership.tick)
    finally:
        if not stop.is_set():  # failed: stop renewing, so that another process takes over
            renewing.cancel()
        await asyncio.gather(renewing, return_exceptions=True)


async def _pass_if_due(
    settings: Settings, database: Database, changes: ChangeFeed, client: ShopifyClient
) -> bool:
    """Run a pass if one is due; False if it failed."""
    started = time.monotonic()
    try:
        report = await reconcile_if_due(
            database.write,
            client,
            currency=settings.shop_currency,
            changes=changes,
            interval=settings.reconcile_interval_seconds,
            address=settings.public_base_url,
        )
    except Exception:
        metrics.RECONCILE_RUNS.labels(outcome="failed").inc()
        metrics.RECONCILE_DURATION.observe(time.monotonic() - started)
        log.exception("reconciliation failed; the next pass retries")
        return False
    if report is not None:
        record(report)
        log.info("reconciliation: %s", "; ".join(report_lines(report)))
    return True


def record(report: ReconcileReport) -> None:
    """Count a finished pass and what it repaired."""
    metrics.RECONCILE_RUNS.labels(outcome="ok").inc()
    metrics.RECONCILE_DURATION.observe(report.seconds)
    metrics.RECONCILE_LAST_SUCCESS.set(time.time())
    repairs = {
        "events_updated": report.events_repaired,
        "events_added": report.events_added,
        "events_deleted": report.events_deleted,
        "inventory_levels": report.levels_repaired,
        "tickets_sold": report.sold_repaired,
    }
    for kind, count in repairs.items():
        metrics.RECONCILE_REPAIRS.labels(kind=kind).inc(count)


async def keep_subscriptions(
    settings: Settings, database: Database, *, stop: asyncio.Event
) -> None:
    """At start-up, create again any webhook subscription missing at PUBLIC_BASE_URL; one
    process at a time, under the reconciliation lock (so that two processes never both create
    one), waiting for a pass that holds it."""
    address = settings.public_base_url
    if not address or not settings.shopify_shop or settings.shopify_access_token is None:
        return
    try:
        while not stop.is_set():
            async with database.write.connect() as lock, lock.begin():
                if await lock.scalar(select(func.pg_try_advisory_xact_lock(RECONCILE_LOCK))):
                    async with ShopifyClient.from_settings(settings) as client:
                        await repair_subscriptions(client, address=address)
                    return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=LOCK_RETRY_SECONDS)
    except Exception:
        log.exception("webhook subscriptions not checked at start-up; reconciliation will")
