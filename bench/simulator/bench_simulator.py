"""Benchmark the simulated store: webhook deliveries/s and GraphQL requests/s.

Run: .venv/bin/python bench/simulator/bench_simulator.py
Writes bench/results/simulator.md and bench/results/simulator.json.
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
from typing import Any

import httpx
import uvloop

ROOT = Path(__file__).resolve().parents[2]
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
        "32",
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None and "listening" in process.stdout.readline()
    return process, command


class CountingReceiver:
    """A minimal keep-alive HTTP server that answers 200 and counts requests."""

    def __init__(self) -> None:
        self.count = 0
        self.port = 0

    async def start(self) -> asyncio.Server:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return server

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                await reader.readexactly(length)
                self.count += 1
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


async def gql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post(API, json={"query": query, "variables": variables})
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


async def bench_webhooks(client: httpx.AsyncClient, rounds: int) -> dict[str, Any]:
    receiver = CountingReceiver()
    server = await receiver.start()
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
    started = time.perf_counter()
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
    server.close()
    stats = (await client.get("/_simulator/deliveries/stats")).json()
    return {
        "deliveries": receiver.count,
        "seconds": round(elapsed, 3),
        "deliveries_per_second": round(receiver.count / elapsed, 1),
        "succeeded": stats["succeeded"],
        "idle": idle.json()["idle"],
    }


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
            webhooks = await bench_webhooks(client, rounds=40)
    finally:
        process.terminate()
        process.wait(timeout=10)
    machine = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
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
        "| webhook deliveries/s (inventory_levels/update, signed, 32 workers, local receiver) "
        f"| **{w['deliveries_per_second']}** ({w['deliveries']} in {w['seconds']} s) | ≥ 1,000 |"
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
            "Simulator, load generator and webhook receiver share the machine.",
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
