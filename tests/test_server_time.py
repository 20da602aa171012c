"""The benchmark's reading of the service's response-time histogram."""

from __future__ import annotations

import math

from bench.server_time import histogram_quantile, server_times

INF = math.inf


def test_quantile_interpolates_within_the_bucket() -> None:
    buckets = [(0.0005, 10.0), (0.001, 80.0), (0.0025, 100.0), (INF, 100.0)]
    assert math.isclose(histogram_quantile(0.5, buckets), 0.0005 + 0.0005 * 40 / 70)
    assert histogram_quantile(0.1, buckets) == 0.0005
    assert math.isnan(histogram_quantile(0.5, [(0.001, 0.0), (INF, 0.0)]))


def test_quantile_beyond_the_last_bound_is_that_bound() -> None:
    assert histogram_quantile(0.99, [(0.01, 50.0), (INF, 100.0)]) == 0.01


def test_only_the_requests_between_two_scrapes_count() -> None:
    before = {"/events": [(0.001, 100.0), (0.01, 100.0), (INF, 100.0)]}
    after = {"/events": [(0.001, 100.0), (0.01, 200.0), (INF, 200.0)]}
    times = server_times(before, after, ["/events", "/missing"])
    assert times["/events"]["requests"] == 100
    assert 1.0 < times["/events"]["p50_ms"] <= 10.0  # the first scrape's fast ones are gone
    assert times["/missing"]["requests"] == 0
