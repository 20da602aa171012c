"""The uncached-reads report's comparison with a reference server (bench.catalog_reads)."""

from __future__ import annotations

from bench.catalog_reads import reference_table


def test_ratios_to_the_reference_are_per_read() -> None:
    latency = {"search": {"p50_ms": 4.0, "p95_ms": 6.0}, "list": {"p50_ms": 2.0, "p95_ms": 3.0}}
    reference = {"search": {"p50_ms": 8.0, "p95_ms": 24.0}}
    table = reference_table(
        {"latency": latency, "reference": {"source": "/o", "latency": reference}}
    )
    assert "| search | 8.0 | 24.0 | 0.50× | 0.25× |" in table
    assert "| list |" not in table  # the reference did not measure it
    assert reference_table({"latency": latency, "reference": None}) == ""
