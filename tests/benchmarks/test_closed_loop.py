import asyncio
import math

from bench.suite.run import old_window
from bench.tools.closed_loop import Percentile, Samples, censored_percentile, closed_loop


def test_percentile_without_censoring_is_exact() -> None:
    samples = Samples(completed_ms=[float(n) for n in range(1, 101)])
    assert censored_percentile(samples, 0.5) == Percentile(50.0, False, 50.0)
    assert censored_percentile(samples, 0.99) == Percentile(99.0, False, 99.0)


def test_censored_sample_above_the_percentile_leaves_it_exact() -> None:
    samples = Samples(completed_ms=[10.0, 20.0, 30.0], censored_ms=[5000.0])
    assert censored_percentile(samples, 0.5) == Percentile(20.0, False, 20.0)
    assert censored_percentile(samples, 0.99) == Percentile(5000.0, True, None)


def test_censored_sample_at_or_below_the_percentile_makes_a_lower_bound() -> None:
    # Most users never got an answer: the median is only known to be at least their wait.
    samples = Samples(completed_ms=[2500.0, 2600.0], censored_ms=[31_200.0, 31_200.0, 31_200.0])
    assert censored_percentile(samples, 0.5) == Percentile(31_200.0, True, None)
    # A request cut short early may have taken any time: the median lies between 900 and 1000.
    early = Samples(completed_ms=[900.0, 1000.0, 1100.0], censored_ms=[400.0])
    assert censored_percentile(early, 0.5) == Percentile(900.0, True, 1000.0)


def test_no_samples_is_nan() -> None:
    assert math.isnan(censored_percentile(Samples(), 0.5).ms)


async def test_closed_loop_keeps_unanswered_requests_as_censored() -> None:
    async def send(path: str) -> int:
        await asyncio.sleep(0.01 if path == "/fast" else 10)
        return 200 if path == "/fast" else 500

    paths = iter(["/slow"] + ["/fast"] * 10_000)
    samples = await closed_loop(send, lambda: next(paths), users=2, seconds=0.2)
    # Both users were waiting when the window closed: the slow one since the start.
    slow, fast = sorted(samples.censored_ms, reverse=True)
    assert 150 <= slow <= 1000
    assert fast < 150
    assert len(samples.completed_ms) >= 5
    assert all(ms < 150 for ms in samples.completed_ms)
    assert samples.errors == 0


async def test_closed_loop_counts_error_answers_apart() -> None:
    async def send(path: str) -> int:
        await asyncio.sleep(0.01)
        return 429

    samples = await closed_loop(send, lambda: "/x", users=1, seconds=0.1)
    assert samples.errors >= 3
    assert samples.completed_ms == []


def test_the_old_window_grows_with_the_users() -> None:
    assert old_window(30, 10) == 30 and old_window(30, 100) == 30
    assert old_window(30, 1000) == 100
