"""Cached read throughput against a bare Starlette endpoint and the original plan, and
webhook-to-visible latency across two processes.

    apt-get install -y wrk redis-server     # this benchmark NEEDS `wrk` and `redis-server`
    .venv/bin/python -m bench.cache_bench [--events 2000] [--seconds 5] [--updates 100]

One run on one machine, reported as ratios (the machine's speed drifts). Loads generated events
into `shababco_cache_bench` on DATABASE_URL's server (or the local one), starts a Redis of its own
on a free port, and three single-worker uvicorn servers: `shababco serve` (the cache), a bare
Starlette app returning the same bytes from memory (`bench/cache_baseline/bare.py`) and a plain
FastAPI → Redis GET → query → json.dumps → SETEX app (`bench/cache_baseline/plain.py`).

`shababco serve` runs with its DEFAULT settings (the JSON access log on, LOG_LEVEL info), writing
its logs to a file in the temporary folder, as production writes them to a pipe or a file. Every
server is pinned to CPU 1 and `wrk -t1` to CPU 0 (`taskset`), so that the load generator does not
take the server's core. Each is loaded at 100 and 1,000 connections on a list and a detail, twice,
interleaved; the better of the two runs counts. Then a second `shababco serve` joins, and signed
product updates are posted to the first while the second is polled until it shows them. Writes
bench/results/cache.{md,json}.
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
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bench.catalog_data import product
from bench.catalog_reads import load
from bench.server_time import scrape_buckets, server_times
from bench.tools.preflight import require_commands
from shababco.database.engines import async_url
from shababco.database.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DATABASE = "shababco_cache_bench"
SECRET = "bench-secret"
SHOP = "shababco-bench.myshopify.com"
TARGET_RATIO = 0.8
SERVER_CPU, LOAD_CPU = "1", "0"
ROUNDS = 2
TARGET_VISIBLE_P99_MS = 100.0
TARGET_SERVER_P50_MS = 1.0
ENDPOINTS = {"list": "/events", "detail": "/events/{event_id}"}
ORDER = ("bare starlette", "shababco cache", "fastapi+redis")
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def bench_url(database: str = DATABASE) -> str:
    """DATABASE_URL's server (or the local one), on a database of this benchmark's own."""
    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    return make_url(async_url(base)).set(database=database).render_as_string(False)


async def prepare(url: str, events: int) -> None:
    """A new database at `url`, migrated and loaded with `events` generated events."""
    name = make_url(url).database
    admin_url = make_url(url).set(database="postgres")
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    await admin.dispose()
    engine = create_async_engine(url)
    await upgrade(engine)
    await load(engine, events)
    await engine.dispose()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def pinned(command: list[str], cpu: str) -> list[str]:
    """`command` on one CPU, when `taskset` is there (and the machine has that CPU)."""
    if shutil.which("taskset") is None or (os.cpu_count() or 1) <= int(cpu):
        return command
    return ["taskset", "-c", cpu, *command]


@contextmanager
def running(
    command: list[str], env: dict[str, str], probe: str, log: Path | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run a server on SERVER_CPU until the block ends, its standard error to `log` when given;
    yields its base URL and its process."""
    port = free_port()
    argv = pinned([part.replace("{port}", str(port)) for part in command], SERVER_CPU)
    base = f"http://127.0.0.1:{port}"
    stderr = log.open("ab") if log is not None else None
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        wait_for(base + probe, process)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        if stderr is not None:
            stderr.close()


@contextmanager
def started(
    command: list[str], env: dict[str, str], probe: str, log: Path | None = None
) -> Iterator[str]:
    """Run a server until the block ends; yields its base URL."""
    with running(command, env, probe, log) as (base, _):
        yield base


def uvicorn(app: str) -> list[str]:
    # As `shababco serve` runs: one worker, no access log, uvicorn's default loop and parser.
    options = ["--workers", "1", "--no-access-log", "--log-level", "warning"]
    return [sys.executable, "-m", "uvicorn", app, "--port", "{port}", *options]


def shababco_serve() -> list[str]:
    return [str(Path(sys.executable).parent / "shababco"), "serve", "--port", "{port}"]


def server_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    # The service's defaults: none of its settings comes from the caller's environment.
    ours = ("CACHE_", "REDIS_", "LOG_", "ACCESS_LOG")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    return env | {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SHOPIFY_WEBHOOK_SECRET": SECRET,
        "SHOPIFY_SHOP": SHOP,
        "SHOP_CURRENCY": "SAR",
        "PYTHONPATH": str(ROOT),
        **extra,
    }


def milliseconds(text: str | None) -> float:
    """wrk's `4.83ms`, `812.00us`, `1.20s` in milliseconds; NaN when wrk printed none."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", (text or "").strip())
    return float(match[1]) * UNITS[match[2]] if match else float("nan")


def wrk(
    url: str, connections: int, seconds: int, script: Path | None = None, timeout: int = 2
) -> dict[str, float]:
    """Throughput and latency percentiles of `url` under `connections` keep-alive connections.

    `script` is a wrk Lua script (the paths it rotates, its pacing); `timeout` in seconds is how
    long a response may take before wrk counts it as a timeout instead of a latency.
    """
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", f"--timeout={timeout}s"]
    command = pinned(
        [*command, "--latency", *(["-s", str(script)] if script else []), url], LOAD_CPU
    )
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if "Latency Distribution" not in output:
        print(output, flush=True)
    return parse_wrk(output)


def parse_wrk(output: str) -> dict[str, float]:
    """wrk's summary: req/s, p50/p99 in ms (NaN when absent), socket errors, non-2xx answers."""
    # wrk pads a one-letter unit with a space: `1.20s ` but `4.83ms`.
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", output, re.MULTILINE))
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    done = re.search(r"^\s*(\d+) requests in", output, re.MULTILINE)
    if done and done[1] == "0":
        percentiles = {}  # wrk prints a zero latency when nothing was answered
    return {
        "rps": float(re.findall(r"Requests/sec:\s+([\d.]+)", output)[0]),
        "requests": float(done[1]) if done else float("nan"),
        "p50_ms": milliseconds(percentiles.get("50")),
        "p99_ms": milliseconds(percentiles.get("99")),
        "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
        "non_2xx": int(non_2xx[1]) if non_2xx else 0,
    }


def throughput(bases: dict[str, str], paths: dict[str, str], seconds: int) -> dict[str, Any]:
    """wrk on every target, interleaved per route and connection count; the better of ROUNDS."""
    results: dict[str, Any] = {}
    for connections in (100, 1000):
        for route, path in paths.items():
            row = results.setdefault(f"{route} @ {connections}", {})
            for _ in range(ROUNDS):
                for target, base in bases.items():
                    wrk(base + path, connections, 1)  # warm-up: connections, caches
                    measured = wrk(base + path, connections, seconds)
                    print(f"{route} @ {connections} {target}: {measured}", flush=True)
                    if target not in row or measured["rps"] > row[target]["rps"]:
                        row[target] = measured
    return results


def sign(body: bytes) -> str:
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def update_request(event: dict[str, Any], n: int) -> tuple[bytes, dict[str, str]]:
    """A signed `products/update` delivery renaming `event` to `Update n`."""
    # Now: newer than any earlier run's updates, so that a second run on the database works.
    moment = datetime.now(UTC) + timedelta(microseconds=n)
    raw = json.dumps({**event, "title": f"Update {n}", "updated_at": moment.isoformat()}).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "products/update",
        "X-Shopify-Hmac-Sha256": sign(raw),
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": moment.isoformat(),
    }
    return raw, headers


async def until_title(client: httpx.AsyncClient, url: str, title: str) -> None:
    for _ in range(100_000):
        if (await client.get(url)).json()["title"] == title:
            return
        await asyncio.sleep(0.001)
    raise RuntimeError(f"{url} never showed {title!r}")


async def _visible_at(client: httpx.AsyncClient, url: str, title: str, since: float) -> float:
    await until_title(client, url, title)
    return (time.perf_counter() - since) * 1000


async def visible_latency(writer: str, reader: str, updates: int) -> list[tuple[float, float]]:
    """Post product updates to `writer`; milliseconds until `writer` and `reader` serve each."""
    event = product(7, random.Random(7))
    path = f"/events/{event['id']}"
    latencies = []
    async with httpx.AsyncClient(timeout=10) as client:
        await client.get(reader + path)
        for n in range(updates):
            raw, headers = update_request(event, n)
            posted = time.perf_counter()
            delivered = await client.post(
                f"{writer}/webhooks/products/update", content=raw, headers=headers
            )
            delivered.raise_for_status()
            title = f"Update {n}"
            seen = await asyncio.gather(
                _visible_at(client, writer + path, title, posted),
                _visible_at(client, reader + path, title, posted),
            )
            latencies.append((seen[0], seen[1]))
            await asyncio.sleep(0.02)
    return latencies


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def distribution(samples: list[float]) -> dict[str, float]:
    return {
        "p50": round(statistics.median(samples), 1),
        "p99": round(percentile(samples, 0.99), 1),
        "max": round(max(samples), 1),
    }


@contextmanager
def redis_server() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("bench/cache_bench.py needs redis-server (apt-get install redis-server)")
    port, folder = free_port(), tempfile.mkdtemp(prefix="bench-redis-")
    command = [binary, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", folder]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    time.sleep(0.3)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def snapshot_bodies(base: str, paths: dict[str, str], folder: Path) -> Path:
    """The API's own response bytes, for the bare endpoint to return."""
    bodies = {path: httpx.get(base + path).text for path in paths.values()}
    target = folder / "bodies.json"
    target.write_text(json.dumps(bodies))
    return target


def run(args: argparse.Namespace) -> dict[str, Any]:
    url = bench_url()
    asyncio.run(prepare(url, args.events))
    paths = {"list": "/events", "detail": f"/events/{product(42, random.Random(42))['id']}"}
    folder = Path(tempfile.mkdtemp(prefix="bench-cache-"))
    with redis_server() as redis_url:
        env = server_env(url, redis_url)
        log = folder / "shababco.log"
        with started(shababco_serve(), env, "/health", log) as ours:
            bodies = snapshot_bodies(ours, paths, folder)
            bare_env = env | {"BARE_BODIES": str(bodies)}
            with (
                started(uvicorn("bench.cache_baseline.bare:app"), bare_env, paths["list"]) as bare,
                started(uvicorn("bench.cache_baseline.plain:app"), env, "/docs") as plain,
            ):
                bases = {"bare starlette": bare, "shababco cache": ours, "fastapi+redis": plain}
                before = scrape_buckets(ours)
                loads = throughput(bases, paths, args.seconds)
                server = server_times(before, scrape_buckets(ours), list(ENDPOINTS.values()))
            with started(shababco_serve(), env, "/health", log) as other:
                latencies = asyncio.run(visible_latency(ours, other, args.updates))
    access_lines = sum(1 for line in log.open() if '"shababco.access"' in line)
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "loads": loads,
        "visible_ms": latencies,
        "paths": paths,
        "server_time": server,
        "access_log_lines": access_lines,
    }


def summarize(raw: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    rows = []
    for name, targets in raw["loads"].items():
        ours, bare, plain = (
            targets[k] for k in ("shababco cache", "bare starlette", "fastapi+redis")
        )
        rows.append(
            {
                "load": name,
                "rps": {k: round(v["rps"]) for k, v in targets.items()},
                "p50_ms": {k: v["p50_ms"] for k, v in targets.items()},
                "p99_ms": {k: v["p99_ms"] for k, v in targets.items()},
                "socket_errors": {k: v["socket_errors"] for k, v in targets.items()},
                "non_2xx": {k: v["non_2xx"] for k, v in targets.items()},
                "ratio_to_bare": round(ours["rps"] / bare["rps"], 2),
                "ratio_to_plain": round(ours["rps"] / plain["rps"], 2),
            }
        )
    writer = [pair[0] for pair in raw["visible_ms"]]
    visible = [pair[1] for pair in raw["visible_ms"]]
    spread = [max(0.0, pair[1] - pair[0]) for pair in raw["visible_ms"]]
    return {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "events": args.events,
        "seconds_per_load": args.seconds,
        "access_log_lines": raw["access_log_lines"],
        "paths": raw["paths"],
        "throughput": rows,
        "server_time_ms": raw["server_time"],
        "webhook_to_visible_ms": {
            "updates": len(visible),
            "other_process": distribution(visible),
            "writing_process": distribution(writer),
            "other_minus_writing": distribution(spread),
        },
    }


def write(summary: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "cache.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = [
        "# Response cache",
        "",
        f"`python -m bench.cache_bench --events {summary['events']} "
        f"--seconds {summary['seconds_per_load']}`: one run, {summary['machine']['cpus']} CPUs, "
        f"Python {summary['machine']['python']}; every server is uvicorn with one worker, "
        f"pinned to CPU {SERVER_CPU}; load from `wrk -t1` pinned to CPU {LOAD_CPU}; the better "
        f"of {ROUNDS} interleaved runs. `shababco serve` runs with its default settings: its "
        f"JSON access log on, written to a file ({summary['access_log_lines']} access lines). "
        f"Targets: ratio to bare ≥ {TARGET_RATIO}, webhook → visible p99 ≤ "
        f"{TARGET_VISIBLE_P99_MS:.0f} ms.",
        "",
        "| load | bare req/s | cache req/s | plain req/s | cache/bare | cache/plain "
        "| p50 bare / cache / plain (ms) | p99 bare / cache / plain (ms) "
        "| wrk socket errors bare / cache / plain | non-2xx |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in summary["throughput"]:
        rps = [str(row["rps"][k]) for k in ORDER]
        p50 = " / ".join(f"{row['p50_ms'][k]:.2f}" for k in ORDER)
        p99 = " / ".join(f"{row['p99_ms'][k]:.2f}" for k in ORDER)
        errors = " / ".join(str(row["socket_errors"][k]) for k in ORDER)
        non_2xx = sum(row["non_2xx"].values())
        lines.append(
            f"| {row['load']} | {' | '.join(rps)} | {row['ratio_to_bare']} | "
            f"{row['ratio_to_plain']} | {p50} | {p99} | {errors} | {non_2xx} |"
        )
    lines += [
        "",
        "Server time of the cached reads over all the loads above (warm-ups included), from the "
        "service's own `api_response_time_seconds` histogram (interpolated within buckets), "
        f"target p50 ≤ {TARGET_SERVER_P50_MS:.0f} ms:",
        "",
        "| read | requests | p50 ms | p99 ms | p50 ≤ 1 ms |",
        "|---|---|---|---|---|",
    ]
    for read, endpoint in ENDPOINTS.items():
        times = summary["server_time_ms"][endpoint]
        met = "met" if times["p50_ms"] <= TARGET_SERVER_P50_MS else "NOT met"
        lines.append(
            f"| {read} | {times['requests']:.0f} | {times['p50_ms']} | {times['p99_ms']} | {met} |"
        )
    visible = summary["webhook_to_visible_ms"]
    lines += [
        "",
        f"Webhook → visible ({visible['updates']} signed `products/update` posted one at a time "
        "to one `serve`; both processes polled until they answer the new title), ms:",
        "",
        "| measured | p50 | p99 | max |",
        "|---|---|---|---|",
    ]
    for name, label in (
        ("other_process", "POST → visible through the other process"),
        ("writing_process", "POST → visible through the process that took the webhook"),
        ("other_minus_writing", "the other process's lag behind the writing one"),
    ):
        numbers = visible[name]
        lines.append(f"| {label} | {numbers['p50']} | {numbers['p99']} | {numbers['max']} |")
    lines.append("")
    (RESULTS / "cache.md").write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--updates", type=int, default=100)
    args = parser.parse_args()
    require_commands("wrk", "redis-server")
    summary = summarize(run(args), args)
    write(summary)
    print((RESULTS / "cache.md").read_text())


if __name__ == "__main__":
    main()
