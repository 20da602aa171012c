"""Every Prometheus metric of the service, named once here.

The original plan's names:
- `api_requests_total{endpoint,method,status}`: answered requests
- `api_response_time_seconds{endpoint}`: time to answer (histogram), cache hits included
- `db_query_time_seconds{table}`: time per SQL statement by its main table (histogram)
- `cache_hits_total{tier,endpoint}`: responses served from a cache tier (`l1`, `l2`)
- `cache_misses_total{tier,endpoint}`: lookups that found nothing fresh in a tier

And ours:
- `cache_fills_total{endpoint}`: responses computed from PostgreSQL and cached
- `webhooks_received_total{topic,outcome}`: deliveries by answer (`accepted`, `duplicate`, or
  the error code: `invalid_signature`, `invalid_payload`, ...); `topic` is `unknown` off the list
- `webhooks_applied_total{topic,outcome}`: attempts at inbox rows: `applied`, `failed` (tried
  again after a backoff) or `quarantined` (kept with its reason for `shababco webhooks failed`)
- `webhook_apply_lag_seconds{topic}`: from receipt to applied (histogram)
- `webhook_inbox_backlog{state}` / `webhook_inbox_oldest_pending_seconds`: read from the inbox
  at scrape time: `pending` (not tried yet), `retrying` (waiting after a failed attempt),
  `quarantined`; the age is of the oldest row not quarantined
- `reconcile_runs_total{outcome}`, `reconcile_repairs_total{kind}`,
  `reconcile_duration_seconds`, `reconcile_last_success_timestamp_seconds`
- `webhook_subscriptions_repaired_total{topic}`: subscriptions found missing at
  PUBLIC_BASE_URL (by a reconciliation pass, or `serve` starting) and created again
- `live_streams_open`: live availability streams open (summed over processes)
- `live_streams_closed_total{reason}`: streams ended by the `client`, because the event `ended`
  (deleted or unlisted), because the stream was too `slow` to keep up (dropped), or `shutdown`
- `live_messages_built_total`: availability messages built, one per changed event per process
- `live_messages_sent_total{kind}`: messages handed to streams: `snapshot` (on connect),
  `change`, `ended` (the last), `keepalive` (comments); counted per fan-out, not per write
- `access_log_dropped_total`: access log lines dropped because writing them could not keep up
  (the in-memory buffer was full)
- `checkout_requests_total{outcome}`: `ok`, `unavailable`, `not_found`, `over_limit` (malformed
  bodies are refused before the route: see `api_requests_total`)

`status` 499 counts requests whose client left before the answer (nginx's convention): an
ordinary event, not a server error. `webhooks_received_total` counts them as `disconnected`.

`endpoint` is the route template (`/events/{event_id}`), never the raw path; requests no route
matched are `unmatched`. With several worker processes every process writes its samples under
`PROMETHEUS_MULTIPROC_DIR` (set by `shababco serve --workers N`) and `/metrics` sums them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import cache

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
UNMATCHED = "unmatched"

# Cache hits answer in a fraction of a millisecond; a slow fill still lands in a bucket.
LATENCY_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
)  # fmt: skip
LAG_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

API_REQUESTS = Counter(
    "api_requests_total", "Answered HTTP requests.", ["endpoint", "method", "status"]
)
API_RESPONSE_TIME = Histogram(
    "api_response_time_seconds",
    "Time to answer a request, cache hits included.",
    ["endpoint"],
    buckets=LATENCY_BUCKETS,
)
DB_QUERY_TIME = Histogram(
    "db_query_time_seconds",
    "Time of one SQL statement, by the table it reads or writes.",
    ["table"],
    buckets=LATENCY_BUCKETS,
)
CACHE_HITS = Counter(
    "cache_hits_total", "Responses served from a cache tier.", ["tier", "endpoint"]
)
CACHE_MISSES = Counter(
    "cache_misses_total", "Lookups that found nothing fresh in a cache tier.", ["tier", "endpoint"]
)
CACHE_FILLS = Counter(
    "cache_fills_total", "Responses computed from PostgreSQL and cached.", ["endpoint"]
)
WEBHOOKS_RECEIVED = Counter(
    "webhooks_received_total", "Webhook deliveries by topic and answer.", ["topic", "outcome"]
)
WEBHOOKS_APPLIED = Counter(
    "webhooks_applied_total", "Stored deliveries processed by the inbox.", ["topic", "outcome"]
)
WEBHOOK_APPLY_LAG = Histogram(
    "webhook_apply_lag_seconds",
    "From a delivery's receipt to its effect committed.",
    ["topic"],
    buckets=LAG_BUCKETS,
)
RECONCILE_RUNS = Counter("reconcile_runs_total", "Reconciliation passes.", ["outcome"])
RECONCILE_REPAIRS = Counter(
    "reconcile_repairs_total", "What reconciliation repaired, by kind.", ["kind"]
)
RECONCILE_DURATION = Histogram(
    "reconcile_duration_seconds",
    "Duration of a reconciliation pass.",
    buckets=(0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0),
)
LIVE_STREAMS_OPEN = Gauge(
    "live_streams_open", "Live availability streams open.", multiprocess_mode="livesum"
)
LIVE_STREAMS_CLOSED = Counter(
    "live_streams_closed_total", "Live availability streams ended, by reason.", ["reason"]
)
LIVE_MESSAGES_BUILT = Counter(
    "live_messages_built_total", "Availability messages built (once per change per process)."
)
LIVE_MESSAGES_SENT = Counter(
    "live_messages_sent_total", "Messages handed to live streams, by kind.", ["kind"]
)
ACCESS_LOG_DROPPED = Counter(
    "access_log_dropped_total", "Access log lines dropped: writing them could not keep up."
)
CHECKOUT_REQUESTS = Counter("checkout_requests_total", "Checkout requests by outcome.", ["outcome"])
RECONCILE_LAST_SUCCESS = Gauge(
    "reconcile_last_success_timestamp_seconds",
    "When the last reconciliation pass finished (Unix time).",
    multiprocess_mode="max",
)
SUBSCRIPTIONS_REPAIRED = Counter(
    "webhook_subscriptions_repaired_total",
    "Webhook subscriptions found missing at this service's address and created again.",
    ["topic"],
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


@cache
def _requests(endpoint: str, method: str, status: int) -> Counter:
    return API_REQUESTS.labels(endpoint=endpoint, method=method, status=str(status))


@cache
def _response_time(endpoint: str) -> Histogram:
    return API_RESPONSE_TIME.labels(endpoint=endpoint)


@cache
def _query_time(table: str) -> Histogram:
    return DB_QUERY_TIME.labels(table=table)


@cache
def _live_sent(kind: str) -> Counter:
    return LIVE_MESSAGES_SENT.labels(kind=kind)


def live_messages_sent(kind: str, count: int = 1) -> None:
    _live_sent(kind).inc(count)


def live_stream_closed(reason: str) -> None:
    LIVE_STREAMS_CLOSED.labels(reason=reason).inc()


def checkout_answered(outcome: str) -> None:
    CHECKOUT_REQUESTS.labels(outcome=outcome).inc()


def cache_hit(tier: str, endpoint: str) -> None:
    _hits(tier, endpoint).inc()


def cache_miss(tier: str, endpoint: str) -> None:
    _misses(tier, endpoint).inc()


def cache_fill(endpoint: str) -> None:
    _fills(endpoint).inc()


def request_answered(endpoint: str, method: str, status: int, seconds: float) -> None:
    _requests(endpoint, method, status).inc()
    _response_time(endpoint).observe(seconds)


def access_log_dropped() -> None:
    ACCESS_LOG_DROPPED.inc()


def query_timed(table: str, seconds: float) -> None:
    _query_time(table).observe(seconds)


def exposition(extra: CollectorRegistry | None = None) -> bytes:
    """The text format of every process's metrics (summed across workers), plus `extra`."""
    if os.environ.get(MULTIPROC_DIR_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        text = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY

        text = generate_latest(REGISTRY)
    return text + (generate_latest(extra) if extra is not None else b"")


class _Readings(Collector):
    """Values read at scrape time: one reading for the service, not one per process."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families


def inbox_readings(
    *, pending: int, retrying: int, quarantined: int, oldest_pending_seconds: float
) -> CollectorRegistry:
    """The inbox backlog as read from PostgreSQL, for `exposition(extra=...)`."""
    backlog = GaugeMetricFamily(
        "webhook_inbox_backlog", "Stored deliveries not applied yet.", labels=["state"]
    )
    backlog.add_metric(["pending"], pending)
    backlog.add_metric(["retrying"], retrying)
    backlog.add_metric(["quarantined"], quarantined)
    oldest = GaugeMetricFamily(
        "webhook_inbox_oldest_pending_seconds", "Age of the oldest pending delivery."
    )
    oldest.add_metric([], oldest_pending_seconds)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Readings([backlog, oldest]))
    return registry
