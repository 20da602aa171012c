"""Sample bench.suite inputs, shaped as bench.suite.measure_old / measure_new return them."""

from __future__ import annotations

from typing import Any


def wrk_figures(p50: float, p99: float, rps: float = 1000.0, errors: int = 0) -> dict[str, Any]:
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "socket_errors": errors, "non_2xx": 0}


def old_figures(p50: float, p99: float, bounded: bool) -> dict[str, Any]:
    return {
        "p50_ms": p50,
        "p50_lower_bound": bounded,
        "p99_ms": p99,
        "p99_lower_bound": True,
        "completed": 40,
        "censored": 100,
        "errors": 0,
    }


SETTINGS: dict[str, Any] = {
    "command": ".venv/bin/python -m bench.suite --quick",
    "events": 2000,
    "seconds": 2,
    "old_window_s": 10,
    "users": [10, 100],
    "reads": ["list", "detail"],
    "fixed": {"connections": 1000, "rate": 200.0, "seconds": 10},
    "machine": "x86_64, 2 cores, Python 3.11",
}
OLD: dict[str, dict[str, Any]] = {
    "list": {
        "10": old_figures(2600.0, 9000.0, False),
        "100": old_figures(10_500.0, 10_500.0, True),
    },
    "detail": {
        "10": old_figures(2500.0, 8000.0, False),
        "100": old_figures(10_400.0, 10_400.0, True),
    },
}


def new_config(p50: float, fixed_p99: float, rss: float) -> dict[str, Any]:
    cell = wrk_figures(p50, p50 * 4)
    return {
        "reads": {read: {"10": cell, "100": wrk_figures(p50 * 10, p50 * 40)} for read in OLD},
        "fixed_rate": wrk_figures(2.0, fixed_p99, rps=199.5),
        "rss_mb": rss,
        "rss_after_closed_loop_mb": rss - 10,
    }


NEW: dict[str, Any] = {
    "events_in_database": 2000,
    "cold": new_config(4.0, 80.0, 120.0),
    "warm": new_config(1.0, float("nan"), 170.0),
}
