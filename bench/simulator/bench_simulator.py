"""Benchmark the simulated store: webhook deliveries/s and GraphQL requests/s.

Run: .venv/bin/python bench/simulator/bench_simulator.py
Writes bench/results/simulator.md and bench/results/simulator.json.
The simulator, this load generator and the webhook receiver are three processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import httpx
import psutil
import uvloop

ROOT = Path(__file__).resolve().parents[2]
RECEIVER = str(Path(__file__).resolve().parent / "counting_receiver.py")
WORKERS = 32
WEBHOOK_ROUNDS = 200  # x 250 inventory levels = 50,000 deliveries
RESULTS = ROOT / "bench" / "results"
TOKEN, SECRET = "bench-token", "bench-secret"
API = "/admin/api/2026-07/graphql.json"
GRAPHQL_QUERY = (
    "{ products(first: 10) { nodes { id title"
    " variants(first: 5) { nodes { id price inventoryQuantity } } } } }"
)
INVENTORY_SET = """mutation($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) { userErrors { message } } }"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_simulator(port: int) -> tuple[subprocess.Popen[str], list[str]]:
    command = [
        str(Path(sys.executable).parent / "shababco"),
        "simulator",
        "--port",
        str(port),
        "--access-token",
        TOKEN,
        "--webhook-secret",
        SECRET,
        "--seed-events",
        "300",
        "--bucket-size",
        "1000000000",
        "--restore-rate",
        "1000000000",
        "--workers",
        str(WORKERS),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None and "listening" in process.stdout.readline()
    return process, command


class CountingReceiver:
    """The webhook receiver in its own process (counting_receiver.py)."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, RECEIVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.stdin, self.stdout = _pipe(self.process.stdin), _pipe(self.process.stdout)
        self.port = int(self.stdout.readline())

    def count(self) -> int:
        """Requests answered so far."""
        self.stdin.write("count\n")
        self.stdin.flush()
        return int(self.stdout.readline())

    def stop(self) -> None:
        self.stdin.close()
        self.process.wait(timeout=10)
        self.stdout.close()


def _pipe(stream: IO[str] | None) -> IO[str]:
    assert stream is not None
    return stream


async def gql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post(API, json={"query": query, "variables": variables})
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


async def bench_webhooks(
    client: httpx.AsyncClient, simulator: psutil.Process, rounds: int
) -> dict[str, Any]:
    receiver = CountingReceiver()
    try:
        return await _deliver(client, simulator, receiver, rounds)
    finally:
        receiver.stop()


async def _deliver(
    client: httpx.AsyncClient, simulator: psutil.Process, receiver: CountingReceiver, rounds: int
) -> dict[str, Any]:
    subscribed = await gql(
        client,
        "mutation($uri: String!) { webhookSubscriptionCreate(topic: INVENTORY_LEVELS_UPDATE,"
        " webhookSubscription: {uri: $uri, format: JSON}) { webhookSubscription { id } } }",
        uri=f"http://127.0.0.1:{receiver.port}/hooks",
    )
    assert subscribed["data"]["webhookSubscriptionCreate"]["webhookSubscription"]
    body = await gql(
        client,
        "{ locations(first: 1) { nodes { id } } products(first: 100) { nodes {"
        " variants(first: 3) { nodes { inventoryItem { id } } } } } }",
    )
    location = body["data"]["locations"]["nodes"][0]["id"]
    items = [
        v["inventoryItem"]["id"]
        for p in body["data"]["products"]["nodes"]
        for v in p["variants"]["nodes"]
    ][:250]
    cpu_before, started = _cpu_seconds(simulator), time.perf_counter()
    for round_number in range(rounds):
        quantities = [
            {"inventoryItemId": item, "locationId": location, "quantity": round_number}
            for item in items
        ]
        await gql(
            client,
            INVENTORY_SET,
            input={"name": "available", "reason": "correction", "quantities": quantities},
        )
    idle = await client.post("/_simulator/deliveries/wait-idle", params={"timeout": 120})
    elapsed = time.perf_counter() - started
    cpu = _cpu_seconds(simulator) - cpu_before
    received = receiver.count()
    stats = (await client.get("/_simulator/deliveries/stats")).json()
    return {
        "deliveries": received,
        "seconds": round(elapsed, 3),
        "deliveries_per_second": round(received / elapsed, 1),
        "succeeded": stats["succeeded"],
        "failed_attempts": stats["failed_attempts"],
        "idle": idle.json()["idle"],
        "simulator_cpu_seconds": round(cpu, 2),
        "simulator_cpu_share": round(cpu / elapsed, 2),
        "rounds": rounds,
    }


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


async def bench_graphql(
    client: httpx.AsyncClient, seconds: float, concurrency: int
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            body = await gql(client, GRAPHQL_QUERY)
            latencies.append(time.perf_counter() - began)
            errors += "errors" in body

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "errors": errors,
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2),
        "concurrency": concurrency,
        "query": GRAPHQL_QUERY,
    }


async def main() -> None:
    load_before = os.getloadavg()[0]  # other work on the machine competes for the same cores
    port = free_port()
    process, command = start_simulator(port)
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            headers={"X-Shopify-Access-Token": TOKEN},
            limits=limits,
            timeout=60,
        ) as client:
            graphql = await bench_graphql(client, seconds=8, concurrency=16)
            simulator = psutil.Process(process.pid)
            webhooks = await bench_webhooks(client, simulator, rounds=WEBHOOK_ROUNDS)
    finally:
        process.terminate()
        process.wait(timeout=10)
    machine = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_1m_at_start": round(load_before, 2),
    }
    results = {
        "machine": machine,
        "simulator_command": " ".join(command[1:]).replace(SECRET, "***").replace(TOKEN, "***"),
        "bench_command": ".venv/bin/python bench/simulator/bench_simulator.py",
        "graphql": graphql,
        "webhooks": webhooks,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "simulator.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "simulator.md").write_text(render(results))
    print(render(results))


def render(results: dict[str, Any]) -> str:
    """The Markdown report."""
    g, w, m = results["graphql"], results["webhooks"], results["machine"]
    webhook_row = (
        f"| webhook deliveries/s (inventory_levels/update, signed, {WORKERS} workers, receiver in "
        f"its own process, {w['rounds']} `inventorySetQuantities` of 250 levels each) "
        f"| **{w['deliveries_per_second']}** ({w['deliveries']} in {w['seconds']} s, "
        f"{w['failed_attempts']} failed attempts; simulator busy {w['simulator_cpu_share']:.0%} "
        "of one core) | ≥ 1,000 |"
    )
    graphql_row = (
        f"| GraphQL requests/s (`products(first: 10)` + `variants(first: 5)`, {g['concurrency']} "
        "concurrent, latency off, bucket not limiting) "
        f"| **{g['requests_per_second']}** (p50 {g['p50_ms']} ms, p99 {g['p99_ms']} ms, "
        f"{g['errors']} errors) | ≥ 200 |"
    )
    return "\n".join(
        [
            "# Simulator benchmark",
            "",
            f"Command: `{results['bench_command']}`",
            f"Simulator: `shababco {results['simulator_command']}`",
            f"Machine: {m['cpus']} CPUs, Python {m['python']}, {m['platform']}.",
            f"Simulator, load generator and webhook receiver are three processes sharing those "
            f"{m['cpus']} CPUs (1-minute load average {m['load_average_1m_at_start']} when the run "
            "began). The webhook time runs from the first mutation until the simulator "
            "reports no delivery outstanding, so it includes the mutations that fire the webhooks.",
            "",
            "| measure | result | target |",
            "|---|---|---|",
            webhook_row,
            graphql_row,
            "",
        ]
    )


if __name__ == "__main__":
    uvloop.install()
    asyncio.run(main())
