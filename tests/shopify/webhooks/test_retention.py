"""Applied inbox rows are deleted after the retention period; nothing else is."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.cache.changes import ChangeFeed
from shababco.config import ConfigError, Settings, load_settings
from shababco.shopify.models import WebhookDelivery
from shababco.shopify.webhooks import inbox
from shababco.shopify.webhooks.inbox import InboxWorker, prune_applied
from tests.support.webhook_client import eventually


async def test_applied_rows_older_than_the_period_are_pruned(db: AsyncEngine) -> None:
    rows = {
        "applied-8-days-ago": {"processed_at": 8, "received_at": 8},
        "applied-6-days-ago": {"processed_at": 6, "received_at": 8},
        "quarantined-30-days-ago": {"quarantined_at": 30, "received_at": 30},
        "pending-30-days-ago": {"received_at": 30},
    }
    async with db.begin() as conn:
        for webhook_id, ages in rows.items():
            await conn.execute(
                insert(WebhookDelivery).values(
                    webhook_id=webhook_id,
                    topic="products/delete",
                    payload={"id": 1},
                    **{
                        column: text(f"now() - interval '{days} days'")
                        for column, days in ages.items()
                    },
                )
            )
    assert await prune_applied(db, older_than=timedelta(days=7)) == 1
    async with db.connect() as conn:
        kept = set((await conn.execute(select(WebhookDelivery.webhook_id))).scalars())
    assert kept == set(rows) - {"applied-8-days-ago"}


async def test_pruning_goes_batch_by_batch(
    db: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = text("now() - interval '8 days'")
    async with db.begin() as conn:
        await conn.execute(
            insert(WebhookDelivery).values(
                [
                    {
                        "webhook_id": f"old-{n}",
                        "topic": "products/delete",
                        "payload": {"id": 1},
                        "processed_at": old,
                    }
                    for n in range(7)
                ]
            )
        )
    monkeypatch.setattr(inbox, "PRUNE_BATCH", 3)
    assert await prune_applied(db, older_than=timedelta(days=7)) == 7


def test_the_period_is_seven_days_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(_env_file=None).webhook_inbox_retention_days == 7
    monkeypatch.setenv("WEBHOOK_INBOX_RETENTION_DAYS", "30")
    assert load_settings().webhook_inbox_retention_days == 30
    monkeypatch.setenv("WEBHOOK_INBOX_RETENTION_DAYS", "0")
    with pytest.raises(ConfigError, match="WEBHOOK_INBOX_RETENTION_DAYS"):
        load_settings()


async def test_the_inbox_worker_prunes_as_it_runs(db: AsyncEngine) -> None:
    async with db.begin() as conn:
        await conn.execute(
            insert(WebhookDelivery).values(
                webhook_id="old",
                topic="products/delete",
                payload={"id": 1},
                processed_at=text("now() - interval '3 days'"),
            )
        )
    worker = InboxWorker(db, ChangeFeed(db), currency="USD", retention=timedelta(days=2))
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))

    async def pruned() -> bool:
        async with db.connect() as conn:
            return await conn.scalar(select(func.count()).select_from(WebhookDelivery)) == 0

    try:
        await eventually(pruned)
    finally:
        stop.set()
        worker.wake()
        await running
