"""`shababco import FILE`: REST-shaped products from a file, through the normalizer and upsert.

Accepts a JSON list of products, one product per line (JSON Lines), a single product, or the
wrappers Shopify's REST API and webhook captures use (`{"product": …}`, `{"products": […]}`,
`{"body": …, "headers": …}`). All or nothing: one invalid product rolls the whole file back,
and the error names it (where it is in the file, its id, and why).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shababco.cache.changes import ChangeFeed, Changes
from shababco.errors import is_database_outage
from shababco.shopify.mirror.apply import upsert_products
from shababco.shopify.mirror.products import ProductRecords, normalize_product
from shababco.shopify.mirror.sql import refusal
from shababco.shopify.payloads import PayloadError, shown
from shababco.shopify.sync.state import shop_currency

BATCH_SIZE = 500


class ImportFileError(ValueError):
    """The file, or one product in it, cannot be imported; the message says where."""


@dataclass
class ImportReport:
    read: int = 0
    applied: int = 0

    @property
    def skipped_as_older(self) -> int:
        return self.read - self.applied


def _unwrap(document: Any) -> list[Any]:
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        if isinstance(document.get("products"), list):
            return list(document["products"])
        if isinstance(document.get("product"), dict):
            return [document["product"]]
        if isinstance(document.get("body"), dict) and "headers" in document:
            return [document["body"]]
        return [document]
    raise ImportFileError("expected a product object or a list of products")


def read_products(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, product) pairs; JSON Lines are streamed, other documents parsed whole."""
    with path.open("rb") as handle:
        head = handle.read(1 << 16).lstrip()
        handle.seek(0)
        first_line = head.split(b"\n", 1)[0].strip()
        if not head.startswith(b"[") and _is_complete_json(first_line) and b"\n" in head.strip():
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    for item in _unwrap(_parse(line, f"line {number}")):
                        yield f"line {number}", item
            return
        for index, item in enumerate(_unwrap(_parse(handle.read(), path.name)), start=1):
            yield f"product {index}", item


def _is_complete_json(line: bytes) -> bool:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


def _parse(raw: bytes, where: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ImportFileError(f"{where}: invalid JSON ({exc})") from None


async def import_file(engine: AsyncEngine, path: Path, *, currency: str) -> ImportReport:
    """Import every product of `path` in one transaction; returns what was read and applied.

    A new event whose payload names no currency takes the shop's as the store last told the
    mirror, else `currency`. Running servers learn of the changes through the change log
    (their caches invalidate).
    """
    report = ImportReport()
    batch: list[tuple[str, ProductRecords]] = []
    applied: set[int] = set()
    async with engine.begin() as conn:
        currency = await shop_currency(conn, fallback=currency)
        for where, product in read_products(path):
            try:
                batch.append((where, normalize_product(product, currency=currency)))
            except PayloadError as exc:
                product_id = product.get("id") if isinstance(product, dict) else None
                named = f" (id {shown(product_id)})" if product_id is not None else ""
                raise ImportFileError(f"{where}{named}: {exc}") from None
            report.read += 1
            if len(batch) >= BATCH_SIZE:
                applied |= await _upsert(conn, batch)
                batch.clear()
        if batch:
            applied |= await _upsert(conn, batch)
    report.applied = len(applied)
    await ChangeFeed(engine).publish(Changes.of(applied))
    return report


async def _upsert(conn: AsyncConnection, batch: list[tuple[str, ProductRecords]]) -> set[int]:
    """Upsert a batch; if the database refuses it, find the product it refuses and name it."""
    try:
        async with conn.begin_nested():
            return await upsert_products(conn, [records for _, records in batch])
    except DBAPIError as exc:
        if is_database_outage(exc):
            raise
    applied: set[int] = set()
    for where, records in batch:
        try:
            async with conn.begin_nested():
                applied |= await upsert_products(conn, [records])
        except DBAPIError as exc:
            if is_database_outage(exc):
                raise
            raise ImportFileError(f"{where} (id {records.product_id}): {refusal(exc)}") from None
    return applied
