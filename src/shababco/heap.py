"""The garbage collector of a long-running API process.

CPython's full collection walks every tracked object, and an API process holds over a hundred
thousand from start-up (SQLAlchemy, FastAPI, pydantic) plus a few per open connection. Holding
10,000 keep-alive connections, full collections paused the event loop for 200–450 ms each, several
times a minute, for nothing collected: p99 at 2,000 req/s was 493 ms. Start-up objects are frozen
out of the collector's sight, and the young generation collects every 50,000 allocations instead
of 700, so the survivors that reach the old generation, and the full collections they trigger,
are rare: p99 20 ms in a 30 s run of that load alone, 56.6 ms inside the whole suite
(bench/results/suite.md, bench.suite's fixed-rate row).
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000
OLDER_THRESHOLDS = (50, 100)


def settle() -> None:
    """Call once start-up is done: collect, freeze what is left, and collect young objects less
    often (cycles are still collected; only the cadence changes)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
