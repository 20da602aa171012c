"""What the store commands of `shababco` do (sync, reconcile, webhooks), behind the CLI."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from shababco.cache.changes import ChangeFeed
from shababco.config import Settings
from shababco.database.migrate import migrated_database
from shababco.shopify.admin.client import ShopifyClient
from shababco.shopify.sync.full import SyncReport, run_sync
from shababco.shopify.sync.reconcile import ReconcileReport
from shababco.shopify.sync.scheduled import reconcile_if_due
from shababco.shopify.webhooks.subscriptions import (
    Subscription,
    delete_subscription,
    list_subscriptions,
    register_subscriptions,
)


class CountColumn(ProgressColumn):
    """`done/total`, or `done` alone while the total is unknown (never `done/?`)."""

    def render(self, task: Task) -> Text:
        done = int(task.completed)
        shown = f"{done}/{int(task.total)}" if task.total is not None else str(done)
        return Text(shown, style="progress.download")


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


async def sync_store(
    settings: Settings, *, method: str, batch_size: int, console: Console
) -> SyncReport:
    """Run (or resume) the full sync with progress bars."""
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        CountColumn(),
        TimeElapsedColumn(),
    )
    async with (
        ShopifyClient.from_settings(settings) as client,
        migrated_database(settings) as database,
    ):
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
    async with (
        ShopifyClient.from_settings(settings) as client,
        migrated_database(settings) as database,
    ):
        return await reconcile_if_due(
            database.write,
            client,
            currency=settings.shop_currency,
            changes=ChangeFeed(database.write),
            interval=0,
            address=settings.public_base_url,
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
