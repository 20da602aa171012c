"""Per-location inventory levels of the whole store, through one bulk operation.

The levels are recorded batch by batch as the file streams in; the tickets and events they
count towards are recomputed once at the end. A level the mirror cannot take is skipped with
its reason (logged and counted); the rest go on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shababco.cache.changes import ChangeFeed, Changes
from shababco.catalog.models import Ticket
from shababco.shopify.admin.bulk import fetch_bulk, start_bulk, stream_lines, wait_bulk
from shababco.shopify.admin.client import ShopifyClient
from shababco.shopify.admin.documents import BULK_INVENTORY
from shababco.shopify.mirror.apply import (
    refresh_event_summaries,
    refresh_ticket_stock,
    upsert_inventory_levels,
)
from shababco.shopify.mirror.products import InventoryLevelRecord
from shababco.shopify.mirror.sql import in_ids
from shababco.shopify.models import InventoryLevel
from shababco.shopify.payloads import (
    PayloadError,
    optional_int,
    optional_timestamp,
    parse_id,
    parse_timestamp,
)

log = logging.getLogger(__name__)
LEVELS_PER_BATCH = 2_000
ITEMS_PER_REFRESH = 5_000


@dataclass
class InventoryResult:
    levels: int = 0
    repaired: int = 0  # levels the mirror lacked or held with another quantity
    skipped: int = 0  # levels the mirror could not take (logged with their reasons)


def level_record(
    line: dict[str, Any], *, observed_at: datetime | None = None
) -> InventoryLevelRecord:
    """A record from an InventoryLevel node carrying `item`, `location` and `quantities`.

    `observed_at` (when the store was asked) breaks ties of `updatedAt` with webhooks.
    """
    available = next(
        (q.get("quantity") for q in line.get("quantities") or [] if q.get("name") == "available"),
        0,
    )
    return InventoryLevelRecord(
        inventory_item_id=parse_id(line["item"]["id"], field="inventory item id"),
        location_id=parse_id(line["location"]["id"], field="location id"),
        available=optional_int(available, field="available") or 0,
        updated_at=parse_timestamp(line["updatedAt"], field="inventory level updatedAt"),
        triggered_at=observed_at,
    )


async def _differing(conn: AsyncConnection, levels: Sequence[InventoryLevelRecord]) -> int:
    keys = {(level.inventory_item_id, level.location_id) for level in levels}
    rows = await conn.execute(
        select(
            InventoryLevel.inventory_item_id, InventoryLevel.location_id, InventoryLevel.available
        ).where(tuple_(InventoryLevel.inventory_item_id, InventoryLevel.location_id).in_(keys))
    )
    stored = {(row.inventory_item_id, row.location_id): row.available for row in rows}
    return sum(
        1
        for level in levels
        if stored.get((level.inventory_item_id, level.location_id)) != level.available
    )


async def store_level_batch(engine: AsyncEngine, levels: Sequence[InventoryLevelRecord]) -> int:
    """Record one batch of levels in its own transaction; returns how many differed."""
    if not levels:
        return 0
    async with engine.begin() as conn:
        differing = await _differing(conn, levels)
        await upsert_inventory_levels(conn, levels)
    return differing


async def refresh_stock(engine: AsyncEngine, items: set[int], changes: ChangeFeed | None) -> None:
    """Recompute the stock and summaries of the events whose tickets use `items`.

    Done once the whole file is in: its lines come in any order, so a batch can hold some of a
    ticket's locations and not the others, and refreshing per batch rewrote the same tickets
    and events again and again with sums that the next batch changed.
    """
    ordered = sorted(items)
    for start in range(0, len(ordered), ITEMS_PER_REFRESH):
        chunk = ordered[start : start + ITEMS_PER_REFRESH]
        async with engine.begin() as conn:
            found = await conn.execute(
                select(Ticket.event_id).where(in_ids(Ticket.inventory_item_id, chunk)).distinct()
            )
            events = set(found.scalars())
            if events:
                await refresh_ticket_stock(conn, event_ids=events)
                await refresh_event_summaries(conn, events)
        if changes is not None and events:
            await changes.publish(Changes.of(events))


async def sync_inventory(
    engine: AsyncEngine,
    client: ShopifyClient,
    *,
    changes: ChangeFeed | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
    operation_id: str | None = None,
) -> InventoryResult:
    """Read every level through a bulk operation (`operation_id` if already started)."""
    if operation_id is None or await fetch_bulk(client, operation_id=operation_id) is None:
        operation_id = await start_bulk(client, query=BULK_INVENTORY)
    operation = await wait_bulk(client, operation_id=operation_id)
    # The operation reads the store after it was created: its levels are at least that new.
    observed_at = optional_timestamp(operation.created_at, field="createdAt")
    result = InventoryResult()
    batch: list[InventoryLevelRecord] = []
    items: set[int] = set()
    async for raw in stream_lines(client, operation.url):
        line = orjson.loads(raw)
        if "location" not in line:
            continue  # the product and variant lines that lead to the levels
        try:
            batch.append(level_record(line, observed_at=observed_at))
        except (PayloadError, KeyError, TypeError) as exc:
            log.warning("inventory level skipped: %s", exc)
            result.skipped += 1
            continue
        if len(batch) >= LEVELS_PER_BATCH:
            result.repaired += await store_level_batch(engine, batch)
            result.levels += len(batch)
            items.update(level.inventory_item_id for level in batch)
            batch = []
            if progress is not None:
                progress("inventory levels", result.levels, None)
    result.repaired += await store_level_batch(engine, batch)
    result.levels += len(batch)
    items.update(level.inventory_item_id for level in batch)
    await refresh_stock(engine, items, changes)
    return result
