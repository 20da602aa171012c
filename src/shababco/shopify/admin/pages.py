"""Products through paged queries: cost-sized pages, completed one by one when a list overflows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shababco.shopify.admin.client import ShopifyClient, ShopifyError
from shababco.shopify.admin.documents import (
    PRODUCT_DETAIL,
    PRODUCT_IDS,
    PRODUCT_IDS_PAGE_SIZE,
    PRODUCT_VARIANTS,
    PRODUCTS_BY_ID,
    PRODUCTS_BY_ID_BATCH,
    PRODUCTS_PAGE,
    PRODUCTS_PAGE_SIZE,
)


@dataclass
class Page:
    nodes: list[dict[str, Any]]
    end_cursor: str | None
    has_next: bool
    fetched_at: datetime  # when the store was asked: the page reflects it at this time


def _overflows(connection: Any) -> bool:
    return isinstance(connection, dict) and bool(
        (connection.get("pageInfo") or {}).get("hasNextPage")
    )


def truncated(node: dict[str, Any]) -> bool:
    """True when one of the product's nested lists did not fit in its page."""
    if any(_overflows(node.get(key)) for key in ("metafields", "media", "variants")):
        return True
    for variant in (node.get("variants") or {}).get("nodes") or []:
        item = variant.get("inventoryItem") or {}
        if _overflows(variant.get("metafields")) or _overflows(item.get("inventoryLevels")):
            return True
    return False


async def complete_product(client: ShopifyClient, node: dict[str, Any]) -> dict[str, Any]:
    """The product with every nested list whole, fetched again with larger pages if needed."""
    if not truncated(node):
        return node
    detail = (await client.query(PRODUCT_DETAIL, {"id": node["id"]}))["product"]
    if detail is None:
        return node  # deleted meanwhile: the next pass tombstones it
    variants: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        data = await client.query(PRODUCT_VARIANTS, {"id": node["id"], "after": after})
        page = (data["product"] or {}).get("variants") or {"nodes": [], "pageInfo": {}}
        variants.extend(page["nodes"])
        if not page["pageInfo"].get("hasNextPage"):
            break
        after = page["pageInfo"]["endCursor"]
    whole = {**detail, "variants": {"nodes": variants}}
    if truncated(whole):
        raise ShopifyError(
            f"product {node['id']} has more than 100 metafields, 50 media, or a variant with "
            "more than 25 metafields or locations: not supported by the paged sync"
        )
    return whole


async def product_pages(
    client: ShopifyClient,
    *,
    after: str | None = None,
    query: str | None = None,
    sort_key: str = "ID",
) -> AsyncIterator[Page]:
    """Pages of whole products from `after` on, in `sort_key` order."""
    while True:
        fetched_at = datetime.now(UTC).replace(microsecond=0)
        variables = {
            "first": PRODUCTS_PAGE_SIZE,
            "after": after,
            "query": query,
            "sortKey": sort_key,
        }
        connection = (await client.query(PRODUCTS_PAGE, variables))["products"]
        nodes = [await complete_product(client, node) for node in connection["nodes"]]
        info = connection["pageInfo"]
        yield Page(nodes, info.get("endCursor"), bool(info.get("hasNextPage")), fetched_at)
        if not info.get("hasNextPage"):
            return
        after = info["endCursor"]


async def products_by_id(client: ShopifyClient, *, ids: list[str]) -> list[dict[str, Any]]:
    """Whole products for the given GIDs (deleted ones are left out)."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(ids), PRODUCTS_BY_ID_BATCH):
        chunk = ids[start : start + PRODUCTS_BY_ID_BATCH]
        data = await client.query(PRODUCTS_BY_ID, {"ids": chunk})
        for node in data["nodes"]:
            if node and node.get("id"):
                found.append(await complete_product(client, node))
    return found


async def product_id_pages(client: ShopifyClient) -> AsyncIterator[Page]:
    """Every product's id and updatedAt, in id order, a page at a time."""
    after: str | None = None
    while True:
        fetched_at = datetime.now(UTC).replace(microsecond=0)
        variables = {"first": PRODUCT_IDS_PAGE_SIZE, "after": after}
        connection = (await client.query(PRODUCT_IDS, variables))["products"]
        info = connection["pageInfo"]
        has_next = bool(info.get("hasNextPage"))
        yield Page(connection["nodes"], info.get("endCursor"), has_next, fetched_at)
        if not has_next:
            return
        after = info["endCursor"]
