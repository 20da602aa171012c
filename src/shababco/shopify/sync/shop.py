"""The shop's own facts the mirror takes from the store rather than from the settings."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.shopify.admin.client import ShopifyClient
from shababco.shopify.admin.documents import SHOP_CURRENCY
from shababco.shopify.sync.state import SHOP, read_state, write_state

CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")


async def learn_shop_currency(engine: AsyncEngine, client: ShopifyClient, *, fallback: str) -> str:
    """Ask the store for its currency and remember it; `fallback` when it gives none."""
    data = await client.query(SHOP_CURRENCY)
    code = (data.get("shop") or {}).get("currencyCode")
    if not isinstance(code, str) or not CURRENCY_CODE.match(code):
        return fallback
    async with engine.begin() as conn:
        known = await read_state(conn, name=SHOP) or {}
        if known.get("currency_code") != code:
            await write_state(conn, name=SHOP, value={**known, "currency_code": code})
    return code
