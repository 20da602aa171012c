"""Overload is answered, not suffered: one uncached `shababco serve` worker at its unloaded peak,
then offered ten times the connections.

    flock /tmp/shababco-bench.lock .venv/bin/python -m bench.load.overload \
        [--events 20000] [--seconds 10] [--peak-connections 50] [--connections 1000]

The server (cache off, one worker) runs pinned to core 1 and wrk to core 0, on a database of
this benchmark's own (`shababco_overload_bench`, loaded once with generated events, reused while
it holds as many). wrk rotates the suite's mixed reads (list, detail, search, tickets): first at
`--peak-connections` (the peak: what the process serves unloaded), then at `--connections`.
Reports, at the overload: socket errors (connect, read, write and wrk's timeouts), p99 of all
answers (503s included), the admitted (2xx) throughput against the peak, and the 503s. Each
load also reports the server's CPU (its share of a core, all threads) and what it bought: CPU
milliseconds per admitted answer, and the refusals answered per admitted one: whether a shortfall
against the peak is the refusals' CPU or admitted answers grown dearer (`--env` helps tell: with
HTTP_QUEUE_BUDGET_MS=3000 nothing is refused).
Targets: zero socket errors, p99 ≤ 1 s, admitted throughput ≥ 0.9 × the peak.

Then the same two loads through the example load balancer (`deploy/haproxy/haproxy.cfg`, its one
server this process, HAProxy on wrk's core), which queues and refuses at the edge: the process
is sent at most the balancer's `maxconn` requests at once (`behind_haproxy`; `--no-haproxy`
skips it). Its admitted throughput is set against the peak measured behind HAProxy too (the
target) and against the direct one. Prints JSON; writes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from bench.cache_bench import (
    ROOT,
    bench_url,
    free_port,
    parse_wrk,
    prepare,
    running,
    server_env,
    shababco_serve,
    wait_for,
)
from bench.suite.paths import READS, generated_ids, mixed_paths, read_paths
from bench.suite.run import raise_open_files
from bench.tools.preflight import command_path, require_commands
from bench.tools.wrk_lua import write_script
from shababco.catalog.models import Event

DATABASE = "shababco_overload_bench"
SERVER_CORE, WRK_CORE = "1", "0"
TIMEOUT_S = 2  # wrk's default: a slower answer is a socket error (a timeout), not a latency
TARGET_P99_MS = 1000.0
TARGET_ADMITTED_RATIO = 0.9
BALANCER_EXAMPLE = ROOT / "deploy" / "haproxy" / "haproxy.cfg"


async def ensure_catalog(url: str, events: int) -> None:
    """The benchmark's database with `events` events, loaded unless it holds them already."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            count = await conn.scalar(select(func.count()).select_from(Event))
    except Exception:  # no database, or not migrated yet
        count = None
    finally:
        await engine.dispose()
    if count != events:
        print(f"loading {events} events ...", flush=True)
        await prepare(url, events)


def pinned(core: str, command: list[str]) -> list[str]:
    return ["taskset", "-c", core, *command]


def wrk(url: str, connections: int, seconds: int, script: Path) -> dict[str, float]:
    """bench.cache_bench's wrk, pinned to its own core."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", f"--timeout={TIMEOUT_S}s"]
    command += ["--latency", "-s", str(script), url]
    done = subprocess.run(pinned(WRK_CORE, command), capture_output=True, text=True, check=True)
    return parse_wrk(done.stdout)


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process (all its threads) has used so far."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def figures(measured: dict[str, float], seconds: int, cpu: float) -> dict[str, Any]:
    admitted = measured["requests"] - measured["non_2xx"]
    return {
        "rps": measured["rps"],
        "admitted_rps": round(admitted / seconds, 1),
        "status_503": measured["non_2xx"],
        "p50_ms": measured["p50_ms"],
        "p99_ms": measured["p99_ms"],
        "socket_errors": measured["socket_errors"],
        "server_cpu_share": round(cpu / seconds, 3),
        "cpu_ms_per_admitted": round(1000 * cpu / admitted, 3) if admitted else None,
        "refusals_per_admitted": round(measured["non_2xx"] / admitted, 2) if admitted else None,
    }


@contextmanager
def behind_haproxy(server_base: str) -> Iterator[str]:
    """The example load balancer, unchanged but for its addresses, in front of the one server
    (its second server line dropped), on wrk's core; yields the balancer's base URL."""
    port = free_port()
    config = BALANCER_EXAMPLE.read_text().replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    config = "\n".join(line for line in config.splitlines() if "127.0.0.1:8002" not in line)
    config = config.replace("127.0.0.1:8001", server_base.removeprefix("http://"))
    folder = Path(tempfile.mkdtemp(prefix="bench-haproxy-"))
    (folder / "haproxy.cfg").write_text(config + "\n")
    haproxy = command_path("haproxy") or "haproxy"
    command = pinned(WRK_CORE, [haproxy, "-db", "-f", str(folder / "haproxy.cfg")])
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/ready", process)
        yield base
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def peak_and_overload(
    load: Callable[[str, int], dict[str, Any]], base: str, args: argparse.Namespace, label: str
) -> dict[str, Any]:
    peak = load(base, args.peak_connections)
    print(f"{label} peak @ {args.peak_connections}: {peak}", flush=True)
    over = load(base, args.connections)
    print(f"{label} overload @ {args.connections}: {over}", flush=True)
    return {"peak": peak, "overload": over}


def ratio(admitted: float, peak: float) -> float:
    return round(admitted / peak, 3) if peak else 0.0


def run(args: argparse.Namespace) -> dict[str, Any]:
    url = bench_url(DATABASE)
    asyncio.run(ensure_catalog(url, args.events))
    rng = random.Random(7)
    ids = generated_ids(args.events, 1000, rng)
    paths = mixed_paths({read: read_paths(read, ids, rng) for read in READS})
    folder = Path(tempfile.mkdtemp(prefix="bench-overload-"))
    script = write_script(folder, "mixed", paths)
    env = server_env(url, "", CACHE_TTL_LIST="0", CACHE_TTL_DETAIL="0", ACCESS_LOG="false")
    env |= {"RECONCILE_INTERVAL_SECONDS": "0", **dict(args.env)}
    results: dict[str, Any] = {"events": args.events, "seconds": args.seconds}
    with running(pinned(SERVER_CORE, shababco_serve()), env, "/health") as (direct, server):

        def load(base: str, connections: int) -> dict[str, Any]:
            wrk(base + "/", connections, 2, script)  # warm-up: connections, plans
            before = cpu_seconds(server.pid)
            measured = wrk(base + "/", connections, args.seconds, script)
            return figures(measured, args.seconds, cpu_seconds(server.pid) - before)

        results |= peak_and_overload(load, direct, args, "direct")
        if args.haproxy:
            with behind_haproxy(direct) as balancer:
                results["behind_haproxy"] = peak_and_overload(load, balancer, args, "haproxy")
    peak = results["peak"]["admitted_rps"]
    results["admitted_vs_peak"] = ratio(results["overload"]["admitted_rps"], peak)
    results["targets_met"] = met(results["overload"], results["admitted_vs_peak"])
    edge = results.get("behind_haproxy")
    if edge is not None:
        edge["admitted_vs_peak"] = ratio(edge["overload"]["admitted_rps"], peak)
        edge["admitted_vs_peak_behind_haproxy"] = ratio(
            edge["overload"]["admitted_rps"], edge["peak"]["admitted_rps"]
        )
        edge["targets_met"] = met(edge["overload"], edge["admitted_vs_peak_behind_haproxy"])
    return results


def met(over: dict[str, Any], admitted_vs_peak: float) -> dict[str, bool]:
    return {
        "zero_socket_errors": over["socket_errors"] == 0,
        "p99_at_most_1s": over["p99_ms"] <= TARGET_P99_MS,
        "admitted_within_10pct_of_peak": admitted_vs_peak >= TARGET_ADMITTED_RATIO,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per load")
    parser.add_argument("--peak-connections", type=int, default=50)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument(
        "--haproxy",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure behind the example HAProxy configuration",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        type=lambda s: tuple(s.split("=", 1)),
        help="NAME=VALUE for the server (repeatable), e.g. HTTP_MAX_IN_FLIGHT=64",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    require_commands("wrk", "taskset", *(["haproxy"] if args.haproxy else []))
    raise_open_files()
    print(json.dumps(run(args), indent=2))


if __name__ == "__main__":
    main()
