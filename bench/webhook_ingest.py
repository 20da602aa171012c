"""Webhook ingest rate and acknowledgement latency, a flash sale, and intake under read load.

    .venv/bin/python -m bench.webhook_ingest [--seconds 10] [--connections 16] [--orders 5000]
        [--read-connections 2000] [--probe-seconds 15] [--probe-rate 10] [--reference SRC]

Runs `shababco serve` (one worker) on a database of its own and sends it signed deliveries over
keep-alive HTTP/1.1 connections, as Shopify would: (1) inventory_levels/update for N seconds,
timing each acknowledgement; (2) a flash sale, 5,000 orders/create for one ticket type in a
burst (plus 10% redeliveries), then checks `sold` is exact; (3) with `--read-connections N`
(needs `wrk`), webhooks and `/health` on new connections while N keep-alive connections read
(bench.intake_under_load), on this code's server and, with `--reference SRC` (another
checkout's `src/`, e.g. `git worktree add /tmp/before <commit>`), first on one importing that
code. Writes bench/results/webhooks.{md,json}.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bench import intake_under_load
from bench.tools.preflight import require_commands
from shababco.database.engines import async_url

RESULTS = Path(__file__).resolve().parent / "results"
SECRET = "bench-webhook-secret"
SHOP = "bench.myshopify.com"
TARGET_RATE, TARGET_P99_MS = 500, 50


def bench_url() -> str:
    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    url = make_url(async_url(base)).set(database="shababco_webhooks_bench")
    return url.render_as_string(hide_password=False)


async def fresh_database(url: str) -> None:
    admin_url = make_url(url).set(database="postgres")
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text("DROP DATABASE IF EXISTS shababco_webhooks_bench WITH (FORCE)"))
        await conn.execute(text("CREATE DATABASE shababco_webhooks_bench"))
    await admin.dispose()


def request_bytes(port: int, topic: str, payload: dict[str, Any], webhook_id: str) -> bytes:
    body = json.dumps(payload).encode()
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
    head = (
        f"POST /webhooks/{topic} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"X-Shopify-Topic: {topic}\r\nX-Shopify-Shop-Domain: {SHOP}\r\n"
        f"X-Shopify-Hmac-Sha256: {base64.b64encode(digest).decode()}\r\n"
        f"X-Shopify-Webhook-Id: {webhook_id}\r\n"
        f"X-Shopify-Triggered-At: {datetime.now(UTC).isoformat()}\r\n\r\n"
    )
    return head.encode() + body


async def connection_worker(
    port: int, queue: asyncio.Queue[bytes | None], latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    while (request := await queue.get()) is not None:
        started = time.perf_counter()
        writer.write(request)
        status = await intake_under_load.read_status(reader)
        latencies.append((time.perf_counter() - started) * 1000)
        if status != 200:
            errors.append(status)
    writer.close()


async def send_all(
    port: int, requests: Iterator[bytes], connections: int, deadline: float | None = None
) -> tuple[list[float], list[int], float]:
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=connections * 4)
    latencies: list[float] = []
    errors: list[int] = []
    workers = [
        asyncio.create_task(connection_worker(port, queue, latencies, errors))
        for _ in range(connections)
    ]
    started = time.perf_counter()
    for request in requests:
        if deadline is not None and time.perf_counter() > deadline:
            break
        await queue.put(request)
    for _ in workers:
        await queue.put(None)
    await asyncio.gather(*workers)
    return latencies, errors, time.perf_counter() - started


def summary(latencies: list[float], errors: list[int], seconds: float) -> dict[str, Any]:
    ordered = sorted(latencies)
    return {
        "deliveries": len(latencies),
        "errors": len(errors),
        "rate_per_s": round(len(latencies) / seconds, 1),
        "ack_p50_ms": round(statistics.median(ordered), 2),
        "ack_p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 2),
    }


async def drained(url: str) -> float:
    """Seconds until the inbox has no pending delivery."""
    engine = create_async_engine(url)
    started = time.perf_counter()
    async with engine.connect() as conn:
        while await conn.scalar(
            text("SELECT count(*) FROM webhook_inbox WHERE processed_at IS NULL")
        ):
            await asyncio.sleep(0.05)
            await conn.rollback()
    await engine.dispose()
    return time.perf_counter() - started


def level_requests(port: int) -> Iterator[bytes]:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(10**9):
        payload = {
            "inventory_item_id": 7_000_000 + n % 5000,
            "location_id": 1 + n % 3,
            "available": n % 100,
            "updated_at": (moment + timedelta(seconds=n)).isoformat(),
        }
        yield request_bytes(port, "inventory_levels/update", payload, str(uuid.uuid4()))


def flash_sale_requests(port: int, variant_id: int, orders: int) -> Iterator[bytes]:
    for n in range(orders):
        order = {
            "id": 5_000_000_000 + n,
            "updated_at": "2026-02-01T10:00:00+00:00",
            "cancelled_at": None,
            "line_items": [{"id": 6_000_000_000 + n, "variant_id": variant_id, "quantity": 1}],
        }
        request = request_bytes(port, "orders/create", order, f"order-{n}")
        yield request
        if n % 10 == 0:
            yield request  # Shopify redelivers: the same webhook id again


async def flash_sale(port: int, url: str, orders: int, connections: int) -> dict[str, Any]:
    variant_id, product_id = 900_000_001, 800_000_001
    product = {
        "id": product_id,
        "title": "Flash sale",
        "handle": "flash-sale",
        "status": "active",
        "updated_at": "2026-01-01T00:00:00+00:00",
        "product_type": "Concerts",
        "tags": "",
        "variants": [
            {
                "id": variant_id,
                "title": "GA",
                "price": "50.00",
                "option1": "GA",
                "inventory_item_id": 900_000_002,
                "inventory_quantity": 0,
            }
        ],
    }
    await send_all(port, iter([request_bytes(port, "products/create", product, "p-1")]), 1)
    await drained(url)
    latencies, errors, seconds = await send_all(
        port, flash_sale_requests(port, variant_id, orders), connections
    )
    drain_seconds = await drained(url)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        ticket = (await client.get(f"/events/{product_id}/tickets")).json()["items"][0]
    return {
        **summary(latencies, errors, seconds),
        "orders": orders,
        "sold": ticket["sold"],
        "sold_exact": ticket["sold"] == orders,
        "applied_within_s": round(seconds + drain_seconds, 2),
    }


def start_server(
    url: str, port: int, workers: int, source: Path | None = None
) -> subprocess.Popen[bytes]:
    """`shababco serve`, importing `source` (another checkout's `src/`) when given."""
    env = {
        **os.environ,
        **({"PYTHONPATH": str(source)} if source else {}),
        "DATABASE_URL": url,
        "SHOPIFY_WEBHOOK_SECRET": SECRET,
        "SHOPIFY_SHOP": SHOP,
        "SHABABCO_LOG_LEVEL": "warning",
    }
    command = [
        str(Path(sys.executable).parent / "shababco"),
        *("serve", "--port", str(port), "--workers", str(workers)),
    ]
    server = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready").status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("server did not start")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    url = bench_url()
    await fresh_database(url)
    from shababco.database.migrate import upgrade

    engine = create_async_engine(url)
    await upgrade(engine)
    await engine.dispose()
    server = start_server(url, args.port, args.workers)
    try:
        deadline = time.perf_counter() + args.seconds
        latencies, errors, seconds = await send_all(
            args.port, level_requests(args.port), args.connections, deadline
        )
        ingest = {
            **summary(latencies, errors, seconds),
            "drained_after_s": round(await drained(url), 2),
        }
        sale = await flash_sale(args.port, url, args.orders, args.connections * 2)
    finally:
        server.terminate()
        server.wait(10)
    results: dict[str, Any] = {"ingest": ingest, "flash_sale": sale}
    if args.read_connections:
        results["under_read_load"] = await under_read_load(url, args)
    return results


async def under_read_load(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Intake on new connections under the read load, on the reference's server, then this."""
    servers = [("before (--reference)", args.reference)] if args.reference else []
    servers.append(("this code", None))
    results = {}
    for offset, (name, source) in enumerate(servers, start=1):
        port = args.port + offset
        server = start_server(url, port, 1, source)
        try:
            results[name] = await intake_under_load.measure(
                port,
                partial(next, level_requests(port)),
                connections=args.read_connections,
                seconds=args.probe_seconds,
                rate=args.probe_rate,
            )
            print(name, json.dumps(results[name]), flush=True)
        finally:
            server.terminate()
            server.wait(30)
    return results


def write(results: dict[str, Any], args: argparse.Namespace) -> None:
    ingest, sale = results["ingest"], results["flash_sale"]
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    met = ingest["rate_per_s"] >= TARGET_RATE and ingest["ack_p99_ms"] <= TARGET_P99_MS
    (RESULTS / "webhooks.json").write_text(json.dumps({**results, "machine": machine}, indent=2))
    rows = [
        (
            f"sustained ingest, inventory_levels/update, {args.connections} connections",
            f"{ingest['rate_per_s']}/s, {ingest['errors']} errors",
            f"≥ {TARGET_RATE}/s",
        ),
        (
            "acknowledgement p50 / p99",
            f"{ingest['ack_p50_ms']} / {ingest['ack_p99_ms']} ms",
            f"p99 ≤ {TARGET_P99_MS} ms",
        ),
        ("inbox drained after the last ack", f"{ingest['drained_after_s']} s", ""),
        (
            f"flash sale: {sale['orders']} orders for one ticket (+10% redeliveries)",
            f"{sale['rate_per_s']}/s, p99 {sale['ack_p99_ms']} ms, {sale['errors']} errors",
            "",
        ),
        (
            "flash sale `sold` at the end",
            f"{sale['sold']} ({'exact' if sale['sold_exact'] else 'WRONG'}), "
            f"all applied {sale['applied_within_s']} s after the first order",
            "exact",
        ),
    ]
    table = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    command = (
        f".venv/bin/python -m bench.webhook_ingest --seconds {args.seconds:g} "
        f"--connections {args.connections} --orders {args.orders} --workers {args.workers}"
    )
    if args.read_connections:
        command += (
            f" --read-connections {args.read_connections} --probe-seconds "
            f"{args.probe_seconds:g} --probe-rate {args.probe_rate:g}"
            + (f" --reference {args.reference}" if args.reference else "")
        )
    (RESULTS / "webhooks.md").write_text(
        f"""# Webhook ingest

Command: `{command}`
Machine: {machine}; `shababco serve --workers {args.workers}`; the sender (raw keep-alive
HTTP/1.1, signed deliveries) and PostgreSQL share the machine.

| measure | result | target |
|---|---|---|
{table}

Ingest target {"met" if met else "NOT met"}.
{under_load_section(results, args)}"""
    )


def under_load_section(results: dict[str, Any], args: argparse.Namespace) -> str:
    under_load = results.get("under_read_load")
    if not under_load:
        return ""
    ours = under_load["this code"]["webhooks"]
    met = ours["p99_ms"] <= intake_under_load.TARGET_ACK_P99_MS
    met &= ours["answered_200"] == ours["sent"]
    return f"""
## Intake on new connections under read load

`shababco serve` (one worker, defaults) while `wrk -t2 -c{args.read_connections}` reads a cached
`GET /events` over keep-alive connections; once the server has accepted them all (its listen
queue empty) and a {intake_under_load.RAMP_SECONDS:g} s ramp has passed,
{args.probe_rate:g} new connections a second each send one signed `inventory_levels/update`,
and {args.probe_rate:g} more one `GET /health`, for {args.probe_seconds:g} s, each timed from
the connect to its whole answer (given up after {intake_under_load.PROBE_TIMEOUT:g} s); the
read load goes on until every probe has its answer. Run one server after the other.

{intake_under_load.table(under_load)}

Target (acknowledged, p99 ≤ {intake_under_load.TARGET_ACK_P99_MS / 1000:g} s; Shopify waits
5 s): {"met" if met else "NOT met"}.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--workers", type=int, default=1, help="`shababco serve` workers")
    parser.add_argument(
        "--read-connections", type=int, default=2000, help="0: skip intake under read load"
    )
    parser.add_argument("--probe-seconds", type=float, default=15)
    parser.add_argument("--probe-rate", type=float, default=10, help="new connections a second")
    parser.add_argument("--reference", type=Path, help="a src/ folder to compare against")
    args = parser.parse_args()
    if args.read_connections:
        require_commands("wrk")
    results = asyncio.run(run(args))
    write(results, args)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
