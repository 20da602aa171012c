"""The REST Admin endpoints of the old architecture: Link pagination, leaky bucket, latency."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.simulator import TOKEN, SimulatorProcess, spawn_simulator, stop_simulator

NEXT = re.compile(r'<([^>]+)>; rel="next"')


@pytest.fixture(scope="module")
def slow_simulator() -> Iterator[SimulatorProcess]:
    process = spawn_simulator("--latency", "0.2-0.3", seed_events=130)
    yield process
    stop_simulator(process)


def test_link_pagination_walks_every_product_once(slow_simulator: SimulatorProcess) -> None:
    headers = {"X-Shopify-Access-Token": TOKEN}
    url: str | None = f"{slow_simulator.base_url}/admin/api/2026-07/products.json?limit=50"
    ids: list[int] = []
    with httpx.Client(headers=headers) as http:
        while url:
            started = time.monotonic()
            response = http.get(url)
            assert 0.2 <= time.monotonic() - started < 2.0  # the injected 2-3 s, scaled down
            assert response.status_code == 200
            assert re.fullmatch(r"\d+/40", response.headers["X-Shopify-Shop-Api-Call-Limit"])
            products = response.json()["products"]
            assert all(isinstance(p["id"], int) and isinstance(p["tags"], str) for p in products)
            ids += [p["id"] for p in products]
            match = NEXT.search(response.headers.get("Link", ""))
            url = match.group(1) if match else None
    assert len(ids) == len(set(ids)) == 130
    assert ids == sorted(ids)


def test_bucket_overflow_answers_429_with_retry_after(simulator: SimulatorProcess) -> None:
    headers = {"X-Shopify-Access-Token": TOKEN}
    with httpx.Client(base_url=simulator.base_url, headers=headers) as http:
        responses = [http.get("/admin/api/2026-07/products.json?limit=1") for _ in range(45)]
        limited = [r for r in responses if r.status_code == 429]
        assert limited
        assert float(limited[0].headers["Retry-After"]) > 0
        assert responses[0].headers["X-Shopify-Shop-Api-Call-Limit"].endswith("/40")
        product_id = responses[0].json()["products"][0]["id"]
        time.sleep(1.1)  # two requests leak out per second
        one = http.get(f"/admin/api/2026-07/products/{product_id}.json")
        assert one.status_code == 200 and one.json()["product"]["id"] == product_id
