"""Apply one batch of GraphQL product nodes, and tombstone what the batch proves deleted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from shababco.catalog.models import Event
from shababco.shopify.mirror.apply import delete_products, upsert_products
from shababco.shopify.mirror.products import normalize_product
from shababco.shopify.mirror.sql import in_ids
from shababco.shopify.sync.state import SHOP, read_state


@dataclass
class BatchResult:
    changed: set[int] = field(default_factory=set)  # events to announce (cache invalidation)
    repaired: int = 0  # products the mirror lacked or held older than the store
    deleted: set[int] = field(default_factory=set)


async def stale_products(conn: AsyncConnection, *, versions: dict[int, datetime]) -> set[int]:
    """Products whose mirror row is missing or older than the store's `updatedAt`."""
    rows = await conn.execute(
        select(Event.shopify_product_id, Event.shopify_updated_at, Event.deleted_at).where(
            in_ids(Event.shopify_product_id, versions)
        )
    )
    known = {row.shopify_product_id: row for row in rows}
    stale = set()
    for product_id, updated_at in versions.items():
        row = known.get(product_id)
        if row is None or (row.deleted_at is None and row.shopify_updated_at < updated_at):
            stale.add(product_id)
    return stale


async def apply_products(
    conn: AsyncConnection, *, nodes: Sequence[dict[str, Any]], currency: str
) -> BatchResult:
    """Normalize and upsert product nodes; counts the ones that repaired the mirror.

    Their prices are in the shop's currency as the store last told it; `currency` is for a
    mirror that has never been told.
    """
    known = (await read_state(conn, name=SHOP) or {}).get("currency_code")
    records = [normalize_product(node, currency=currency, priced_in=known) for node in nodes]
    if not records:
        return BatchResult()
    stale = await stale_products(conn, versions={r.product_id: r.updated_at for r in records})
    changed = await upsert_products(conn, records)
    return BatchResult(changed=changed, repaired=len(stale & changed))


async def tombstone_missing(
    conn: AsyncConnection,
    *,
    after_id: int,
    up_to_id: int | None,
    present: set[int],
    listed_at: datetime,
    currency: str,
) -> set[int]:
    """Tombstone mirrored events in the id range (after_id, up_to_id] the store did not list.

    The store lists products in id order, so an id inside a listed range but absent from it no
    longer exists. Events updated at or after `listed_at` are spared: they may have been created
    (through a webhook) after the listing was taken.
    """
    statement = select(Event.shopify_product_id).where(
        Event.shopify_product_id > after_id,
        Event.deleted_at.is_(None),
        Event.shopify_updated_at < listed_at,
    )
    if up_to_id is not None:
        statement = statement.where(Event.shopify_product_id <= up_to_id)
    missing = [pid for pid in (await conn.execute(statement)).scalars() if pid not in present]
    if not missing:
        return set()
    return await delete_products(conn, missing, datetime.now(UTC), currency=currency)
