"""The old architecture, for the suite to measure: every read calls the store's REST Admin API.

    OLD_API_STORE_URL=http://127.0.0.1:8081 OLD_API_ACCESS_TOKEN=… \\
        .venv/bin/python -m uvicorn bench.old_api:app --workers 1

As the API ran before the mirror (the "before" column): no database, no cache; a list is
`products.json?limit=…`, a search fetches products.json and filters titles in process, a detail
or its tickets is `products/{id}.json`. On 429 it sleeps `Retry-After` and asks again, so under
load its latency is the leaky bucket's queue (2 calls/s shared by all users) plus the store's.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException, Request

API_VERSION = "2026-07"
MAX_LIMIT = 250
LONGEST_WAIT_S = 600  # a request queues behind the whole bucket: minutes under load


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    headers = {"X-Shopify-Access-Token": os.environ["OLD_API_ACCESS_TOKEN"]}
    base = os.environ["OLD_API_STORE_URL"].rstrip("/") + f"/admin/api/{API_VERSION}"
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=1000)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, timeout=LONGEST_WAIT_S, limits=limits
    ) as client:
        app.state.store = client
        yield


app = FastAPI(lifespan=lifespan)


async def store_get(request: Request, path: str, **params: Any) -> dict[str, Any]:
    """GET from the store, waiting out every 429 as the old API did."""
    client: httpx.AsyncClient = request.app.state.store
    while True:
        response = await client.get(path, params=params)
        if response.status_code != 429:
            break
        await asyncio.sleep(float(response.headers.get("Retry-After", "2")))
    if response.status_code == 404:
        raise HTTPException(404, "event not found")
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def summary(product: dict[str, Any]) -> dict[str, Any]:
    prices = [float(variant["price"]) for variant in product["variants"]]
    return {
        "id": str(product["id"]),
        "title": product["title"],
        "handle": product["handle"],
        "category": product["product_type"],
        "price_min": f"{min(prices, default=0):.2f}",
    }


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/events")
async def list_events(
    request: Request,
    page: int = 1,
    limit: int = 20,
    category: str | None = None,
    search: str | None = None,
) -> dict[str, Any]:
    wanted = MAX_LIMIT if search or category else min(MAX_LIMIT, page * limit)
    products = (await store_get(request, "/products.json", limit=wanted))["products"]
    if category:
        products = [p for p in products if p["product_type"] == category]
    if search:
        products = [p for p in products if search.casefold() in p["title"].casefold()]
    items = [summary(p) for p in products[(page - 1) * limit : page * limit]]
    return {"items": items, "total": len(products), "next_cursor": None}


@app.get("/events/{event_id}")
async def event_detail(request: Request, event_id: str) -> dict[str, Any]:
    product = (await store_get(request, f"/products/{event_id}.json"))["product"]
    return {**summary(product), "description_html": product["body_html"]}


@app.get("/events/{event_id}/tickets")
async def event_tickets(request: Request, event_id: str) -> dict[str, Any]:
    product = (await store_get(request, f"/products/{event_id}.json"))["product"]
    tickets = [
        {"id": str(v["id"]), "name": v["title"], "price": v["price"]} for v in product["variants"]
    ]
    return {"event_id": event_id, "items": tickets}
