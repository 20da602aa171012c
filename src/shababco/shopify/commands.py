"""What the store commands of `shababco` do (sync, reconcile, webhooks), behind the CLI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from shababco.changes import ChangeFeed
from shababco.config import Settings
from shababco.db import Database, open_database
from shababco.migrate import upgrade
from shababco.shopify.client import ShopifyClient
from shababco.shopify.reconcile import ReconcileReport
from shababco.shopify.scheduled import reconcile_if_due
from shababco.shopify.subscriptions import (
    Subscription,
    delete_subscription,
    list_subscriptions,
    register_subscriptions,
)
from shababco.shopify.sync import SyncReport, run_sync


class ProgressBars:
    """A rich progress bar per sync phase."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        task = self.tasks.get(phase)
        if task is None:
            task = self.tasks[phase] = self.progress.add_task(phase, total=total)
        self.progress.update(task, completed=done, total=total)


@asynccontextmanager
async def open_mirror(settings: Settings) -> AsyncIterator[Database]:
    """The database, migrated first on the embedded default."""
    database = await asyncio.to_thread(open_database, settings)
    try:
        if database.embedded is not None:
            await upgrade(database.write)
        yield database
    finally:
        await database.dispose()


async def sync_store(
    settings: Settings, *, method: str, batch_size: int, console: Console
) -> SyncReport:
    """Run (or resume) the full sync with progress bars."""
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    async with ShopifyClient.from_settings(settings) as client, open_mirror(settings) as database:
        with Progress(*columns, console=console) as progress:
            return await run_sync(
                database.write,
                client,
                method=method,
                currency=settings.shop_currency,
                changes=ChangeFeed(database.write),
                progress=ProgressBars(progress),
                batch_size=batch_size,
            )


async def reconcile_store(settings: Settings) -> ReconcileReport | None:
    """One pass, unless another process is reconciling right now (then None)."""
    async with ShopifyClient.from_settings(settings) as client, open_mirror(settings) as database:
        return await reconcile_if_due(
            database.write,
            client,
            currency=settings.shop_currency,
            changes=ChangeFeed(database.write),
            interval=0,
        )


async def register_webhooks(settings: Settings, *, address: str) -> list[Subscription]:
    async with ShopifyClient.from_settings(settings) as client:
        return await register_subscriptions(client, address=address)


async def list_webhooks(settings: Settings) -> list[Subscription]:
    async with ShopifyClient.from_settings(settings) as client:
        return await list_subscriptions(client)


async def delete_webhooks(settings: Settings, *, ids: list[str], every: bool) -> list[str]:
    """Delete the given subscriptions, or all of them; returns the deleted ids."""
    async with ShopifyClient.from_settings(settings) as client:
        if every:
            ids = [subscription.id for subscription in await list_subscriptions(client)]
        for subscription_id in ids:
            await delete_subscription(client, subscription_id=subscription_id)
    return ids
