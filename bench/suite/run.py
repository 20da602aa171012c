"""The benchmark suite: the old architecture (Shopify on every request) against the new one.

    flock /tmp/shababco-bench.lock .venv/bin/python -m bench.suite [--quick] [--events 100000]
        [--seconds 10] [--old-window 30] [--users 10,100,1000] [--reads list,detail,search,tickets]
        [--skip-old] [--only fixed-rate]

Old: `shababco simulator --latency 2-3` (the store, 2 REST calls/s) behind `bench/old_api.py`,
loaded by closed-loop asyncio users for a fixed window; unanswered requests are kept as censored.
New: `shababco serve` (one worker) on the generated catalog (bench.catalog_reads.load), cold
(cache off) and warm (default TTLs, its own Redis, after a warm-up pass), loaded by `wrk` with a
Lua script rotating each read's paths; then 10,000 connections at a fixed 2,000 req/s of mixed
reads (`--only fixed-rate`: that row alone, cold and warm, printed and not written). Writes
bench/results/suite.{md,json} and the charts, the README's Benchmarks section and
bench/targets.md (bench.targets). Needs wrk and redis-server (installed with apt-get as root).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from bench import targets
from bench.cache_bench import redis_server, running, server_env, shababco_serve, started, uvicorn
from bench.cache_bench import wrk as run_wrk
from bench.catalog_reads import bench_url, ensure_database, load
from bench.suite import report as suite_report
from bench.suite.paths import READS, generated_ids, mixed_paths, read_paths
from bench.tools.closed_loop import Samples, censored_percentile, closed_loop
from bench.tools.wrk_lua import Pacing, write_script
from shababco.catalog.models import Event
from shababco.database.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
SHABABCO = str(Path(sys.executable).parent / "shababco")
CELL_TIMEOUT_S = 30  # wrk: a slower answer counts as a timeout, not a latency
DETAIL_IDS = 1000
SETTLE_TIMEOUT_S = 300


def ensure_binary(name: str, package: str) -> None:
    """Install `package` with apt-get when `name` is missing (as root), else stop saying how."""
    if shutil.which(name):
        return
    if os.geteuid() != 0:
        raise SystemExit(f"bench.suite needs {name}: sudo apt-get install -y {package}")
    print(f"installing {package} ...", flush=True)
    subprocess.run(["apt-get", "install", "-y", package], check=True, capture_output=True)


def raise_open_files() -> None:
    """10,000 connections need as many descriptors, in wrk and the server (children inherit)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def vm_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for {pid}")


# --- old architecture ----------------------------------------------------------------------


def store_ids(store: str, token: str) -> list[str]:
    response = httpx.get(
        f"{store}/admin/api/2026-07/products.json",
        params={"limit": 250},
        headers={"X-Shopify-Access-Token": token},
        timeout=30,
    )
    response.raise_for_status()
    return [str(p["id"]) for p in response.json()["products"]]


async def load_old(base: str, paths: list[str], users: int, seconds: float) -> Samples:
    rotation = iter(paths * (1 + 100_000 // len(paths)))
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    async with httpx.AsyncClient(base_url=base, timeout=600, limits=limits) as client:

        async def send(path: str) -> int:
            try:
                return (await client.get(path)).status_code
            except httpx.HTTPError:
                return 0

        return await closed_loop(send, lambda: next(rotation), users, seconds)


def old_window(base_seconds: float, users: int) -> float:
    """The old API answers 2 requests/s whatever the users: a window of at least users / 10 s
    lets a fifth of them be answered once, so the censored p50 bounds more than the window."""
    return max(base_seconds, users / 10)


def old_figures(samples: Samples) -> dict[str, Any]:
    p50, p99 = censored_percentile(samples, 0.5), censored_percentile(samples, 0.99)
    return {
        "p50_ms": round(p50.ms, 1),
        "p50_lower_bound": p50.lower_bound,
        "p50_upper_ms": None if p50.upper_ms is None else round(p50.upper_ms, 1),
        "p99_ms": round(p99.ms, 1),
        "p99_lower_bound": p99.lower_bound,
        "p99_upper_ms": None if p99.upper_ms is None else round(p99.upper_ms, 1),
        "completed": len(samples.completed_ms),
        "censored": len(samples.censored_ms),
        "errors": samples.errors,
    }


def measure_old(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Per read and user count, a fresh store (empty bucket) and a fresh old API."""
    token, webhook_secret = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    simulator = [SHABABCO, "simulator", "--port", "{port}", "--latency", "2-3"]
    simulator += ["--seed-events", "200", "--access-token", token]
    simulator += ["--webhook-secret", webhook_secret]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPIFY_")}
    results: dict[str, dict[str, Any]] = {}
    for read in args.reads:
        for users in args.users:
            with started(simulator, env, "/") as store:
                paths = read_paths(read, store_ids(store, token), random.Random(users))
                old_env = env | {
                    "OLD_API_STORE_URL": store,
                    "OLD_API_ACCESS_TOKEN": token,
                    "PYTHONPATH": str(ROOT),
                }
                with running(uvicorn("bench.old_api:app"), old_env, "/health") as (old, api):
                    window = old_window(args.old_window, users)
                    samples = asyncio.run(load_old(old, paths, users, window))
                    api.kill()  # its abandoned requests would retry 429s through a graceful stop
            figures = old_figures(samples)
            results.setdefault(read, {})[str(users)] = figures
            print(f"old {read} @ {users}: {figures}", flush=True)
    return results


# --- new architecture ----------------------------------------------------------------------


async def prepare_catalog(url: str, events: int) -> int:
    """Load the generated catalog (reused when it already holds `events`); its event count."""
    await ensure_database(url)
    engine = create_async_engine(url)
    await upgrade(engine)
    seconds = await load(engine, events)
    print(f"catalog: {'reused' if seconds is None else f'loaded in {seconds:.0f} s'}", flush=True)
    async with engine.connect() as conn:
        count = int(await conn.scalar(select(func.count()).select_from(Event)) or 0)
    await engine.dispose()
    return count


def warm_up(base: str, paths: list[str]) -> None:
    """Every path once, so each is in L1 and Redis before the warm loads."""
    with httpx.Client(base_url=base, timeout=30) as client:
        for path in paths:
            client.get(path)


def settle(base: str, path: str) -> None:
    """Wait out the requests wrk left queued: a slow server still owes them when wrk stops."""
    httpx.get(base + path, timeout=SETTLE_TIMEOUT_S)


def measure_config(
    args: argparse.Namespace, env: dict[str, str], scripts: dict[str, Path], warm: list[str]
) -> dict[str, Any]:
    """One `shababco serve`: every read at every user count, then the fixed-rate row, then RSS."""
    results: dict[str, Any] = {"reads": {}}
    with running(shababco_serve(), env, "/health") as (base, process):
        warm_up(base, warm)
        for read in [] if args.only == "fixed-rate" else args.reads:
            for users in args.users:
                figures = run_wrk(base + "/", users, args.seconds, scripts[read], CELL_TIMEOUT_S)
                settle(base, "/events")
                results["reads"].setdefault(read, {})[str(users)] = figures
                print(f"  {read} @ {users}: {figures}", flush=True)
        results["rss_after_closed_loop_mb"] = vm_rss_mb(process.pid)
        fixed = run_wrk(
            base + "/", args.fixed_connections, args.fixed_seconds, scripts["fixed"], 10
        )
        settle(base, "/events")
        results["fixed_rate"] = fixed
        print(f"  fixed rate: {fixed}", flush=True)
        results["rss_mb"] = vm_rss_mb(process.pid)
    return results


def measure_new(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    url = bench_url()
    count = asyncio.run(prepare_catalog(url, args.events))
    rng = random.Random(7)
    ids = generated_ids(min(count, args.events), DETAIL_IDS, rng)
    paths = {read: read_paths(read, ids, rng) for read in READS}
    scripts = {read: write_script(folder, read, paths[read]) for read in args.reads}
    pacing = Pacing(args.fixed_connections, args.fixed_rate)
    scripts["fixed"] = write_script(folder, "fixed", mixed_paths(paths), pacing)
    every_path = [path for read in args.reads for path in paths[read]]
    token = secrets.token_urlsafe(24)
    common = {"SHOPIFY_WEBHOOK_SECRET": token, "RECONCILE_INTERVAL_SECONDS": "0"}
    results: dict[str, Any] = {"events_in_database": count}
    with redis_server() as redis_url:
        configs = {
            "cold": server_env(url, "", CACHE_TTL_LIST="0", CACHE_TTL_DETAIL="0", **common),
            "warm": server_env(url, redis_url, **common),
        }
        for name, env in configs.items():
            print(f"new, {name}:", flush=True)
            results[name] = measure_config(args, env, scripts, every_path if name == "warm" else [])
    return results


# --- the run -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per cell")
    parser.add_argument("--old-window", type=float, default=30, help="old API window, s")
    parser.add_argument("--users", default="10,100,1000")
    parser.add_argument("--reads", default=",".join(READS))
    parser.add_argument("--skip-old", action="store_true")
    parser.add_argument("--fixed-connections", type=int, default=10_000)
    parser.add_argument("--fixed-rate", type=float, default=2000, help="req/s in total")
    parser.add_argument("--fixed-seconds", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run")
    parser.add_argument(
        "--only", choices=["fixed-rate"], help="run this row alone (new only), write nothing"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.seconds, args.old_window, args.users = 2000, 2, 10, "10,100"
        args.fixed_connections, args.fixed_rate, args.fixed_seconds = 1000, 200, 10
    args.users = [int(n) for n in args.users.split(",")]
    args.reads = args.reads.split(",")
    unknown = set(args.reads) - set(READS)
    if unknown:
        parser.error(f"unknown reads: {', '.join(sorted(unknown))}")
    if min(args.users) < 2:
        parser.error("wrk runs two threads: at least 2 users")
    return args


def command_line(argv: list[str]) -> str:
    return " ".join([".venv/bin/python -m bench.suite", *argv])


def main(argv: list[str] | None = None) -> None:
    given = sys.argv[1:] if argv is None else argv
    args = parse_args(given)
    ensure_binary("wrk", "wrk")
    ensure_binary("redis-server", "redis-server")
    raise_open_files()
    folder = Path(tempfile.mkdtemp(prefix="bench-suite-"))
    if args.only is not None:
        try:
            print(json.dumps(measure_new(args, folder), indent=2))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    try:
        old = {} if args.skip_old else measure_old(args)
        new = measure_new(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    summary = suite_report.summarize(
        old=old,
        new=new,
        settings={
            "command": command_line(given),
            "events": args.events,
            "seconds": args.seconds,
            "old_window_s": args.old_window,
            "users": args.users,
            "reads": args.reads,
            "fixed": {
                "connections": args.fixed_connections,
                "rate": args.fixed_rate,
                "seconds": args.fixed_seconds,
            },
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}",
        },
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "suite.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    from bench.suite import output  # matplotlib: only when writing

    output.write(summary, RESULTS, ROOT / "README.md")
    targets.main()
    print((RESULTS / "suite.md").read_text())
