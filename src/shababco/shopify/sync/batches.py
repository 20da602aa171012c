"""Apply one batch of GraphQL product nodes, and tombstone what the batch proves deleted.

One product the mirror cannot take never stops the others: it is skipped with its reason (logged
and reported), and the next pass tries it again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from shababco.catalog.models import Event
from shababco.errors import is_database_outage
from shababco.shopify.mirror.apply import delete_products, upsert_products
from shababco.shopify.mirror.products import ProductRecords, normalize_product
from shababco.shopify.mirror.sql import in_ids, refusal
from shababco.shopify.payloads import PayloadError
from shababco.shopify.sync.state import SHOP, read_state

log = logging.getLogger(__name__)


@dataclass
class BatchResult:
    changed: set[int] = field(default_factory=set)  # events to announce (cache invalidation)
    repaired: int = 0  # products the mirror lacked or held older than the store
    deleted: set[int] = field(default_factory=set)
    skipped: dict[str, str] = field(default_factory=dict)  # product id: why it was not applied


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
    conn: AsyncConnection,
    *,
    nodes: Sequence[dict[str, Any]],
    currency: str,
    observed_at: datetime | None = None,
) -> BatchResult:
    """Normalize and upsert product nodes; counts the ones that repaired the mirror.

    `observed_at` is when the store was asked for them: it breaks ties of `updated_at` with
    webhooks (see `mirror.apply`). Their prices are in the shop's currency as the store last
    told it; `currency` is for a mirror that has never been told. The caller's transaction must
    be open (savepoints).
    """
    known = (await read_state(conn, name=SHOP) or {}).get("currency_code")
    result = BatchResult()
    records = []
    for node in nodes:
        try:
            records.append(
                normalize_product(
                    node, currency=currency, priced_in=known, triggered_at=observed_at
                )
            )
        except PayloadError as exc:
            result.skipped[str(node.get("id") if isinstance(node, dict) else node)] = str(exc)
    if records:
        stale = await stale_products(conn, versions={r.product_id: r.updated_at for r in records})
        result.changed = await _upsert_each_if_needed(conn, records, result.skipped)
        result.repaired = len(stale & result.changed)
    for product, reason in result.skipped.items():
        log.warning("product %s skipped: %s", product, reason)
    return result


async def _upsert_each_if_needed(
    conn: AsyncConnection, records: list[ProductRecords], skipped: dict[str, str]
) -> set[int]:
    """Upsert the records together, or one by one when that fails, skipping the failures."""
    try:
        async with conn.begin_nested():
            return await upsert_products(conn, records)
    except DBAPIError as exc:
        if is_database_outage(exc):
            raise
    changed: set[int] = set()
    for record in records:
        try:
            async with conn.begin_nested():
                changed |= await upsert_products(conn, [record])
        except DBAPIError as exc:
            if is_database_outage(exc):
                raise
            skipped[str(record.product_id)] = refusal(exc)
    return changed


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
