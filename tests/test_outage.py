"""With PostgreSQL unreachable, restarting or dropping connections: webhooks answer 503 (Shopify
retries), reads answer 503 with Retry-After, ready says so — never a 500, never a 2xx for a
delivery that was not stored, and everything answers again once the database is back."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.config import Settings
from shababco.shopify.models import WebhookDelivery
from tests.support.factories import make_product
from tests.support.infra.pg_faults import FORWARD, FaultyPostgres, Mode
from tests.support.server import LiveServer, free_port
from tests.support.webhook_client import eventually, shopify_headers


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


# Every state in which PostgreSQL cannot serve, as it shows on the wire (support.infra.pg_faults).
OUTAGES = [
    ("connection refused", Mode("refuse")),
    ("shutting down", Mode("fatal", "57P03", "the database system is shutting down")),
    ("starting up", Mode("fatal", "57P03", "the database system is starting up")),
    (
        "not yet accepting connections",
        Mode("fatal", "57P03", "the database system is not yet accepting connections"),
    ),
    ("in recovery", Mode("fatal", "57P03", "the database system is in recovery mode")),
    ("too many clients", Mode("fatal", "53300", "sorry, too many clients already")),
    (
        "terminated by an administrator",
        Mode("terminate", "57P01", "terminating connection due to administrator command"),
    ),
    (
        "another process crashed",
        Mode("terminate", "57P02", "terminating connection because of crash of another process"),
    ),
    ("connection lost mid-request", Mode("cut")),
]
READS = ("/events", "/events/123", "/events/123/tickets", "/categories", "/events?search=x")


@pytest.fixture(scope="module")
def faulty_database(settings: Settings) -> Iterator[tuple[FaultyPostgres, LiveServer]]:
    real = make_url(settings.database_url or "")
    with FaultyPostgres(real.host or "127.0.0.1", real.port or 5432) as proxy:
        url = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        with LiveServer(settings.model_copy(update={"database_url": url})) as server:
            yield proxy, server


async def _deliver(client: httpx.AsyncClient, webhook_id: str) -> httpx.Response:
    body = json.dumps(make_product()).encode()
    headers = shopify_headers("products/create", body, **{"X-Shopify-Webhook-Id": webhook_id})
    return await client.post("/webhooks/products/create", content=body, headers=headers)


async def _stored(engine: AsyncEngine, webhook_id: str) -> bool:
    async with engine.connect() as conn:
        found = await conn.scalar(
            select(func.count()).where(WebhookDelivery.webhook_id == webhook_id)
        )
    return bool(found)


async def _errors_500(client: httpx.AsyncClient) -> float:
    text = (await client.get("/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("api_requests_total{") and 'status="500"' in line
    )


@pytest.mark.parametrize(("case", "mode"), OUTAGES, ids=[case for case, _ in OUTAGES])
async def test_every_database_outage_is_a_503_with_retry_after(
    faulty_database: tuple[FaultyPostgres, LiveServer], db: AsyncEngine, case: str, mode: Mode
) -> None:
    proxy, server = faulty_database
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        await _recovered(client)  # both pools (reads', intake's) hold open connections
        errors_before = await _errors_500(client)
        proxy.set_mode(mode)
        refused = f"{case}-refused"
        try:
            for _ in range(2):  # what the first request meets, and what the next ones do
                answers = [await client.get(path) for path in READS]
                answers += [await _deliver(client, refused), await client.get("/ready")]
                for answer in answers:
                    assert answer.status_code == 503, (case, answer.request.url, answer.text)
                    if answer.url.path != "/ready":
                        assert answer.headers["retry-after"] == "1"
                        assert answer.json()["error"]["code"] == "database_unavailable"
        finally:
            proxy.set_mode(FORWARD)
        await _recovered(client)
        assert await _errors_500(client) == errors_before
        assert not await _stored(db, refused), "a delivery answered 503 was stored"
        redelivered = await _deliver(client, refused)
        assert redelivered.json() == {"status": "accepted"}
        assert await _stored(db, refused)


async def _recovered(client: httpx.AsyncClient) -> None:
    """Requests succeed again (the first may meet a connection the outage closed)."""

    async def answering() -> bool:
        reads = await client.get("/events")
        webhook = await _deliver(client, str(uuid.uuid4()))
        return reads.status_code == 200 and webhook.status_code == 200

    await eventually(answering, within=30)
