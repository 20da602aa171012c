"""Sending signed webhook deliveries to the live API, as Shopify does."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.cache.changelog import CacheChange
from tests.support.data import TEST_SHOP, WEBHOOK_SECRET

# How long a test waits for a change to show through a cache. Far below every TTL the cache tests
# run with (300 s and more), so only invalidation can make it show; how fast it shows is measured
# by bench/cache_bench.py, never by a test on a machine other loads share.
VISIBLE_WITHIN = 15.0


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify_headers(topic: str, body: bytes, **overrides: str) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(body),
        "X-Shopify-Shop-Domain": TEST_SHOP,
        "X-Shopify-API-Version": "2026-07",
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": datetime.now(UTC).isoformat(),
    }
    headers.update(overrides)
    return headers


async def deliver(
    api: httpx.AsyncClient,
    topic: str,
    payload: Any = None,
    *,
    body: bytes | None = None,
    path: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST one signed delivery; `headers` override or add to Shopify's."""
    raw = body if body is not None else json.dumps(payload).encode()
    sent = shopify_headers(topic, raw, **(headers or {}))
    return await api.post(path or f"/webhooks/{topic}", content=raw, headers=sent)


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    """Wait until `check()` holds (the inbox worker applies deliveries asynchronously)."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def followed_past(engine: AsyncEngine, event_id: int, *clients: httpx.AsyncClient) -> None:
    """Wait until the change log records a change of `event_id` and every process's cache has
    followed the log past it (`/ready`'s `change_log_seq`): no late eviction can follow."""

    async def recorded() -> int | None:
        async with engine.connect() as conn:
            touched = CacheChange.event_ids.contains([event_id])
            newest = await conn.scalar(select(func.max(CacheChange.seq)).where(touched))
        return None if newest is None else int(newest)

    async def followed() -> bool:
        seq = await recorded()
        if seq is None:
            return False
        positions = [(await client.get("/ready")).json()["change_log_seq"] for client in clients]
        return bool(min(positions) >= seq)

    await eventually(followed, within=VISIBLE_WITHIN)
