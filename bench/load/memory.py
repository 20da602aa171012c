"""Resident memory of one `shababco serve` at 100k events: the cheap, repeatable check.

    flock /tmp/shababco-bench.lock .venv/bin/python -m bench.load.memory [--seconds 5]
        [--connections 1000] [--configs cold,warm] [--events 100000]

The suite's catalog (`shababco_bench`, reused when it already holds the events), one server
per configuration as the suite runs it (cold: cache off; warm: default TTLs and its own Redis,
after a pass over every path), then each read at 1,000 connections with wrk. Prints VmRSS
after start-up, after the warm-up and after the loads (what the suite reports), in MB. Writes
nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import shutil
import tempfile
from pathlib import Path

from bench.cache_bench import redis_server, running, server_env, shababco_serve
from bench.cache_bench import wrk as run_wrk
from bench.catalog_reads import bench_url
from bench.suite.paths import READS, generated_ids, read_paths
from bench.suite.run import (
    DETAIL_IDS,
    prepare_catalog,
    raise_open_files,
    settle,
    vm_rss_mb,
    warm_up,
)
from bench.tools.preflight import require_commands
from bench.tools.wrk_lua import write_script


def rss_anon_mb(pid: int) -> float:
    """The anonymous part of VmRSS: the heap, without the mapped code of modules."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no RssAnon for {pid}")


def measure(
    env: dict[str, str], scripts: dict[str, Path], warm: list[str], args: argparse.Namespace
) -> dict[str, float]:
    rss: dict[str, float] = {}
    with running(shababco_serve(), env, "/health") as (base, process):
        rss["started"] = vm_rss_mb(process.pid)
        warm_up(base, warm)
        rss["warmed"] = vm_rss_mb(process.pid)
        for read, script in scripts.items():
            run_wrk(base + "/", args.connections, args.seconds, script, 30)
            settle(base, "/events")
            rss[f"after {read}"] = vm_rss_mb(process.pid)
        rss["anonymous at the end"] = rss_anon_mb(process.pid)
    return rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--configs", default="cold,warm")
    args = parser.parse_args()
    require_commands("wrk", "redis-server")
    raise_open_files()
    url = bench_url()
    count = asyncio.run(prepare_catalog(url, args.events))
    rng = random.Random(7)
    ids = generated_ids(min(count, args.events), DETAIL_IDS, rng)
    paths = {read: read_paths(read, ids, rng) for read in READS}
    folder = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    common = {
        "SHOPIFY_WEBHOOK_SECRET": secrets.token_urlsafe(24),
        "RECONCILE_INTERVAL_SECONDS": "0",
    }
    try:
        scripts = {read: write_script(folder, read, paths[read]) for read in READS}
        every_path = [path for read in READS for path in paths[read]]
        with redis_server() as redis_url:
            configs = {
                "cold": server_env(url, "", CACHE_TTL_LIST="0", CACHE_TTL_DETAIL="0", **common),
                "warm": server_env(url, redis_url, **common),
            }
            for name in args.configs.split(","):
                warm = every_path if name == "warm" else []
                print(name, json.dumps(measure(configs[name], scripts, warm, args)), flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
