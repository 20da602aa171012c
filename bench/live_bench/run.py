"""The measurements of bench.live_bench, in order, against real servers."""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import random
import resource
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psutil
import uvloop
from prometheus_client.parser import text_string_to_metric_families

from bench.cache_bench import (
    RESULTS,
    SECRET,
    SHOP,
    bench_url,
    prepare,
    redis_server,
    running,
    server_env,
    shababco_serve,
    wrk,
)
from bench.catalog_data import product
from bench.live_bench.clients import IdleClient, StreamClient, open_all
from bench.live_bench.report import distribution, summarize, write
from bench.tools.preflight import require_commands

DATABASE = "shababco_live_bench"
WATCHED = 7  # generated event index: active, five ticket types
READ = 42
MB = 1024 * 1024


def raise_open_files() -> int:
    """As many descriptors as allowed: the client and the server (a child) each hold one per
    connection."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def rss_mb(pid: int) -> float:
    return float(psutil.Process(pid).memory_info().rss) / MB


def level_update(n: int) -> tuple[bytes, dict[str, str]]:
    """A signed `inventory_levels/update`: the watched event's first ticket down to 400 - n."""
    variant = product(WATCHED, random.Random(WATCHED))["variants"][0]
    moment = datetime.now(UTC) + timedelta(seconds=n)
    level = {
        "inventory_item_id": variant["inventory_item_id"],
        "location_id": 1,
        "available": 400 - n,
        "updated_at": moment.isoformat(),
    }
    raw = json.dumps(level).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "inventory_levels/update",
        "X-Shopify-Hmac-Sha256": base64.b64encode(
            hmac.new(SECRET.encode(), raw, hashlib.sha256).digest()
        ).decode(),
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": moment.isoformat(),
    }
    return raw, headers


async def deliver_change(client: httpx.AsyncClient, base: str, n: int) -> float:
    """POST one change; returns when it was sent (perf_counter)."""
    raw, headers = level_update(n)
    sent = time.perf_counter()
    answer = await client.post(
        f"{base}/webhooks/inventory_levels/update", content=raw, headers=headers
    )
    answer.raise_for_status()
    return sent


async def changes_delivered(
    base: str, streams: list[StreamClient], changes: int
) -> list[dict[str, Any]]:
    """Post changes one at a time; each one's delivery latency at every stream, in ms."""
    rounds = []
    async with httpx.AsyncClient(timeout=30) as client:
        for n in range(1, changes + 1):
            seen = [stream.messages for stream in streams]
            sent = await deliver_change(client, base, n)
            deadline = time.perf_counter() + 30
            while any(s.messages <= before for s, before in zip(streams, seen, strict=True)):
                if time.perf_counter() > deadline:
                    break
                await asyncio.sleep(0.01)
            latencies = [
                (s.last_at - sent) * 1000
                for s, before in zip(streams, seen, strict=True)
                if s.messages > before
            ]
            missed = len(streams) - len(latencies)
            rounds.append({"latencies_ms": latencies, "missed": missed})
            print(f"change {n}: {distribution(latencies)}, missed {missed}", flush=True)
            await asyncio.sleep(1.0)
    return rounds


async def changes_meanwhile(base: str, stop: asyncio.Event) -> int:
    """A change a second until `stop`; returns how many."""
    n = 1000
    async with httpx.AsyncClient(timeout=30) as client:
        while not stop.is_set():
            n += 1
            await deliver_change(client, base, n)
            await asyncio.sleep(1.0)
    return n - 1000


async def reads(urls: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    """`wrk` on each cached read, in a thread so the stream clients keep reading."""
    results = {}
    for name, url in urls.items():
        results[name] = await asyncio.to_thread(wrk, url, args.connections, args.seconds)
        print(f"  {name}: {results[name]['rps']:.0f} req/s", flush=True)
    return results


async def reads_with_changes(
    base: str, urls: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    stop = asyncio.Event()
    changer = asyncio.create_task(changes_meanwhile(base, stop))
    try:
        return await reads(urls, args)
    finally:
        stop.set()
        print(f"  ({await changer} changes meanwhile)", flush=True)


def scrape(base: str) -> dict[str, float]:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    wanted = ("live_", "process_resident")
    return {
        sample.name + json.dumps(sample.labels, sort_keys=True): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith(wanted)
    }


async def measure(base: str, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    detail = product(READ, random.Random(READ))["id"]
    urls = {"detail": f"{base}/events/{detail}", "list": f"{base}/events"}
    for url in urls.values():
        wrk(url, args.connections, 2)  # warm-up: caches, connections, the heap
    print("reads alone", flush=True)
    alone_before = await reads(urls, args)
    result: dict[str, Any] = {"reads_alone_before": alone_before}

    before = rss_mb(pid)
    watched = f"/events/event-{WATCHED}/live"
    started = time.perf_counter()
    streams = await open_all(lambda ready: StreamClient(ready), base, watched, args.streams)
    opened_in = time.perf_counter() - started
    await asyncio.sleep(3)
    after = rss_mb(pid)
    result["streams"] = {
        "open": len(streams),
        "opened_in_s": round(opened_in, 1),
        "rss_before_mb": before,
        "rss_after_mb": after,
    }
    print(f"streams: {result['streams']}", flush=True)
    print("reads, streams open", flush=True)
    result["reads_with_streams"] = await reads(urls, args)
    print("changes", flush=True)
    result["changes"] = await changes_delivered(base, streams, args.changes)
    result["streams"]["rss_after_changes_mb"] = rss_mb(pid)
    print("reads, streams open, a change a second", flush=True)
    result["reads_with_streams_and_changes"] = await reads_with_changes(base, urls, args)
    result["metrics"] = scrape(base)
    result["dropped_or_closed"] = sum(1 for stream in streams if stream.closed)
    for stream in streams:
        stream.close()
    await asyncio.sleep(3)
    print("reads alone again", flush=True)
    result["reads_alone_after"] = await reads(urls, args)
    return result


async def idle_cost(base: str, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    """uvicorn's own cost of a connection, on a fresh server warmed up like the other."""
    detail = product(READ, random.Random(READ))["id"]
    for url in (f"{base}/events/{detail}", f"{base}/events"):
        wrk(url, args.connections, 2)
    await asyncio.sleep(2)
    start = rss_mb(pid)
    idle = await open_all(lambda ready: IdleClient(ready), base, "/health", args.streams)
    await asyncio.sleep(3)
    cost = {"open": len(idle), "rss_before_mb": start, "rss_after_mb": rss_mb(pid)}
    print(f"idle keep-alive: {cost}", flush=True)
    for client in idle:
        client.close()
    return cost


def run(args: argparse.Namespace) -> dict[str, Any]:
    url = bench_url()
    asyncio.run(prepare(url, args.events))
    load_before = os.getloadavg()
    with (
        redis_server() as redis_url,
        running(shababco_serve(), server_env(url, redis_url), "/health") as (
            base,
            process,
        ),
    ):
        raw = uvloop.run(measure(base, process.pid, args))
    with (
        redis_server() as redis_url,
        running(shababco_serve(), server_env(url, redis_url), "/health") as (
            base,
            process,
        ),
    ):
        raw["idle_connections"] = uvloop.run(idle_cost(base, process.pid, args))
    raw["load_average"] = {"before": load_before, "after": os.getloadavg()}
    return raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--streams", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=100)
    args = parser.parse_args()
    require_commands("wrk", "redis-server")
    limit = raise_open_files()
    if limit < args.streams + 1000:
        raise SystemExit(f"{args.streams} streams need more open files than the limit {limit}")
    command = "python -m bench.live_bench " + " ".join(
        f"--{name} {value}" for name, value in sorted(vars(args).items())
    )
    summary = summarize(run(args), args, command)
    write(summary)
    print((RESULTS / "live.md").read_text())


if __name__ == "__main__":
    main()
