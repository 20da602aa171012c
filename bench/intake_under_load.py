"""Webhooks and `/health` on new connections while keep-alive readers saturate one worker.

Part of bench.webhook_ingest (`--read-connections`). `wrk` keeps N keep-alive connections
reading a cached `GET /events`; once the server has accepted them all (its listen queue is
empty, read from /proc/net/tcp: Linux) and a short ramp has passed, new connections arrive at a
steady rate, each with one signed webhook or one `/health`, timed from the connect to the whole
answer, while the load goes on; the load stops once every probe is answered (or has waited
`PROBE_TIMEOUT`). Needs `wrk` (`apt-get install wrk`).
"""

from __future__ import annotations

import asyncio
import signal
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.cache_bench import parse_wrk

RAMP_SECONDS = 5.0
ACCEPTED_WITHIN = 300.0
PROBE_TIMEOUT = 60.0
TARGET_ACK_P99_MS = 1000.0  # what the service promises; Shopify gives up after 5 s


async def read_status(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 answer (with Content-Length) whole; its status."""
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def probe(port: int, request: bytes) -> tuple[float, int | None]:
    """Milliseconds from connecting to the whole answer, and its status (None: no answer)."""
    started = time.perf_counter()
    status: int | None = None
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            status = await read_status(reader)
            writer.close()
    except (TimeoutError, OSError, ValueError, IndexError):
        pass
    return (time.perf_counter() - started) * 1000, status


def listen_queue(port: int) -> int | None:
    """Connections waiting for accept on the listening socket of `port` (None: none listens)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, queues = fields[1], fields[3], fields[4]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                return int(queues.split(":")[1], 16)
    return None


async def all_accepted(port: int) -> float:
    """Seconds until the server has accepted every connection waiting (at most a limit)."""
    started = time.perf_counter()
    for _ in range(int(ACCEPTED_WITHIN * 10)):  # the kernel's queue, polled: no event tells
        if not listen_queue(port):
            break
        await asyncio.sleep(0.1)
    return time.perf_counter() - started


def _distribution(samples: list[tuple[float, int | None]]) -> dict[str, Any]:
    ordered = sorted(ms for ms, _ in samples)
    return {
        "sent": len(samples),
        "answered_200": sum(1 for _, status in samples if status == 200),
        "p50_ms": round(statistics.median(ordered), 1),
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 1),
        "max_ms": round(ordered[-1], 1),
    }


async def measure(
    port: int,
    webhook: Callable[[], bytes],
    *,
    connections: int,
    seconds: float,
    rate: float,
) -> dict[str, Any]:
    """Probe `rate` webhooks and `rate` health checks a second for `seconds` under the load."""
    health = f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    await probe(port, b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")  # cached from now
    longest = ACCEPTED_WITHIN + RAMP_SECONDS + seconds + PROBE_TIMEOUT + 10
    wrk = await asyncio.create_subprocess_exec(
        *("wrk", "-t2", f"-c{connections}", f"-d{longest:.0f}s", "--timeout=30s", "--latency"),
        f"http://127.0.0.1:{port}/events",
        stdout=asyncio.subprocess.PIPE,
    )
    await asyncio.sleep(1.0)  # wrk has opened its connections
    accepted_after = await all_accepted(port)
    await asyncio.sleep(RAMP_SECONDS)
    webhooks, checks = [], []
    for _ in range(round(seconds * rate)):
        webhooks.append(asyncio.create_task(probe(port, webhook())))
        checks.append(asyncio.create_task(probe(port, health)))
        await asyncio.sleep(1 / rate)
    acks, healths = await asyncio.gather(asyncio.gather(*webhooks), asyncio.gather(*checks))
    wrk.send_signal(signal.SIGINT)
    output = (await wrk.communicate())[0].decode()
    reads = parse_wrk(output)
    return {
        "read_connections": connections,
        "read_connections_accepted_after_s": round(1.0 + accepted_after, 1),
        "webhooks": _distribution(acks),
        "health": _distribution(healths),
        "reads": {key: reads[key] for key in ("rps", "p50_ms", "p99_ms", "socket_errors")},
    }


def table(results: dict[str, dict[str, Any]]) -> str:
    """A markdown table of `measure`'s results, one row per server."""
    rows = [
        "| server | read connections accepted after | webhook ack p50 / p99 / max | acknowledged "
        "| /health p50 / p99 / max | answered | reads req/s | read p50 / p99 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, result in results.items():
        hooks, health, reads = result["webhooks"], result["health"], result["reads"]
        rows.append(
            f"| {name} | {result['read_connections_accepted_after_s']} s "
            f"| {_ms(hooks)} | {hooks['answered_200']} of {hooks['sent']} "
            f"| {_ms(health)} | {health['answered_200']} of {health['sent']} "
            f"| {reads['rps']:.0f} | {reads['p50_ms']:.1f} / {reads['p99_ms']:.1f} ms |"
        )
    return "\n".join(rows)


def _ms(figures: dict[str, Any]) -> str:
    return " / ".join(_human(figures[key]) for key in ("p50_ms", "p99_ms", "max_ms"))


def _human(ms: float) -> str:
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"
