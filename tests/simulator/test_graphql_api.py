"""The GraphQL Admin endpoint of the running simulator: data, errors, cost and throttling."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from tests.support.simulator import API, gql

PRODUCT_PAGE = """query($after: String, $q: String) {
  products(first: 10, after: $after, query: $q, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { id legacyResourceId title updatedAt status tags
      metafield(namespace: "event", key: "venue") { type value }
      variants(first: 3) { nodes { id price inventoryQuantity
        inventoryItem { id inventoryLevels(first: 3) { nodes { location { id name }
          quantities(names: ["available"]) { name quantity } } } } } } }
  }
}"""


async def test_missing_or_wrong_token_is_401(client: httpx.AsyncClient) -> None:
    body = {"query": "{ shop { name } }"}
    async with httpx.AsyncClient(base_url=str(client.base_url)) as anonymous:
        for headers in ({}, {"X-Shopify-Access-Token": "wrong"}):
            response = await anonymous.post(API, json=body, headers=headers)
            assert response.status_code == 401
            assert "Invalid API key or access token" in response.json()["errors"]


async def test_products_pages_cover_the_store_in_updated_at_order(
    client: httpx.AsyncClient,
) -> None:
    seen: list[dict[str, Any]] = []
    after = None
    while True:
        body = await gql(client, PRODUCT_PAGE, after=after)
        page = body["data"]["products"]
        seen += page["nodes"]
        assert (
            body["extensions"]["cost"]["requestedQueryCost"]
            > body["extensions"]["cost"]["actualQueryCost"]
        )
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    count = (await gql(client, "{ productsCount { count precision } }"))["data"]["productsCount"]
    assert len({p["id"] for p in seen}) == len(seen) == count["count"]
    stamps = [p["updatedAt"] for p in seen]
    assert stamps == sorted(stamps)
    variant = seen[0]["variants"]["nodes"][0]
    levels = variant["inventoryItem"]["inventoryLevels"]["nodes"]
    assert variant["inventoryQuantity"] == sum(
        level["quantities"][0]["quantity"] for level in levels
    )
    assert isinstance(variant["price"], str)


async def test_query_filters_on_updated_at_and_status(client: httpx.AsyncClient) -> None:
    everything = (await gql(client, PRODUCT_PAGE))["data"]["products"]["nodes"]
    pivot = everything[5]["updatedAt"]
    later = (await gql(client, PRODUCT_PAGE, q=f"updated_at:>'{pivot}'"))["data"]["products"][
        "nodes"
    ]
    assert later and all(p["updatedAt"] > pivot for p in later)
    active = (await gql(client, PRODUCT_PAGE, q="status:active"))["data"]["products"]["nodes"]
    assert active and all(p["status"] == "ACTIVE" for p in active)


async def test_product_by_id_and_nodes(client: httpx.AsyncClient) -> None:
    first = (await gql(client, "{ products(first: 1) { nodes { id title } } }"))["data"][
        "products"
    ]["nodes"][0]
    body = await gql(
        client,
        "query($id: ID!) { product(id: $id) { title } nodes(ids: [$id]) { id } }",
        id=first["id"],
    )
    assert body["data"]["product"]["title"] == first["title"]
    assert body["data"]["nodes"] == [{"id": first["id"]}]


async def test_invalid_and_unsupported_fields_are_named(client: httpx.AsyncClient) -> None:
    invalid = await gql(client, "{ products(first: 1) { nodes { titel } } }")
    assert invalid["errors"][0]["message"] == "Field 'titel' doesn't exist on type 'Product'"
    assert "data" not in invalid
    unsupported = await gql(
        client, "{ products(first: 1) { nodes { title giftCardTemplateSuffix } } }"
    )
    assert unsupported["errors"][0]["message"] == (
        "Field 'Product.giftCardTemplateSuffix' is not supported by the simulator"
    )
    assert "data" not in unsupported
    assert "cost" in unsupported["extensions"]


async def test_max_cost_exceeded(client: httpx.AsyncClient) -> None:
    body = await gql(
        client, "{ products(first: 250) { nodes { variants(first: 10) { nodes { id } } } } }"
    )
    error = body["errors"][0]
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert error["extensions"]["cost"] == 2 + 250 * (1 + 2 + 10) > 1000


async def test_throttled_at_http_200_then_recovers_at_restore_rate(
    client: httpx.AsyncClient,
) -> None:
    original = (await client.get("/_simulator/throttle")).json()
    small = {"maximum_available": 200, "restore_rate": 50, "currently_available": 200}
    await client.put("/_simulator/throttle", json=small)
    try:
        query = "{ products(first: 40) { nodes { id } } }"  # requested 42
        statuses = []
        for _ in range(6):
            statuses.append(await gql(client, query))
        throttled = [b for b in statuses if "errors" in b]
        assert throttled, "the bucket should run dry"
        last = throttled[0]
        assert last["errors"][0]["extensions"]["code"] == "THROTTLED"
        status = last["extensions"]["cost"]["throttleStatus"]
        assert status["maximumAvailable"] == 200 and status["restoreRate"] == 50
        wait = (42 - status["currentlyAvailable"]) / status["restoreRate"]
        started = time.monotonic()
        await asyncio.sleep(wait + 0.1)
        recovered = await gql(client, query)
        assert "errors" not in recovered, recovered
        assert time.monotonic() - started < 10  # no further waiting for the bucket
    finally:
        await client.put(
            "/_simulator/throttle",
            json={**original, "currently_available": original["maximum_available"]},
        )
