"""Completing product webhooks from the Admin API.

A products/* webhook never carries variant metafields (the ticket type, features, restrictions,
visibility), and metafieldsSet on a variant only announces itself as products/update. So after
the inbox applies a product delivery, the product is fetched by id and applied again, whole.
Fetches are batched and run beside the inbox worker; if the store cannot be reached, the
periodic reconciliation repairs the same fields later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.cache.changes import ChangeFeed, Changes
from shababco.shopify.admin.client import ShopifyClient
from shababco.shopify.admin.pages import products_by_id
from shababco.shopify.sync.batches import apply_products

log = logging.getLogger(__name__)
BATCH = 25
RETRY_SECONDS = 5.0


class ProductRefetcher:
    """Fetches and applies the products it is asked about, a batch at a time."""

    def __init__(
        self, engine: AsyncEngine, client: ShopifyClient, changes: ChangeFeed, *, currency: str
    ) -> None:
        self._engine, self._client, self._changes = engine, client, changes
        self._currency = currency
        self._pending: set[int] = set()
        self._wake = asyncio.Event()

    def request(self, product_ids: Iterable[int]) -> None:
        self._pending.update(product_ids)
        if self._pending:
            self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 1.0)
            self._wake.clear()
            while self._pending and not stop.is_set():
                batch = set(sorted(self._pending)[:BATCH])
                self._pending -= batch
                try:
                    await self.refetch(batch)
                except Exception as exc:
                    log.warning("refetching %d products failed: %s", len(batch), exc)
                    self._pending |= batch
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), RETRY_SECONDS)

    async def refetch(self, product_ids: set[int]) -> None:
        """Fetch the products and apply them; deleted ones come back as nothing."""
        gids = [f"gid://shopify/Product/{product_id}" for product_id in sorted(product_ids)]
        asked_at = datetime.now(UTC)
        nodes = await products_by_id(self._client, ids=gids)
        async with self._engine.begin() as conn:
            result = await apply_products(
                conn, nodes=nodes, currency=self._currency, observed_at=asked_at
            )
        await self._changes.publish(Changes.of(result.changed))
