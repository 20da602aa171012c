"""`shababco reconcile`: one pass that repairs whatever webhooks failed to bring.

1. Products updated since the last successful run (`updated_at` window ending at this run's
   start; the window overlaps the previous one by its boundary second, since timestamps have
   one-second resolution).
2. Products created or deleted without a webhook: when the store's count differs from the
   mirror's (or with `full`), every id and `updatedAt` is listed and compared.
3. Inventory levels of the whole store (a bulk operation: a level change does not touch the
   product's `updatedAt`, so the window cannot see it).
4. Orders updated in the window, into the ledger (`sold`).
5. Webhook subscriptions: every topic subscribed at this service's address (PUBLIC_BASE_URL),
   any missing one created again (Shopify deletes a subscription whose deliveries keep failing,
   after which nothing would tell the mirror of a change).

The watermark moves to this run's start only when every step succeeded.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.cache.changes import ChangeFeed, Changes
from shababco.catalog.models import Event
from shababco.shopify.admin.client import ShopifyClient, ShopifyError
from shababco.shopify.admin.documents import PRODUCTS_COUNT
from shababco.shopify.admin.pages import product_id_pages, product_pages, products_by_id
from shababco.shopify.payloads import parse_id, parse_timestamp
from shababco.shopify.sync.batches import apply_products, stale_products, tombstone_missing
from shababco.shopify.sync.inventory import sync_inventory
from shababco.shopify.sync.orders import apply_order_batch, order_pages
from shababco.shopify.sync.shop import learn_shop_currency
from shababco.shopify.sync.state import RECONCILE, read_state, write_state
from shababco.shopify.webhooks.subscriptions import repair_subscriptions

log = logging.getLogger(__name__)
FETCH_BATCH = 250


@dataclass
class ReconcileReport:
    started_at: datetime
    window_from: datetime | None
    products_checked: int = 0
    events_repaired: int = 0
    events_added: int = 0
    events_deleted: int = 0
    levels_checked: int = 0
    levels_repaired: int = 0
    orders_checked: int = 0
    sold_repaired: int = 0
    products_skipped: int = 0  # the mirror could not take them (logged with their reasons)
    subscriptions_repaired: int = 0
    subscriptions_checked: bool = False
    listed_every_id: bool = False
    seconds: float = 0.0

    @property
    def repaired(self) -> dict[str, int]:
        """What the pass changed, per kind."""
        return {
            "events updated": self.events_repaired,
            "events added": self.events_added,
            "events deleted": self.events_deleted,
            "inventory levels": self.levels_repaired,
            "tickets' sold": self.sold_repaired,
            "webhook subscriptions": self.subscriptions_repaired,
        }


@dataclass
class Pass:
    engine: AsyncEngine
    client: ShopifyClient
    currency: str
    changes: ChangeFeed | None
    report: ReconcileReport
    window: str = field(init=False)

    def __post_init__(self) -> None:
        end = _search_time(self.report.started_at)
        self.window = f"updated_at:<='{end}'"
        if self.report.window_from is not None:
            self.window = (
                f"updated_at:>='{_search_time(self.report.window_from)}' AND {self.window}"
            )

    async def publish(self, event_ids: set[int]) -> None:
        if self.changes is not None and event_ids:
            await self.changes.publish(Changes.of(event_ids))


def _search_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def reconcile(
    engine: AsyncEngine,
    client: ShopifyClient,
    *,
    currency: str,
    changes: ChangeFeed | None = None,
    full: bool = False,
    address: str | None = None,
) -> ReconcileReport:
    """Run one reconciliation pass and return what it repaired; with `address` (this service's
    public base URL) the webhook subscriptions too.

    `currency` is used only if the store does not say its own.
    """
    clock = time.monotonic()
    currency = await learn_shop_currency(engine, client, fallback=currency)
    async with engine.connect() as conn:
        state = await read_state(conn, name=RECONCILE) or {}
    watermark = state.get("watermark")
    report = ReconcileReport(
        started_at=datetime.now(UTC).replace(microsecond=0),
        window_from=parse_timestamp(watermark, field="watermark") if watermark else None,
    )
    run = Pass(engine, client, currency, changes, report)
    await _updated_products(run)
    if full or await _counts_differ(run):
        report.listed_every_id = True
        await _every_id(run)
    levels = await sync_inventory(engine, client, changes=changes)
    report.levels_checked, report.levels_repaired = levels.levels, levels.repaired
    await _orders(run)
    if address:
        await _subscriptions(run, address)
    report.seconds = time.monotonic() - clock
    async with engine.begin() as conn:
        summary = {key: value for key, value in asdict(report).items() if isinstance(value, int)}
        await write_state(
            conn,
            name=RECONCILE,
            value={
                "watermark": report.started_at.isoformat(),
                "finished_at": datetime.now(UTC).isoformat(),
                "last_run": summary,
            },
        )
    return report


async def _updated_products(run: Pass) -> None:
    async for page in product_pages(run.client, query=run.window, sort_key="UPDATED_AT"):
        async with run.engine.begin() as conn:
            result = await apply_products(
                conn, nodes=page.nodes, currency=run.currency, observed_at=page.fetched_at
            )
        run.report.products_checked += len(page.nodes)
        run.report.products_skipped += len(result.skipped)
        run.report.events_repaired += result.repaired
        await run.publish(result.changed)


async def _counts_differ(run: Pass) -> bool:
    data = await run.client.query(PRODUCTS_COUNT, {"query": None})
    async with run.engine.connect() as conn:
        mirrored = await conn.scalar(
            select(func.count()).select_from(Event).where(Event.deleted_at.is_(None))
        )
    return int(data["productsCount"]["count"]) != mirrored


async def _every_id(run: Pass) -> None:
    """List every product id: tombstone the missing, fetch the unknown or newer."""
    after_id = 0
    to_fetch: list[str] = []
    async for page in product_id_pages(run.client):
        versions = {
            parse_id(node["id"]): parse_timestamp(node["updatedAt"], field="updatedAt")
            for node in page.nodes
        }
        up_to = max(versions, default=after_id) if page.has_next else None
        async with run.engine.begin() as conn:
            stale = await stale_products(conn, versions=versions)
            to_fetch += [node["id"] for node in page.nodes if parse_id(node["id"]) in stale]
            deleted = await tombstone_missing(
                conn,
                after_id=after_id,
                up_to_id=up_to,
                present=set(versions),
                listed_at=page.fetched_at,
                currency=run.currency,
            )
        run.report.events_deleted += len(deleted)
        await run.publish(deleted)
        after_id = up_to or after_id
    await _fetch_products(run, to_fetch)


async def _fetch_products(run: Pass, ids: list[str]) -> None:
    for start in range(0, len(ids), FETCH_BATCH):
        asked_at = datetime.now(UTC)
        nodes = await products_by_id(run.client, ids=ids[start : start + FETCH_BATCH])
        async with run.engine.begin() as conn:
            result = await apply_products(
                conn, nodes=nodes, currency=run.currency, observed_at=asked_at
            )
        run.report.events_added += result.repaired
        run.report.products_skipped += len(result.skipped)
        await run.publish(result.changed)


async def _orders(run: Pass) -> None:
    async for page in order_pages(run.client, query=run.window):
        async with run.engine.begin() as conn:
            events, sold_changed = await apply_order_batch(conn, orders=page.orders)
        run.report.orders_checked += len(page.orders)
        run.report.sold_repaired += sold_changed
        await run.publish(events)


async def _subscriptions(run: Pass, address: str) -> None:
    """A failure here leaves the rest of the pass standing: the next pass checks again."""
    try:
        created = await repair_subscriptions(run.client, address=address)
    except ShopifyError as exc:
        log.warning("webhook subscriptions not checked: %s", exc)
        return
    run.report.subscriptions_checked = True
    run.report.subscriptions_repaired = len(created)


def report_lines(report: ReconcileReport) -> list[str]:
    """Human-readable lines for the CLI."""
    since = report.window_from.isoformat() if report.window_from else "the beginning"
    lines = [
        f"window {since} → {report.started_at.isoformat()}: "
        f"{report.products_checked} products, {report.levels_checked} inventory levels, "
        f"{report.orders_checked} orders checked"
        + (" (every product id listed)" if report.listed_every_id else "")
        + ("" if report.subscriptions_checked else "; webhook subscriptions not checked"),
    ]
    lines += [f"  repaired {kind}: {count}" for kind, count in report.repaired.items()]
    if report.products_skipped:
        lines.append(f"  skipped {report.products_skipped} products (see the log for why)")
    lines.append(f"  took {report.seconds:.1f}s")
    return lines
