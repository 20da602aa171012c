"""Bulk operations: JSONL with __parentId children that do not sit next to their parent."""

from __future__ import annotations

import asyncio
import json
from itertools import pairwise

import httpx

from tests.support.simulator import gql

BULK = """mutation($q: String!) {
  bulkOperationRunQuery(query: $q, groupObjects: false) {
    bulkOperation { id status } userErrors { field message }
  }
}"""
INNER = """{ products { edges { node { id title updatedAt
  metafields { edges { node { id namespace key value } } }
  variants { edges { node { id price inventoryItem { id inventoryLevels { edges { node { id
    location { id } quantities(names: ["available"]) { name quantity } } } } } } } } } } } }"""
POLL = """query($id: ID!) {
  bulkOperation(id: $id) { status url objectCount rootObjectCount errorCode }
}"""


async def test_bulk_query_produces_jsonl_with_parent_ids(client: httpx.AsyncClient) -> None:
    started = await gql(client, BULK, q=INNER)
    operation = started["data"]["bulkOperationRunQuery"]["bulkOperation"]
    assert operation["status"] == "CREATED"
    for _ in range(200):
        polled = (await gql(client, POLL, id=operation["id"]))["data"]["bulkOperation"]
        if polled["status"] == "COMPLETED":
            break
        await asyncio.sleep(0.05)
    assert polled["status"] == "COMPLETED", polled
    async with httpx.AsyncClient() as anonymous:  # the URL is signed: no token needed
        download = await anonymous.get(polled["url"])
    lines = [json.loads(line) for line in download.text.splitlines()]
    assert len(lines) == int(polled["objectCount"])
    roots = [line for line in lines if "__parentId" not in line]
    count = (await gql(client, "{ productsCount { count } }"))["data"]["productsCount"]["count"]
    assert len(roots) == int(polled["rootObjectCount"]) == count
    ids = {line["id"] for line in lines}
    children = [line for line in lines if "__parentId" in line]
    assert children and all(child["__parentId"] in ids for child in children)
    kinds = {child["id"].split("/")[3] for child in children}
    assert {"Metafield", "ProductVariant", "InventoryLevel"} <= kinds
    next_to_parent = sum(
        1
        for before, line in pairwise(lines)
        if "__parentId" in line and line["__parentId"] in {before["id"], before.get("__parentId")}
    )
    assert next_to_parent < 0.2 * len(children)
    assert all("variants" not in root and "metafields" not in root for root in roots)
