"""With PostgreSQL unreachable: webhooks answer 503 (Shopify retries), reads answer 503, ready
says so — never a stack trace, never a 2xx for a delivery that was not stored."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from shababco.config import Settings
from tests.support.factories import make_product
from tests.support.server import LiveServer, free_port
from tests.support.webhook_client import shopify_headers


@pytest.fixture(scope="module")
def unreachable_database(settings: Settings) -> Iterator[LiveServer]:
    dead = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nothing"
    with LiveServer(settings.model_copy(update={"database_url": dead})) as server:
        yield server


async def test_webhook_is_not_acknowledged_when_it_cannot_be_stored(
    unreachable_database: LiveServer,
) -> None:
    body = json.dumps(make_product()).encode()
    async with httpx.AsyncClient(base_url=unreachable_database.url) as client:
        response = await client.post(
            "/webhooks/products/create",
            content=body,
            headers=shopify_headers("products/create", body),
        )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"
    assert response.headers["retry-after"] == "1"


async def test_reads_and_readiness_report_the_outage(unreachable_database: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=unreachable_database.url) as client:
        listing = await client.get("/events")
        ready = await client.get("/ready")
        health = await client.get("/health")
    assert listing.status_code == 503
    assert set(listing.json()["error"]) == {"code", "message"}
    assert ready.status_code == 503
    assert ready.json()["database"] == "unavailable"
    assert health.status_code == 200
