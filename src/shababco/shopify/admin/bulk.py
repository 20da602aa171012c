"""Bulk operations: start, poll, stream the JSONL, and put products back together.

Children lines (`__parentId`) may come before or after their parent, anywhere in the file, so
no product is known complete before the file ends. Rather than hold the catalog in memory, the
lines are spilled to a temporary SQLite file as they stream in and read back one batch of
products at a time: memory stays at one download chunk plus one batch, whatever the catalog size.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from shababco.shopify.admin.client import ShopifyClient, ShopifyError
from shababco.shopify.admin.documents import BULK_RUN, BULK_STATUS
from shababco.shopify.payloads import parse_id

log = logging.getLogger(__name__)

POLL_FIRST_SECONDS = 0.1
POLL_MAX_SECONDS = 0.5
SPILL_BATCH_LINES = 5_000
SQLITE_MAX_PARAMETERS = 900


class BulkOperationError(ShopifyError):
    """A bulk operation could not be started or did not complete."""


@dataclass(frozen=True)
class BulkOperation:
    id: str
    status: str
    created_at: str | None
    url: str | None
    root_count: int | None
    error_code: str | None


def _operation(node: dict[str, Any]) -> BulkOperation:
    roots = node.get("rootObjectCount")
    return BulkOperation(
        id=str(node["id"]),
        status=str(node.get("status")),
        created_at=node.get("createdAt"),
        url=node.get("url"),
        root_count=int(roots) if roots is not None else None,
        error_code=node.get("errorCode"),
    )


async def start_bulk(client: ShopifyClient, *, query: str) -> str:
    """Start a bulk query operation and return its id."""
    data = await client.query(BULK_RUN, {"query": query})
    payload = data["bulkOperationRunQuery"]
    if payload.get("userErrors"):
        messages = "; ".join(error["message"] for error in payload["userErrors"])
        raise BulkOperationError(f"bulk operation refused: {messages}")
    return str(payload["bulkOperation"]["id"])


async def fetch_bulk(client: ShopifyClient, *, operation_id: str) -> BulkOperation | None:
    """The operation's current state, or None when Shopify no longer knows it."""
    node = (await client.query(BULK_STATUS, {"id": operation_id}))["bulkOperation"]
    return None if node is None else _operation(node)


async def wait_bulk(
    client: ShopifyClient,
    *,
    operation_id: str,
    on_poll: Callable[[BulkOperation], None] | None = None,
) -> BulkOperation:
    """Poll until the operation completes; raise if it fails, is cancelled or expires.

    `on_poll` sees the operation at every poll (its root object count grows as it runs).
    """
    delay = POLL_FIRST_SECONDS
    while True:
        operation = await fetch_bulk(client, operation_id=operation_id)
        if operation is None:
            raise BulkOperationError(f"bulk operation {operation_id} is unknown to the store")
        if on_poll is not None:
            on_poll(operation)
        if operation.status == "COMPLETED":
            return operation
        if operation.status not in {"CREATED", "RUNNING"}:
            raise BulkOperationError(
                f"bulk operation {operation_id} ended {operation.status} "
                f"({operation.error_code or 'no error code'})"
            )
        await asyncio.sleep(delay)
        delay = min(POLL_MAX_SECONDS, delay * 1.5)


async def stream_lines(client: ShopifyClient, url: str | None) -> AsyncIterator[bytes]:
    """The non-empty lines of a result file, streamed (an empty result has no URL)."""
    if url is None:
        return
    async with client.download_client() as http, http.stream("GET", url) as response:
        if response.status_code != 200:
            raise BulkOperationError(f"bulk result download failed: HTTP {response.status_code}")
        async for line in response.aiter_lines():
            if line.strip():
                yield line.encode()


class ProductSpill:
    """Bulk catalog lines on disk, read back as whole product nodes in product id order."""

    def __init__(self) -> None:
        handle, self.path = tempfile.mkstemp(prefix="shababco-bulk-", suffix=".sqlite3")
        os.close(handle)
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
            "CREATE TABLE roots (id INTEGER PRIMARY KEY, body BLOB);"
            "CREATE TABLE children (parent TEXT, id TEXT, body BLOB);"
        )

    def add(self, lines: list[bytes]) -> None:
        """Store a batch of JSONL lines."""
        roots, children = [], []
        for raw in lines:
            line = orjson.loads(raw)
            parent = line.get("__parentId")
            if parent is None:
                roots.append((parse_id(line["id"]), raw))
            else:
                children.append((parent, line.get("id"), raw))
        self._db.executemany("INSERT OR REPLACE INTO roots VALUES (?, ?)", roots)
        self._db.executemany("INSERT INTO children VALUES (?, ?, ?)", children)

    def finish(self) -> None:
        """Index children by parent once every line is in."""
        self._db.execute("CREATE INDEX children_parent ON children (parent)")
        self._db.commit()

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM roots").fetchone()[0])

    def products_after(self, after_id: int, limit: int) -> list[dict[str, Any]]:
        """The next `limit` whole product nodes with an id above `after_id`."""
        rows = self._db.execute(
            "SELECT body FROM roots WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
        ).fetchall()
        products = [orjson.loads(body) for (body,) in rows]
        children = self._children([p["id"] for p in products])
        variant_ids = [c["id"] for c in _flat(children) if _kind(c) == "ProductVariant"]
        grandchildren = self._children(variant_ids)
        for product in products:
            _assemble(product, children.get(product["id"], []), grandchildren)
        return products

    def _children(self, parents: list[str]) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for start in range(0, len(parents), SQLITE_MAX_PARAMETERS):
            chunk = parents[start : start + SQLITE_MAX_PARAMETERS]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT parent, body FROM children WHERE parent IN ({marks})",  # noqa: S608 - only placeholders
                chunk,
            )
            for parent, body in rows:
                found.setdefault(parent, []).append(orjson.loads(body))
        return found

    def close(self) -> None:
        self._db.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


def _flat(groups: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [item for items in groups.values() for item in items]


def _kind(line: dict[str, Any]) -> str:
    return str(line.get("id") or "").removeprefix("gid://shopify/").split("/", 1)[0]


def _by_id(line: dict[str, Any]) -> int:
    return parse_id(line["id"])


def _assemble(
    product: dict[str, Any],
    children: list[dict[str, Any]],
    grandchildren: dict[str, list[dict[str, Any]]],
) -> None:
    """Give a product node the connections the normalizer reads, from its child lines."""
    metafields = [c for c in children if _kind(c) == "Metafield"]
    media = [c for c in children if _kind(c) == "MediaImage"]
    variants = [c for c in children if _kind(c) == "ProductVariant"]
    # Siblings come in any order: Shopify assigns media ids in position order.
    media.sort(key=_by_id)
    for variant in variants:
        fields = [g for g in grandchildren.get(variant["id"], []) if _kind(g) == "Metafield"]
        variant["metafields"] = {"nodes": fields}
    product["metafields"] = {"nodes": metafields}
    product["media"] = {"nodes": media}
    product["variants"] = {"nodes": variants}


async def spill_result(client: ShopifyClient, operation: BulkOperation) -> ProductSpill:
    """Download a completed catalog operation's result into a new spill file."""
    spill = ProductSpill()
    try:
        batch: list[bytes] = []
        async for line in stream_lines(client, operation.url):
            batch.append(line)
            if len(batch) >= SPILL_BATCH_LINES:
                await asyncio.to_thread(spill.add, batch)
                batch = []
        await asyncio.to_thread(spill.add, batch)
        await asyncio.to_thread(spill.finish)
    except BaseException:
        spill.close()
        raise
    return spill
