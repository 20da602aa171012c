"""Server-side response time, read from the service's own `api_response_time_seconds` histogram.

A load tool on the same two cores measures queueing in the client as well; the histogram the
request middleware keeps measures from the ASGI call to the last byte handed to the server.
Quantiles are interpolated within buckets, as Prometheus' `histogram_quantile` does.
"""

from __future__ import annotations

import math
from collections import defaultdict

import httpx
from prometheus_client.parser import text_string_to_metric_families

HISTOGRAM = "api_response_time_seconds"


def histogram_quantile(quantile: float, buckets: list[tuple[float, float]]) -> float:
    """The `quantile` of cumulative `(upper bound, count)` buckets, linear within a bucket."""
    ordered = sorted(buckets)
    total = ordered[-1][1] if ordered else 0.0
    if total == 0:
        return math.nan
    rank, lower, below = quantile * total, 0.0, 0.0
    for upper, count in ordered:
        if count >= rank:
            if math.isinf(upper):
                return lower  # beyond the last finite bound: its bound is all we know
            return lower + (upper - lower) * (rank - below) / max(count - below, 1e-12)
        lower, below = upper, count
    return lower


def scrape_buckets(base: str) -> dict[str, list[tuple[float, float]]]:
    """Per endpoint, the cumulative buckets of the response-time histogram at `base`."""
    text = httpx.get(f"{base}/metrics", timeout=10).text
    buckets: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == f"{HISTOGRAM}_bucket":
                bound = float(sample.labels["le"])
                buckets[sample.labels["endpoint"]].append((bound, sample.value))
    return dict(buckets)


def server_times(
    before: dict[str, list[tuple[float, float]]],
    after: dict[str, list[tuple[float, float]]],
    endpoints: list[str],
) -> dict[str, dict[str, float]]:
    """p50/p99 server time in ms of the requests answered between two scrapes."""
    times = {}
    for endpoint in endpoints:
        earlier = dict(before.get(endpoint, []))
        window = [(le, count - earlier.get(le, 0.0)) for le, count in after.get(endpoint, [])]
        times[endpoint] = {
            "requests": max((count for _, count in window), default=0.0),
            "p50_ms": round(histogram_quantile(0.5, window) * 1e3, 3),
            "p99_ms": round(histogram_quantile(0.99, window) * 1e3, 3),
        }
    return times
