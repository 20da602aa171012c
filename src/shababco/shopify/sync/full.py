"""`shababco sync`: the initial full sync, resumable, by bulk operation (default) or pages.

Phases: products (with removal of what the store no longer has), inventory levels (bulk only:
pages carry them), orders. Each batch commits together with its progress marker in
`sync_state`, so a rerun after a crash continues after the last committed batch; upserts are
idempotent, so nothing is ever counted twice. When every phase is done, the run's start time
becomes reconciliation's watermark.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.cache.changes import ChangeFeed, Changes
from shababco.shopify.admin.bulk import fetch_bulk, spill_result, start_bulk, wait_bulk
from shababco.shopify.admin.client import ShopifyClient
from shababco.shopify.admin.documents import (
    BULK_CATALOG,
    BULK_INVENTORY,
    ORDERS_COUNT,
    PRODUCTS_COUNT,
)
from shababco.shopify.admin.pages import Page, product_pages
from shababco.shopify.payloads import parse_id, parse_timestamp
from shababco.shopify.sync.batches import apply_products, tombstone_missing
from shababco.shopify.sync.inventory import sync_inventory
from shababco.shopify.sync.orders import apply_order_batch, order_pages
from shababco.shopify.sync.shop import learn_shop_currency
from shababco.shopify.sync.state import RECONCILE, SYNC, clear_state, read_state, write_state

Progress = Callable[[str, int, int | None], None]
METHODS = ("bulk", "pages")
BATCH_SIZE = 250
PREFETCH_PAGES = 64
T = TypeVar("T")


@dataclass
class SyncReport:
    method: str
    products: int = 0
    resumed_after: int = 0
    deleted: int = 0
    skipped: int = 0  # products the mirror could not take (logged with their reasons)
    levels: int = 0
    orders: int = 0
    seconds: float = 0.0
    requests: int = 0
    query_points: int = 0


@dataclass
class SyncRun:
    """What one sync needs at hand; `state` is the marker persisted after each batch."""

    engine: AsyncEngine
    client: ShopifyClient
    currency: str
    changes: ChangeFeed | None
    progress: Progress
    batch_size: int
    state: dict[str, Any]
    report: SyncReport = field(init=False)

    def __post_init__(self) -> None:
        self.report = SyncReport(method=self.state["method"])

    async def commit_state(self, **updates: Any) -> None:
        self.state.update(updates)
        async with self.engine.begin() as conn:
            await write_state(conn, name=SYNC, value=self.state)

    async def publish(self, event_ids: set[int]) -> None:
        if self.changes is not None and event_ids:
            await self.changes.publish(Changes.of(event_ids))


def _ignore(phase: str, done: int, total: int | None) -> None:
    return None


async def run_sync(
    engine: AsyncEngine,
    client: ShopifyClient,
    *,
    method: str = "bulk",
    currency: str,
    changes: ChangeFeed | None = None,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
) -> SyncReport:
    """Mirror the whole store, continuing an interrupted run of the same method.

    `currency` is used only if the store does not say its own.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}")
    started = time.monotonic()
    currency = await learn_shop_currency(engine, client, fallback=currency)
    state = await _start_or_resume(engine, method)
    run = SyncRun(engine, client, currency, changes, progress or _ignore, batch_size, state)
    run.report.resumed_after = int(state.get("processed", 0))
    if state["phase"] == "products":
        await (_bulk_products(run) if method == "bulk" else _paged_products(run))
        await run.commit_state(phase="inventory" if method == "bulk" else "orders", cursor=None)
    if state["phase"] == "inventory":
        levels = await sync_inventory(
            run.engine,
            run.client,
            changes=run.changes,
            progress=run.progress,
            operation_id=run.state.get("inventory_operation_id"),
        )
        run.report.levels = levels.levels
        await run.commit_state(phase="orders", cursor=None)
    if state["phase"] == "orders":
        await _orders(run)
    await _finish(engine, state)
    run.report.seconds = time.monotonic() - started
    run.report.requests, run.report.query_points = client.requests, client.points_spent
    return run.report


async def _start_or_resume(engine: AsyncEngine, method: str) -> dict[str, Any]:
    async with engine.begin() as conn:
        state = await read_state(conn, name=SYNC)
        if state is not None and state.get("method") == method:
            return state
        fresh = {
            "method": method,
            "started_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "phase": "products",
            "after_id": 0,
            "processed": 0,
        }
        if state is not None:  # another method's run: keep its (earlier) start
            fresh["started_at"] = min(fresh["started_at"], state["started_at"])
        await write_state(conn, name=SYNC, value=fresh)
        return fresh


async def _finish(engine: AsyncEngine, state: dict[str, Any]) -> None:
    """Hand the run's start to reconciliation (keeping an earlier watermark) and clear it."""
    async with engine.begin() as conn:
        current = await read_state(conn, name=RECONCILE) or {}
        watermark = state["started_at"]
        if current.get("watermark"):
            watermark = min(watermark, current["watermark"])
        await write_state(conn, name=RECONCILE, value={**current, "watermark": watermark})
        await clear_state(conn, name=SYNC)


async def _apply_batch(
    run: SyncRun, nodes: list[dict[str, Any]], *, up_to: int | None, listed_at: datetime
) -> None:
    """Upsert a batch and tombstone what its id range lacks, with the progress marker."""
    after_id = int(run.state["after_id"])
    ids = {parse_id(node["id"]) for node in nodes}
    async with run.engine.begin() as conn:
        result = await apply_products(
            conn, nodes=nodes, currency=run.currency, observed_at=listed_at
        )
        deleted = await tombstone_missing(
            conn,
            after_id=after_id,
            up_to_id=up_to,
            present=ids,
            listed_at=listed_at,
            currency=run.currency,
        )
        run.state["after_id"] = max(ids, default=after_id)
        run.state["processed"] = int(run.state["processed"]) + len(nodes)
        await write_state(conn, name=SYNC, value=run.state)
    run.report.products += len(nodes)
    run.report.deleted += len(deleted)
    run.report.skipped += len(result.skipped)
    await run.publish(result.changed | deleted)


async def _bulk_products(run: SyncRun) -> None:
    operation_id = run.state.get("operation_id")
    known = await fetch_bulk(run.client, operation_id=operation_id) if operation_id else None
    if known is None or known.status not in {"CREATED", "RUNNING", "COMPLETED"}:
        operation_id = await start_bulk(run.client, query=BULK_CATALOG)
        await run.commit_state(operation_id=operation_id, after_id=0, processed=0)
    assert operation_id is not None
    phase, expected = "exporting products (bulk operation)", await _product_count(run.client)
    operation = await wait_bulk(
        run.client,
        operation_id=operation_id,
        on_poll=lambda polled: run.progress(phase, polled.root_count or 0, expected),
    )
    listed_at = parse_timestamp(operation.created_at, field="createdAt")
    spill = await spill_result(run.client, operation)
    # The store computes the levels while we apply the products (one bulk query at a time).
    inventory_operation = await start_bulk(run.client, query=BULK_INVENTORY)
    await run.commit_state(inventory_operation_id=inventory_operation)
    try:
        total = await asyncio.to_thread(spill.count)
        while True:
            after_id = int(run.state["after_id"])
            nodes = await asyncio.to_thread(spill.products_after, after_id, run.batch_size)
            full = len(nodes) == run.batch_size
            last = parse_id(nodes[-1]["id"]) if full else None
            await _apply_batch(run, nodes, up_to=last, listed_at=listed_at)
            run.progress("products", int(run.state["processed"]), total)
            if not full:
                return
    finally:
        spill.close()


async def _product_count(client: ShopifyClient) -> int | None:
    data = await client.query(PRODUCTS_COUNT, {"query": None})
    return int(data["productsCount"]["count"])


async def _paged_products(run: SyncRun) -> None:
    total = await _product_count(run.client)
    pages = product_pages(run.client, after=run.state.get("cursor"), sort_key="ID")
    batch: list[dict[str, Any]] = []
    first_fetched: datetime | None = None
    async for page in prefetch(pages, PREFETCH_PAGES):
        batch.extend(page.nodes)
        first_fetched = first_fetched or page.fetched_at
        if len(batch) < run.batch_size and page.has_next:
            continue
        await _apply_page_batch(run, batch, page, first_fetched)
        run.progress("products", int(run.state["processed"]), total)
        batch, first_fetched = [], None


async def _apply_page_batch(
    run: SyncRun, batch: list[dict[str, Any]], last_page: Page, first_fetched: datetime
) -> None:
    up_to = max((parse_id(n["id"]) for n in batch), default=None) if last_page.has_next else None
    run.state["cursor"] = last_page.end_cursor
    # The batch's first page bounds which absent events may be removed: anything newer may
    # have been created after it was listed.
    await _apply_batch(run, batch, up_to=up_to, listed_at=first_fetched)


async def _orders(run: SyncRun) -> None:
    total = int((await run.client.query(ORDERS_COUNT))["ordersCount"]["count"])
    async for page in order_pages(run.client, after=run.state.get("cursor")):
        async with run.engine.begin() as conn:
            events, _ = await apply_order_batch(conn, orders=page.orders)
            run.state["cursor"] = page.end_cursor
            run.state["orders"] = int(run.state.get("orders", 0)) + len(page.orders)
            await write_state(conn, name=SYNC, value=run.state)
        run.report.orders += len(page.orders)
        run.progress("orders", int(run.state["orders"]), total)
        await run.publish(events)


async def prefetch(source: AsyncIterator[T], size: int) -> AsyncIterator[T]:
    """Iterate `source` in a background task, up to `size` items ahead of the consumer."""
    queue: asyncio.Queue[tuple[bool, Any]] = asyncio.Queue(maxsize=size)

    async def produce() -> None:
        try:
            async for item in source:
                await queue.put((False, item))
            await queue.put((True, None))
        except BaseException as exc:
            await queue.put((True, exc))
            raise

    task = asyncio.create_task(produce())
    try:
        while True:
            done, item = await queue.get()
            if done:
                if isinstance(item, BaseException):
                    raise item
                return
            yield item
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
