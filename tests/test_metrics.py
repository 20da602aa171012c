"""`/metrics` after real traffic: every plan metric, with route templates as labels."""

from __future__ import annotations

import gc
import json
import re
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco import heap
from shababco.config import Settings
from shababco.database.engines import main_table
from shababco.shopify.sync.reconcile import ReconcileReport
from shababco.shopify.sync.scheduled import record
from tests.support.data import load_products
from tests.support.factories import make_product
from tests.support.infra.processes import ServeProcess
from tests.support.server import LiveServer
from tests.support.services import ROOT
from tests.support.webhook_client import deliver, eventually

DASHBOARD = ROOT / "deploy" / "grafana" / "shababco.json"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


@pytest.fixture
async def client(cached_api: LiveServer, db: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=cached_api.url, timeout=10) as opened:
        yield opened


async def _traffic(client: httpx.AsyncClient, product_id: int, handle: str) -> None:
    for path, status in [
        ("/events", 200),
        ("/events", 200),  # an L1 hit, answered before FastAPI: still counted
        (f"/events/{product_id}", 200),
        (f"/events/{handle}", 200),
        (f"/events/{product_id}/tickets", 200),
        ("/events?search=metrics", 200),
        ("/categories", 200),
        ("/events/404404404", 404),
        ("/events?limit=0", 422),
        ("/no/such/route/123", 404),
    ]:
        assert (await client.get(path)).status_code == status, path


async def test_every_plan_metric_after_traffic(
    client: httpx.AsyncClient, cached_api: LiveServer, db: AsyncEngine
) -> None:
    product = make_product(title="Metrics night")
    await load_products(db, product)
    before = await scrape(client)
    await _traffic(client, product["id"], product["handle"])
    updated = {**product, "title": "Metrics night, renamed"}
    updated["updated_at"] = datetime.now(UTC).isoformat()
    webhook_id = "metrics-test-delivery"
    headers = {"X-Shopify-Webhook-Id": webhook_id}
    assert (await deliver(client, "products/update", updated, headers=headers)).status_code == 200
    assert (await deliver(client, "products/update", updated, headers=headers)).status_code == 200
    bad = {"X-Shopify-Hmac-Sha256": "forged"}
    assert (await deliver(client, "products/update", updated, headers=bad)).status_code == 401

    async def applied() -> bool:
        after = await scrape(client)
        labels = {"topic": "products/update", "outcome": "applied"}
        return value(after, "webhooks_applied_total", **labels) > value(
            before, "webhooks_applied_total", **labels
        )

    await eventually(applied)
    after = await scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "api_requests_total"
    assert grew(requests, endpoint="/events", method="GET", status="200") == 3
    assert grew(requests, endpoint="/events/{event_id}", method="GET", status="200") == 2
    assert grew(requests, endpoint="/events/{event_id}", method="GET", status="404") == 1
    assert grew(requests, endpoint="/events/{event_id}/tickets", method="GET", status="200") == 1
    assert grew(requests, endpoint="/events", method="GET", status="422") == 1
    assert grew(requests, endpoint="unmatched", method="GET", status="404") == 1
    webhook = {"endpoint": "/webhooks/{resource}/{event}", "method": "POST"}
    assert grew(requests, **webhook, status="200") == 2
    assert grew(requests, **webhook, status="401") == 1
    endpoints = {dict(labels)["endpoint"] for name, labels in after if name == requests}
    documents = {"/openapi.json", "/docs", "/redoc", "unmatched"}
    assert endpoints <= set(cached_api.app.openapi()["paths"]) | documents  # no id or raw path

    latency = "api_response_time_seconds"
    assert grew(f"{latency}_count", endpoint="/events") == 4  # the 422 took time too
    assert grew(f"{latency}_bucket", endpoint="/events", le="+Inf") == 4
    assert grew(f"{latency}_sum", endpoint="/events") > 0
    assert grew("db_query_time_seconds_count", table="events") >= 3
    assert grew("db_query_time_seconds_count", table="webhook_inbox") >= 2
    assert grew("cache_hits_total", tier="l1", endpoint="/events") >= 1
    assert grew("cache_misses_total", tier="l1", endpoint="/events/{event_id}") >= 1

    received = "webhooks_received_total"
    assert grew(received, topic="products/update", outcome="accepted") == 1
    assert grew(received, topic="products/update", outcome="duplicate") == 1
    assert grew(received, topic="products/update", outcome="invalid_signature") == 1
    assert grew("webhook_apply_lag_seconds_count", topic="products/update") == 1
    assert 0 < grew("webhook_apply_lag_seconds_sum", topic="products/update") < 5
    assert value(after, "webhook_inbox_backlog", state="pending") == 0
    assert ("webhook_inbox_oldest_pending_seconds", frozenset()) in after


async def test_reconciliation_results(client: httpx.AsyncClient) -> None:
    before = await scrape(client)
    report = ReconcileReport(started_at=datetime.now(UTC), window_from=None)
    report.events_repaired, report.sold_repaired, report.seconds = 2, 3, 1.5
    record(report)
    after = await scrape(client)
    assert (
        value(after, "reconcile_runs_total", outcome="ok")
        - value(before, "reconcile_runs_total", outcome="ok")
        == 1
    )
    for kind, repaired in [("events_updated", 2), ("tickets_sold", 3), ("events_deleted", 0)]:
        key = ("reconcile_repairs_total", frozenset({("kind", kind)}))
        assert key in after
        assert after[key] - before.get(key, 0.0) == repaired
    assert value(after, "reconcile_duration_seconds_count") >= 1
    last = value(after, "reconcile_last_success_timestamp_seconds")
    assert abs(last - datetime.now(UTC).timestamp()) < 60


async def test_metrics_token(settings: Settings, db: AsyncEngine) -> None:
    guarded = settings.model_copy(update={"metrics_token": SecretStr("scrape-me-please")})
    with LiveServer(guarded) as server:
        async with httpx.AsyncClient(base_url=server.url) as client:
            refused = await client.get("/metrics")
            assert refused.status_code == 401
            assert refused.json()["error"]["code"] == "unauthorized"
            for refused_header in (
                "Bearer not-it",
                "scrape-me-please",  # the bare token
                "Basic scrape-me-please",
                "Bearer  scrape-me-please",
                "Bearerscrape-me-please",
            ):
                answer = await client.get("/metrics", headers={"Authorization": refused_header})
                assert answer.status_code == 401, refused_header
            for accepted_header in ("Bearer scrape-me-please", "bearer scrape-me-please"):
                answer = await client.get("/metrics", headers={"Authorization": accepted_header})
                assert answer.status_code == 200, accepted_header


def test_metrics_summed_across_worker_processes(database_url: str) -> None:
    """Two workers: every scrape, whichever worker answers it, shows both workers' requests."""
    server = ServeProcess(database_url, workers=2, LOG_LEVEL="info")
    server.start()
    labels = {"endpoint": "/health", "method": "GET", "status": "200"}

    def health_requests() -> float:
        scraped = parse(httpx.get(f"{server.url}/metrics", timeout=5).text)
        return value(scraped, "api_requests_total", **labels)

    def served_by() -> set[int]:
        lines = [json.loads(line) for line in server.log.splitlines() if line.startswith("{")]
        return {line["pid"] for line in lines if line.get("endpoint") == "/health"}

    def health(_: int) -> int:
        return httpx.get(f"{server.url}/health", timeout=5).status_code

    try:
        before, sent = health_requests(), 0  # start() polled /health until it answered
        with ThreadPoolExecutor(8) as pool:  # concurrent connections: both workers accept
            while len(served_by()) < 2 and sent < 2000:
                assert set(pool.map(health, range(40))) == {200}
                sent += 40
        assert len(served_by()) == 2, "the requests did not reach both workers"
        assert [health_requests() for _ in range(10)] == [before + sent] * 10
    finally:
        server.stop()


def test_main_table_of_statements() -> None:
    assert main_table("SELECT 1") == "other"
    assert main_table("SELECT a FROM (SELECT b FROM event_search) AS page JOIN events ON x") == (
        "events"
    )
    assert main_table("WITH event AS (SELECT 1 FROM events) SELECT * FROM event JOIN tickets") == (
        "tickets"
    )
    assert main_table("INSERT INTO webhook_inbox (a) VALUES ($1)") == "webhook_inbox"
    assert main_table("UPDATE tickets SET sold = 1") == "tickets"
    assert main_table("DELETE FROM public.cache_changes WHERE x = 'from y'") == "cache_changes"


SUFFIXES = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"], "gauge": [""]}


async def test_dashboard_shows_only_metrics_the_service_exports(
    client: httpx.AsyncClient,
) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    ]
    used = {
        name
        for expr in expressions
        for name in re.findall(r"\b((?:api|db|cache|webhooks?|reconcile)_[a-z_]+)\b", expr)
    }
    families = text_string_to_metric_families((await client.get("/metrics")).text)
    exported = {
        family.name + suffix for family in families for suffix in SUFFIXES.get(family.type, [])
    }
    plan = {
        "api_requests_total",
        "api_response_time_seconds_bucket",
        "db_query_time_seconds_bucket",
        "cache_hits_total",
        "cache_misses_total",
    }
    assert plan <= used
    assert used <= exported, f"not exported: {used - exported}"


def test_a_started_app_freezes_its_start_up_heap(live_api: LiveServer) -> None:
    """Full collections walking start-up objects paused the loop for 200-450 ms (shababco.heap)."""
    assert gc.get_freeze_count() > 10_000
    assert gc.get_threshold()[0] == heap.YOUNG_THRESHOLD
