"""Uncached reads against a hand-written FastAPI + asyncpg service reading the same rows.

    apt-get install -y wrk                  # this benchmark NEEDS `wrk` and `taskset`
    flock /tmp/shababco-bench.lock .venv/bin/python -m bench.load.uncached \
        [--events 20000] [--seconds 5] [--rounds 2] [--connections 100]

One run on one machine, as ratios (the machine's speed drifts). Loads generated events into
`shababco_uncached_bench` on DATABASE_URL's server (or the local one; kept between runs when it
holds as many events as asked), then runs two single-worker servers pinned on CPU 1: `shababco
serve` with its cache off (`CACHE_TTL_LIST=0 CACHE_TTL_DETAIL=0`, default settings otherwise) and
the reference (`bench/reference/app.py`). `wrk -t1`, pinned on CPU 0, loads each in turn: an
event's detail and its ticket list (both rotating over many events, so no one row stays hot) and
the first page of the list. Every load runs once per round on each server, interleaved; each
server's best round counts. Writes bench/results/uncached.{md,json}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bench.cache_bench import bench_url, parse_wrk, running, server_env
from bench.catalog_reads import load
from bench.tools.preflight import require_commands
from bench.tools.wrk_lua import write_script
from shababco.database.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
DATABASE = "shababco_uncached_bench"
SERVER_CPU, LOAD_CPU = "1", "0"
ROTATED_EVENTS = 2000
TARGET_RATIO = 1.0  # detail and tickets: ours / reference throughput, at least
TARGET_P99_RATIO = 1.5  # detail and tickets: ours / reference p99, at most
OURS, REFERENCE = "shababco", "reference"
LOADS = ("detail", "tickets", "list")
VIEWABLE_IDS = text(
    "SELECT shopify_product_id FROM events"
    " WHERE status IN ('active', 'unlisted') AND deleted_at IS NULL"
    " ORDER BY md5(shopify_product_id::text) LIMIT :count"
)


async def prepare(url: str, events: int) -> list[int]:
    """The benchmark's database, migrated and holding `events` events; ids of viewable ones."""
    name = make_url(url).database
    admin = create_async_engine(
        make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    async with admin.connect() as conn:
        found = await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not found:
            await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    await admin.dispose()
    engine = create_async_engine(url)
    await upgrade(engine)
    await load(engine, events)
    async with engine.connect() as conn:
        ids = list((await conn.execute(VIEWABLE_IDS, {"count": ROTATED_EVENTS})).scalars())
    await engine.dispose()
    return ids


def pinned(cpu: str, command: list[str]) -> list[str]:
    return ["taskset", "-c", cpu, *command]


def shababco_serve() -> list[str]:
    return [str(Path(sys.executable).parent / "shababco"), "serve", "--port", "{port}"]


def reference_serve() -> list[str]:
    # uvicorn's defaults pick uvloop and httptools, as `shababco serve` uses them.
    options = ["--workers", "1", "--no-access-log", "--log-level", "warning"]
    app = "bench.reference.app:app"
    return [sys.executable, "-m", "uvicorn", app, "--port", "{port}", *options]


def wrk(url: str, connections: int, seconds: int, script: Path | None) -> dict[str, float]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout=5s", "--latency"]
    command += [*(["-s", str(script)] if script else []), url]
    output = subprocess.run(
        pinned(LOAD_CPU, command), capture_output=True, text=True, check=True
    ).stdout
    if "Latency Distribution" not in output:
        print(output, flush=True)
    return parse_wrk(output)


def scripts(folder: Path, ids: list[int]) -> dict[str, tuple[str, Path | None]]:
    """Each load's first path (what wrk is pointed at) and its script, if it rotates."""
    details = [f"/events/{event_id}" for event_id in ids]
    tickets = [f"{path}/tickets" for path in details]
    return {
        "detail": (details[0], write_script(folder, "detail", details)),
        "tickets": (tickets[0], write_script(folder, "tickets", tickets)),
        "list": ("/events", None),
    }


def check_answers(bases: dict[str, str], loads: dict[str, tuple[str, Path | None]]) -> None:
    """Both servers answer every load's path with 200 before anything is timed."""
    for base in bases.values():
        for path, _ in loads.values():
            httpx.get(base + path, timeout=10).raise_for_status()


def measure(
    bases: dict[str, str], loads: dict[str, tuple[str, Path | None]], args: argparse.Namespace
) -> dict[str, dict[str, list[dict[str, float]]]]:
    """Every round of every load on every server, interleaved: {load: {server: [rounds]}}."""
    results: dict[str, dict[str, list[dict[str, float]]]] = {}
    for round_number in range(args.rounds):
        for name, (path, script) in loads.items():
            for server, base in bases.items():
                wrk(base + path, args.connections, 1, script)  # warm-up: connections, pools
                measured = wrk(base + path, args.connections, args.seconds, script)
                results.setdefault(name, {}).setdefault(server, []).append(measured)
                print(f"round {round_number + 1} {name} {server}: {measured}", flush=True)
    return results


def run(args: argparse.Namespace) -> dict[str, Any]:
    url = bench_url(DATABASE)
    ids = asyncio.run(prepare(url, args.events))
    folder = Path(tempfile.mkdtemp(prefix="bench-uncached-"))
    loads = scripts(folder, ids)
    env = server_env(url, "", CACHE_TTL_LIST="0", CACHE_TTL_DETAIL="0")
    del env["REDIS_URL"]  # the cache is off: no Redis
    try:
        with (
            running(pinned(SERVER_CPU, shababco_serve()), env, "/health") as (ours, _),
            running(pinned(SERVER_CPU, reference_serve()), env, "/events") as (reference, _),
        ):
            bases = {OURS: ours, REFERENCE: reference}
            check_answers(bases, loads)
            rounds = measure(bases, loads, args)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"rounds": rounds, "paths": {name: path for name, (path, _) in loads.items()}}


def best(rounds: list[dict[str, float]]) -> dict[str, float]:
    """The round with the highest throughput."""
    return max(rounds, key=lambda measured: measured["rps"])


def summarize(raw: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    rows = []
    for name in LOADS:
        ours, reference = (best(raw["rounds"][name][server]) for server in (OURS, REFERENCE))
        row: dict[str, Any] = {
            "load": name,
            "rps": {OURS: round(ours["rps"]), REFERENCE: round(reference["rps"])},
            "p50_ms": {OURS: ours["p50_ms"], REFERENCE: reference["p50_ms"]},
            "p99_ms": {OURS: ours["p99_ms"], REFERENCE: reference["p99_ms"]},
            "errors": {
                server: measured["socket_errors"] + measured["non_2xx"]
                for server, measured in ((OURS, ours), (REFERENCE, reference))
            },
            "rps_ratio": round(ours["rps"] / reference["rps"], 2),
            "p99_ratio": round(ours["p99_ms"] / reference["p99_ms"], 2),
        }
        if name == "list":
            row["met"] = row["rps_ratio"] > 1.0
        else:
            row["met"] = row["rps_ratio"] >= TARGET_RATIO and row["p99_ratio"] <= TARGET_P99_RATIO
        rows.append(row)
    return {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "events": args.events,
        "rotated_events": ROTATED_EVENTS,
        "seconds_per_load": args.seconds,
        "rounds": args.rounds,
        "connections": args.connections,
        "paths": raw["paths"],
        "results": rows,
        "all_rounds": raw["rounds"],
    }


def write(summary: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "uncached.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = [
        "# Uncached reads against a hand-written FastAPI + asyncpg service",
        "",
        f"`python -m bench.load.uncached --events {summary['events']} --seconds "
        f"{summary['seconds_per_load']} --rounds {summary['rounds']} --connections "
        f"{summary['connections']}`: one run, {summary['machine']['cpus']} CPUs, Python "
        f"{summary['machine']['python']}. Both servers are one uvicorn worker pinned on CPU "
        f"{SERVER_CPU}; `shababco serve` has its cache off (`CACHE_TTL_LIST=0 CACHE_TTL_DETAIL=0`),"
        " default settings otherwise; the reference is `bench/reference/app.py`. Load from "
        f"`wrk -t1 -c{summary['connections']}` pinned on CPU {LOAD_CPU}; detail and tickets "
        f"rotate over {summary['rotated_events']} events. Each server's best of "
        f"{summary['rounds']} interleaved rounds. Targets: detail and tickets ≥ {TARGET_RATIO}× "
        f"the reference's req/s with p99 ≤ {TARGET_P99_RATIO}× its p99; the list ahead of it.",
        "",
        "| load | shababco req/s | reference req/s | ratio | p50 ms shababco / reference "
        "| p99 ms shababco / reference | p99 ratio | errors | target |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in summary["results"]:
        p50 = f"{row['p50_ms'][OURS]:.1f} / {row['p50_ms'][REFERENCE]:.1f}"
        p99 = f"{row['p99_ms'][OURS]:.1f} / {row['p99_ms'][REFERENCE]:.1f}"
        errors = f"{row['errors'][OURS]} / {row['errors'][REFERENCE]}"
        lines.append(
            f"| {row['load']} | {row['rps'][OURS]} | {row['rps'][REFERENCE]} | "
            f"{row['rps_ratio']} | {p50} | {p99} | {row['p99_ratio']} | {errors} | "
            f"{'met' if row['met'] else 'NOT met'} |"
        )
    lines.append("")
    (RESULTS / "uncached.md").write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=100)
    args = parser.parse_args()
    require_commands("wrk", "taskset")
    summary = summarize(run(args), args)
    write(summary)
    print((RESULTS / "uncached.md").read_text())


if __name__ == "__main__":
    main()
