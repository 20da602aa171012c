"""The simulator's docs: offline assets, and where Shopify's APIs are and how it differs."""

from __future__ import annotations

import re

import httpx

ASSET = re.compile(r'(?:src|href)="([^"]+\.(?:js|css))"')


async def test_docs_work_offline_and_say_where_shopifys_apis_are(
    client: httpx.AsyncClient,
) -> None:
    html = await client.get("/_simulator/docs")
    assets = ASSET.findall(html.text)
    assert assets and all(asset.startswith("/_simulator/docs/static/") for asset in assets)
    for asset in assets:
        assert (await client.get(asset)).status_code == 200
    description = (await client.get("/_simulator/openapi.json")).json()["info"]["description"]
    for must in ("X-Shopify-Access-Token", "/admin/api/2026-07/graphql.json", "differs"):
        assert must in description
    assert "products/count.json" in description and "Not Found" in description
