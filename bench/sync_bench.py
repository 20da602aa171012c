"""Initial sync benchmark: N events through the simulator's throttling.

    .venv/bin/python -m bench.sync_bench --events 10000 --restore-rate 2000

For each method a fresh database is synced by a child process (so that its peak RSS is the
sync's own). The paged sync is compared with the rate-limit bound: the query points it spent,
less the bucket it starts with, divided by the restore rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shababco.commands.demo import DemoStore, start_simulator, stop_simulator

RESULTS = Path(__file__).resolve().parent / "results"
ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


async def fresh_database(name: str) -> str:
    admin = create_async_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    from shababco.database.migrate import upgrade

    engine = create_async_engine(url)
    await upgrade(engine)
    await engine.dispose()
    return url


def child(method: str) -> None:
    """Run one sync in this process and print its report as JSON."""
    from dataclasses import asdict

    from shababco.config import get_settings
    from shababco.database.migrate import migrated_database
    from shababco.shopify.admin.client import ShopifyClient
    from shababco.shopify.sync.full import run_sync

    started = time.monotonic()
    phases: dict[str, list[float]] = {}  # phase: [first, last] progress report, s from start

    def progress(phase: str, done: int, total: int | None) -> None:
        at = round(time.monotonic() - started, 2)
        phases.setdefault(phase, [at, at])[1] = at

    async def run() -> dict[str, Any]:
        settings = get_settings()
        async with (
            ShopifyClient.from_settings(settings) as client,
            migrated_database(settings) as db,
        ):
            report = await run_sync(
                db.write, client, method=method, currency="SAR", progress=progress
            )
            async with db.write.connect() as conn:
                tickets = await conn.scalar(text("SELECT count(*) FROM tickets"))
            return {
                **asdict(report),
                "throttled": client.throttled,
                "tickets": tickets,
                "phases": phases,
            }

    print(json.dumps(asyncio.run(run())))


def measure(method: str, store: DemoStore, database_url: str) -> dict[str, Any]:
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SHOPIFY_SHOP": store.base_url,
        "SHOPIFY_ACCESS_TOKEN": store.token,
    }
    command = [sys.executable, "-m", "bench.sync_bench", "--child", method]
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=environment, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.monotonic() - started
    assert process.stdout is not None
    output = process.stdout.read()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{method} sync failed")
    report: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return {**report, "wall_seconds": elapsed, "peak_rss_mb": usage.ru_maxrss / 1024}


def throttle(store: DemoStore) -> dict[str, float]:
    headers = {"X-Shopify-Access-Token": store.token}
    body: dict[str, float] = httpx.get(
        f"{store.base_url}/_simulator/throttle", headers=headers
    ).json()
    return body


def refill(store: DemoStore) -> None:
    status = throttle(store)
    httpx.put(
        f"{store.base_url}/_simulator/throttle",
        headers={"X-Shopify-Access-Token": store.token},
        json={**status, "currently_available": status["maximum_available"]},
    ).raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--bucket-size", type=float, default=20_000)
    parser.add_argument("--restore-rate", type=float, default=2_000)
    parser.add_argument("--methods", default="bulk,pages")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    flags = ["--bucket-size", str(args.bucket_size), "--restore-rate", str(args.restore_rate)]
    store = start_simulator(events=args.events, flags=flags)
    results: dict[str, Any] = {"events": args.events, **throttle(store)}
    try:
        for method in args.methods.split(","):
            refill(store)
            url = asyncio.run(fresh_database(f"shababco_bench_sync_{method}"))
            results[method] = measure(method, store, url)
            print(method, json.dumps(results[method]), flush=True)
    finally:
        stop_simulator(store)
    write(results, args)


def write(results: dict[str, Any], args: argparse.Namespace) -> None:
    lines = [
        "# Initial sync benchmark",
        "",
        f"`{' '.join(['python -m bench.sync_bench', *sys.argv[1:]])}` — {args.events} events, "
        f"bucket {args.bucket_size:.0f} points, restore {args.restore_rate:.0f} points/s.",
        "",
        "| method | products | tickets | wall s | requests | query points | bound s | ratio "
        "| throttled | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for method in ("bulk", "pages"):
        if method not in results:
            continue
        run = results[method]
        bound = max(0.0, run["query_points"] - args.bucket_size) / args.restore_rate
        run["rate_limit_bound_seconds"] = bound
        run["ratio_to_bound"] = run["wall_seconds"] / bound if bound else None
        ratio = f"{run['ratio_to_bound']:.2f}" if run["ratio_to_bound"] else "—"
        lines.append(
            f"| {method} | {run['products']} | {run.get('tickets', '')} | "
            f"{run['wall_seconds']:.1f} | {run['requests']} | {run['query_points']} | "
            f"{bound:.1f} | {ratio} | {run['throttled']} | {run['peak_rss_mb']:.0f} |"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sync.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "sync.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
