"""Leaky buckets: GraphQL calculated-cost throttling by plan, and the REST 40-request bucket."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Restore rates are shopify.dev's per-plan figures; the bucket holds 20 seconds of restore
# (Standard: 2,000 points at 100/s, as in the SPEC).
PLANS: dict[str, tuple[float, float]] = {
    "standard": (2_000.0, 100.0),
    "advanced": (4_000.0, 200.0),
    "plus": (20_000.0, 1_000.0),
}
SINGLE_QUERY_MAX_COST = 1_000
REST_BUCKET_SIZE = 40
REST_LEAK_PER_SECOND = 2.0

Clock = Callable[[], float]


@dataclass
class CostBucket:
    """Points available to spend; refills continuously at `restore_rate` points per second."""

    maximum: float
    restore_rate: float
    clock: Clock = time.monotonic
    available: float = field(init=False)
    _stamp: float = field(init=False)

    def __post_init__(self) -> None:
        self.available = self.maximum
        self._stamp = self.clock()

    def refill(self) -> None:
        """Add the points restored since the last look."""
        now = self.clock()
        self.available = min(self.maximum, self.available + (now - self._stamp) * self.restore_rate)
        self._stamp = now

    def try_spend(self, cost: int) -> bool:
        """Take `cost` points if they are all available; otherwise take nothing."""
        self.refill()
        if cost > self.available:
            return False
        self.available -= cost
        return True

    def refund(self, points: int) -> None:
        """Give back the difference between requested and actual cost."""
        self.available = min(self.maximum, self.available + points)

    def status(self) -> dict[str, float]:
        """The `throttleStatus` object of `extensions.cost`."""
        self.refill()
        return {
            "maximumAvailable": self.maximum,
            "currentlyAvailable": math.floor(self.available),
            "restoreRate": self.restore_rate,
        }

    def configure(self, maximum: float, restore_rate: float, available: float | None) -> None:
        """Change size, rate or fill level (control API and tests)."""
        self.refill()
        self.maximum, self.restore_rate = maximum, restore_rate
        self.available = min(maximum, self.available if available is None else available)


@dataclass
class RequestBucket:
    """REST Admin's leaky bucket: each request adds one, it leaks at 2 per second."""

    size: int = REST_BUCKET_SIZE
    leak_rate: float = REST_LEAK_PER_SECOND
    clock: Clock = time.monotonic
    level: float = 0.0
    _stamp: float = field(init=False)

    def __post_init__(self) -> None:
        self._stamp = self.clock()

    def try_add(self) -> bool:
        """Count one request if the bucket has room for it."""
        now = self.clock()
        self.level = max(0.0, self.level - (now - self._stamp) * self.leak_rate)
        self._stamp = now
        if self.level + 1 > self.size:
            return False
        self.level += 1
        return True

    def header(self) -> str:
        """The `X-Shopify-Shop-Api-Call-Limit` value, such as `32/40`."""
        return f"{math.ceil(self.level)}/{self.size}"

    def retry_after(self) -> float:
        """Seconds until one request fits again."""
        return max(0.0, (self.level + 1 - self.size) / self.leak_rate)
