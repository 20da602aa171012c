"""The uncached-reads report's comparison with a reference server (bench.catalog_reads)."""

from __future__ import annotations

import json
import random
from typing import Any, cast

from bench.catalog_reads import _next_page, reference_table


def test_ratios_to_the_reference_are_per_read() -> None:
    latency = {"search": {"p50_ms": 4.0, "p95_ms": 6.0}, "list": {"p50_ms": 2.0, "p95_ms": 3.0}}
    reference = {"search": {"p50_ms": 8.0, "p95_ms": 24.0}}
    table = reference_table(
        {"latency": latency, "reference": {"source": "/o", "latency": reference}}
    )
    assert "| search | 8.0 | 24.0 | 0.50× | 0.25× |" in table
    assert "| list |" not in table  # the reference did not measure it
    assert reference_table({"latency": latency, "reference": None}) == ""


def test_next_pages_follow_the_cursor_of_a_first_page_that_has_one() -> None:
    """Searches with a single page are skipped; the next page is the first page's path with
    the cursor that page gave."""
    answers = {
        "/events?search=rare": {"next_cursor": None},
        "/events?search=gala": {"next_cursor": "abc"},
    }

    class Client:
        def get(self, path: str) -> tuple[int, bytes]:
            return 200, json.dumps(answers[path]).encode()

    searches = iter(["/events?search=rare", "/events?search=gala"])
    make = _next_page(cast(Any, Client()), lambda rng: next(searches))
    assert make(random.Random(1)) == "/events?search=gala&cursor=abc"
