"""Every Prometheus metric of the service, named once here (SPEC §9).

- `cache_hits_total{tier,endpoint}`: responses served from a cache tier (`l1`, `l2`)
- `cache_misses_total{tier,endpoint}`: lookups that found nothing fresh in a tier
- `cache_fills_total{endpoint}`: responses computed from PostgreSQL and cached

`endpoint` is the route template (`/events/{event_id}`), never the raw path.
"""

from __future__ import annotations

from functools import cache

from prometheus_client import Counter

CACHE_HITS = Counter(
    "cache_hits_total", "Responses served from a cache tier.", ["tier", "endpoint"]
)
CACHE_MISSES = Counter(
    "cache_misses_total", "Lookups that found nothing fresh in a cache tier.", ["tier", "endpoint"]
)
CACHE_FILLS = Counter(
    "cache_fills_total", "Responses computed from PostgreSQL and cached.", ["endpoint"]
)


@cache
def _hits(tier: str, endpoint: str) -> Counter:
    return CACHE_HITS.labels(tier=tier, endpoint=endpoint)


@cache
def _misses(tier: str, endpoint: str) -> Counter:
    return CACHE_MISSES.labels(tier=tier, endpoint=endpoint)


@cache
def _fills(endpoint: str) -> Counter:
    return CACHE_FILLS.labels(endpoint=endpoint)


def cache_hit(tier: str, endpoint: str) -> None:
    _hits(tier, endpoint).inc()


def cache_miss(tier: str, endpoint: str) -> None:
    _misses(tier, endpoint).inc()


def cache_fill(endpoint: str) -> None:
    _fills(endpoint).inc()
