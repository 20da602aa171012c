"""Closed-loop load for servers too slow for wrk, with censored latencies (used by bench.suite).

N users each send a request, wait for its answer and send the next, for a fixed window. A request
still unanswered when the window ends is kept as censored: its latency is at least the time it
had waited. A percentile that falls on or after a censored sample is therefore a lower bound.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Send = Callable[[str], Awaitable[int]]  # GET a path, answer its status (0: no answer)


@dataclass(frozen=True)
class Percentile:
    """A latency in ms; `lower_bound` when the true value is only known to be at least this.

    `upper_ms` bounds it from above (every censored request taking forever), None when unbounded.
    """

    ms: float
    lower_bound: bool
    upper_ms: float | None = None


@dataclass
class Samples:
    completed_ms: list[float] = field(default_factory=list)
    censored_ms: list[float] = field(default_factory=list)
    errors: int = 0


def censored_percentile(samples: Samples, fraction: float) -> Percentile:
    """The nearest-rank percentile of all samples, censored ones at the time they had waited.

    True latencies are never below the observed ones, so the observed order statistic bounds the
    true one from below; it is exact when no censored sample ranks at or before it.
    """
    ranked = sorted(
        [(ms, False) for ms in samples.completed_ms] + [(ms, True) for ms in samples.censored_ms]
    )
    if not ranked:
        return Percentile(math.nan, False)
    rank = min(len(ranked) - 1, max(0, math.ceil(fraction * len(ranked)) - 1))
    completed = sorted(samples.completed_ms)
    upper = completed[rank] if rank < len(completed) else None
    lower, censored_before = ranked[rank][0], any(c for _, c in ranked[: rank + 1])
    return Percentile(lower, censored_before, upper if censored_before else lower)


async def _user(
    send: Send,
    next_path: Callable[[], str],
    samples: Samples,
    in_flight: dict[int, float],
    user: int,
) -> None:
    while True:
        started = time.perf_counter()
        in_flight[user] = started
        status = await send(next_path())
        elapsed = (time.perf_counter() - started) * 1000
        del in_flight[user]
        if 200 <= status < 400:
            samples.completed_ms.append(elapsed)
        else:
            samples.errors += 1


async def closed_loop(
    send: Send, next_path: Callable[[], str], users: int, seconds: float
) -> Samples:
    """Run `users` closed-loop users for `seconds`; `send(path)` is awaited for a status code."""
    samples = Samples()
    in_flight: dict[int, float] = {}
    tasks = [
        asyncio.create_task(_user(send, next_path, samples, in_flight, n)) for n in range(users)
    ]
    await asyncio.sleep(seconds)
    ended = time.perf_counter()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    samples.censored_ms = [(ended - since) * 1000 for since in in_flight.values()]
    return samples
