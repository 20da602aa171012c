"""Test data: the example payloads, the test store's identity, products loaded as import does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.shopify.mirror.apply import upsert_products
from shababco.shopify.mirror.products import normalize_product
from tests.support.services import ROOT

PAYLOADS = ROOT / "examples" / "shopify-payloads"
TEST_SHOP = "shababco-test.myshopify.com"
WEBHOOK_SECRET = "hush"  # the secret of the HMAC test vector
PREVIOUS_WEBHOOK_SECRET = "old-hush"


async def load_products(engine: AsyncEngine, *products: dict[str, Any]) -> set[int]:
    """Apply REST-shaped products through the normalizer and upsert, as import does."""
    records = [normalize_product(product, currency="USD") for product in products]
    async with engine.begin() as conn:
        return await upsert_products(conn, records)


def payload(name: str) -> Any:
    document = json.loads((PAYLOADS / name).read_text())
    return document.get("body", document) if isinstance(document, dict) else document


def payload_path(name: str) -> Path:
    return PAYLOADS / name
