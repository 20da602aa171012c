"""Sizing figures for docs/deploy.md: connections, memory and freshness on the production topology.

    apt-get install -y pgbouncer redis-server     # NEEDS PostgreSQL 15's binaries, PgBouncer, Redis
    .venv/bin/python -m bench.topology [--events 5000] [--burst 400] [--updates 20]

Starts the topology the tests use (tests/support/topology.py: a primary, a streaming replica
applying WAL 1.5 s late, PgBouncer in transaction mode with 6 server connections per database)
with `--events` generated events, then:

1. one `shababco serve` on the primary directly, default pools, the response cache off: a burst
   of `--burst` distinct reads (lists, searches, details, tickets), 100 at a time; the most
   server connections it held at once (sampled from pg_stat_activity every 20 ms), its RSS;
2. two processes through PgBouncer (DB_STATEMENT_CACHE_SIZE=0, reads on the replica), the same
   burst on each at once: the most server connections on the primary and on the replica;
3. the same two with Redis and the cache on: `--updates` product updates posted to one, each
   timed from its acknowledgement until both processes serve it (the replica's 1.5 s included).

Writes bench/results/topology.{md,json}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.ext.asyncio import create_async_engine
from tests.support.factories import make_product
from tests.support.infra.processes import RedisServer, ServeProcess, start_all
from tests.support.infra.topology import REPLICA_DELAY_MS, Topology, missing_tools
from tests.support.webhook_client import deliver, eventually

from bench.catalog_reads import load
from bench.tools.preflight import require_commands
from shababco.database.engines import async_url
from shababco.database.migrate import upgrade

RESULTS = Path(__file__).parent / "results"
NO_CACHE = {"CACHE_TTL_LIST": "0", "CACHE_TTL_DETAIL": "0", "LOG_LEVEL": "error"}
POOLED = {"DB_STATEMENT_CACHE_SIZE": "0", "LOG_LEVEL": "error"}
CONCURRENCY = 100
WORDS = ("festival", "concert", "jazz", "night", "summer", "حفلة", "مهرجان", "theatre")


@asynccontextmanager
async def sampled(urls: list[str], database: str) -> AsyncIterator[list[int]]:
    """The most client backends of `database` on each server while the block runs."""
    peaks = [0] * len(urls)
    connections = [await asyncpg.connect(url.rsplit("/", 1)[0] + "/postgres") for url in urls]
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            for index, connection in enumerate(connections):
                count = await connection.fetchval(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = $1 AND backend_type = 'client backend'",
                    database,
                )
                peaks[index] = max(peaks[index], count)
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    try:
        yield peaks
    finally:
        done.set()
        await sampler
        for connection in connections:
            await connection.close()


async def burst(base: str, ids: list[int], count: int) -> dict[int, int]:
    """`count` distinct reads, CONCURRENCY at a time; answers by status."""
    paths = []
    for n in range(count):
        kind = n % 4
        if kind == 0:
            paths.append(f"/events?page={n // 4 + 1}&limit=20")
        elif kind == 1:
            paths.append(f"/events?search={WORDS[n % len(WORDS)]}&page={n // 40 + 1}")
        else:
            paths.append(f"/events/{ids[n % len(ids)]}{'/tickets' if kind == 3 else ''}")
    statuses: dict[int, int] = {}
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        for start in range(0, count, CONCURRENCY):
            chunk = paths[start : start + CONCURRENCY]
            for answer in await asyncio.gather(*(client.get(path) for path in chunk)):
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
    return statuses


def rss_mb(process: ServeProcess) -> float:
    assert process.process is not None
    status = Path(f"/proc/{process.process.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


async def direct(topology: Topology, ids: list[int], count: int) -> dict[str, Any]:
    process = ServeProcess(topology.primary_url, workers=1, **NO_CACHE)
    start_all([process])
    try:
        async with sampled([topology.primary_url], topology.name) as peaks:
            statuses = await burst(process.url, ids, count)
        return {"statuses": statuses, "peak_connections": peaks[0], "rss_mb": rss_mb(process)}
    finally:
        process.stop()


async def pooled(topology: Topology, ids: list[int], count: int) -> dict[str, Any]:
    env = POOLED | NO_CACHE | {"DATABASE_READ_URL": topology.pooled_replica_url}
    processes = [ServeProcess(topology.pooled_url, workers=1, **env) for _ in range(2)]
    start_all(processes)
    try:
        servers = [topology.primary_url, topology.replica_url]
        async with sampled(servers, topology.name) as peaks:
            answers = await asyncio.gather(*(burst(p.url, ids, count) for p in processes))
        return {
            "statuses": answers,
            "peak_primary_connections": peaks[0],
            "peak_replica_connections": peaks[1],
            "rss_mb": [rss_mb(process) for process in processes],
        }
    finally:
        for process in processes:
            process.stop()


async def freshness(topology: Topology, redis: RedisServer, updates: int) -> dict[str, Any]:
    env = POOLED | {"DATABASE_READ_URL": topology.pooled_replica_url}
    processes = [ServeProcess(topology.pooled_url, redis.url, workers=1, **env) for _ in range(2)]
    start_all(processes)
    seconds: list[float] = []
    clients = [httpx.AsyncClient(base_url=p.url, timeout=30) for p in processes]
    try:

        async def cache_ok() -> bool:
            return {(await c.get("/ready")).json()["cache"] for c in clients} == {"ok"}

        await eventually(cache_ok, within=30)
        product = make_product(title="Freshness")
        await deliver(clients[0], "products/create", product)
        for n in range(updates):
            title = f"Update {n}"
            changed = {**product, "title": title, "updated_at": f"2026-07-01T00:{n:02d}:00Z"}
            answer = await deliver(clients[0], "products/update", changed)
            acknowledged = time.perf_counter()
            assert answer.status_code == 200, answer.text
            for client in clients:
                await eventually(partial(_titled, client, product["id"], title), within=30)
            seconds.append(time.perf_counter() - acknowledged)
    finally:
        for client in clients:
            await client.aclose()
        for process in processes:
            process.stop()
    ordered = sorted(seconds)
    return {
        "updates": updates,
        "p50_s": statistics.median(ordered),
        "max_s": ordered[-1],
        "min_s": ordered[0],
    }


async def _titled(client: httpx.AsyncClient, event_id: int, title: str) -> bool:
    return bool((await client.get(f"/events/{event_id}")).json().get("title") == title)


async def measure(events: int, count: int, updates: int) -> dict[str, Any]:
    topology = Topology("shababco_topology_bench")
    redis = RedisServer(shutil.which("redis-server") or "redis-server")
    try:
        topology.start_primary()
        topology.start_pooler()
        await topology.create_database()
        engine = create_async_engine(async_url(topology.primary_url))
        await upgrade(engine)
        await load(engine, events)
        await engine.dispose()
        topology.start_replica()
        await topology.wait_for(topology.pooled_replica_url)
        redis.start()
        connection = await asyncpg.connect(topology.primary_url)
        ids = [row[0] for row in await connection.fetch(
            "SELECT shopify_product_id FROM events WHERE status = 'active' LIMIT 500"
        )]  # fmt: skip
        max_connections = int(await connection.fetchval("SHOW max_connections"))
        await connection.close()
        return {
            "events": events,
            "burst": count,
            "concurrency": CONCURRENCY,
            "max_connections": max_connections,
            "pgbouncer_default_pool_size": 6,
            "replica_delay_ms": REPLICA_DELAY_MS,
            "direct": await direct(topology, ids, count),
            "pooled": await pooled(topology, ids, count),
            "freshness": await freshness(topology, redis, updates),
        }
    finally:
        redis.stop()
        shutil.rmtree(redis.folder, ignore_errors=True)
        topology.close()


def report(figures: dict[str, Any], command: str) -> str:
    direct, pooled, fresh = figures["direct"], figures["pooled"], figures["freshness"]
    rows = [
        (
            "one process on the primary directly, default pools (20 + 10 overflow, and the"
            " searches' own): most server connections held at once",
            str(direct["peak_connections"]),
        ),
        ("its answers", str(direct["statuses"])),
        ("its RSS after the burst", f"{direct['rss_mb']:.1f} MB"),
        (
            "two processes through PgBouncer (6 server connections per database), bursts on"
            " both at once: most connections on the primary / on the replica",
            f"{pooled['peak_primary_connections']} / {pooled['peak_replica_connections']}",
        ),
        ("their answers", str(pooled["statuses"])),
        ("their RSS after the burst", ", ".join(f"{mb:.1f} MB" for mb in pooled["rss_mb"])),
        (
            f"webhook acknowledged → served by both processes, the replica"
            f" {figures['replica_delay_ms']} ms behind ({fresh['updates']} updates)",
            f"p50 {fresh['p50_s']:.2f} s, min {fresh['min_s']:.2f} s, max {fresh['max_s']:.2f} s",
        ),
    ]
    table = "\n".join(f"| {measure} | {result} |" for measure, result in rows)
    machine = f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores"
    return f"""# Topology sizing

Command: `{command}`
Machine: {machine}, Python {platform.python_version()}; PostgreSQL 15, PgBouncer, Redis and the
load generator share it. {figures["events"]:,} events; bursts of {figures["burst"]} distinct
uncached reads, {figures["concurrency"]} at a time.

| measure | result |
|---|---|
{table}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--burst", type=int, default=400)
    parser.add_argument("--updates", type=int, default=20)
    args = parser.parse_args()
    require_commands("pgbouncer", "redis-server")
    if missing := missing_tools():  # PostgreSQL's binaries, which are not on PATH
        needs = ", ".join(missing)
        raise SystemExit(f"bench.topology needs {needs}: apt-get install -y postgresql-15")
    figures = asyncio.run(measure(args.events, args.burst, args.updates))
    command = ".venv/bin/python -m bench.topology" + (
        f" --events {args.events} --burst {args.burst} --updates {args.updates}"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "topology.json").write_text(json.dumps(figures, indent=2) + "\n")
    (RESULTS / "topology.md").write_text(report(figures, command))
    print(report(figures, command))


if __name__ == "__main__":
    main()
