"""The uncached-reads report's comparison with a reference server (bench.catalog_reads)."""

from __future__ import annotations

import json
import random
from typing import Any, cast

from bench.catalog_reads import _next_page, pooled, reference_table, rounds_table, summarize


def test_ratios_to_the_reference_are_per_read_and_measured_side_by_side() -> None:
    """The ratios come from the side-by-side run, not from this code's run alone."""
    alone = {"search": {"p50_ms": 1.0, "p95_ms": 1.0}, "list": {"p50_ms": 1.0, "p95_ms": 1.0}}
    paired = {"search": {"p50_ms": 4.0, "p95_ms": 6.0}, "list": {"p50_ms": 2.0, "p95_ms": 3.0}}
    reference = {"search": {"p50_ms": 8.0, "p95_ms": 24.0}}
    table = reference_table(
        {
            "latency": alone,
            "reference": {"source": "/o", "paired": paired, "latency": reference},
        }
    )
    assert "| search | 4.0 | 6.0 | 8.0 | 24.0 | 0.50× | 0.25× |" in table
    assert "| list |" not in table  # the reference did not measure it
    assert reference_table({"latency": alone, "reference": None}) == ""


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


def test_rounds_pool_their_samples_and_each_round_keeps_its_own_p95() -> None:
    """The judged figures pool every round; a round's p95 stays visible on its own."""
    first = {"search": [(1.0, 10)] * 19 + [(30.0, 5000)], "detail": [(1.0, 0)] * 20}
    second = {"search": [(2.0, 10)] * 20, "detail": [(1.0, 0)] * 20}
    together = pooled([first, second])
    assert len(together["search"]) == 40 and len(together["detail"]) == 40
    figures = summarize(together)
    assert figures["search"]["requests"] == 40
    assert figures["search, > 1,000 matches"]["requests"] == 1  # split by the page's total
    table = rounds_table([summarize(first), summarize(second)])
    assert "| read | 1 | 2 |" in table
    assert "| search | 30.0 | 2.0 |" in table
    assert "| detail | 1.0 | 1.0 |" in table
    assert "| search, ≤ 1,000 matches | 1.0 | 2.0 |" in table
    assert "| search, > 1,000 matches |" not in table  # only one round had such searches
