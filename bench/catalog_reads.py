"""Uncached read latency at 100k events / 500k tickets, and the query plans behind it.

    .venv/bin/python -m bench.catalog_reads [--events 100000] [--requests 400] [--rounds 3]
        [--reference SRC]

Loads generated products through the real normalizer and upsert into a database of its own
(`shababco_bench` on DATABASE_URL's server, or the local server), checks with EXPLAIN that no
read scans a table sequentially (the statements: bench.catalog_explain), then times sequential
HTTP requests against `shababco serve` (one worker, no cache) on a real socket, through a lean
client (bench.tools.lean_client) so that the time is the server's rather than httpx's. Writes
bench/results/catalog_reads.{md,json} and bench/results/catalog_explain.txt. The targets are
judged on this code's server alone, after an untimed warm-up round, over several rounds of other
requests (`--rounds`). With `--reference SRC` (another checkout's `src/`, e.g. of the last commit
on main: `git worktree add /tmp/old <commit>`) the same requests then run again with a second server
importing that code beside this one, every request going to both in turn, and the report gives
each p50/p95 as a ratio to it: this VM's speed drifts by 2× within minutes, and interleaving
the two servers' requests makes the drift fall on both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Select, Text, cast, func, select, text
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bench.catalog_data import AR_WORDS, CATEGORIES, EN_WORDS, products
from bench.catalog_explain import (
    count_statement,
    event_statement,
    first_page_statement,
    page_statement,
    tickets_of_statement,
)
from bench.tools.lean_client import LeanClient
from shababco.catalog.columns import listed
from shababco.catalog.models import Event
from shababco.catalog.params import Cursor, EventFilters, EventListParams, Sort
from shababco.database.engines import async_url
from shababco.database.migrate import upgrade
from shababco.shopify.mirror.apply import upsert_products
from shababco.shopify.mirror.products import normalize_product

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BATCH = 1000
TARGET_P95_MS = 10.0


def bench_url() -> str:
    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    return make_url(async_url(base)).set(database="shababco_bench").render_as_string(False)


async def ensure_database(url: str) -> None:
    admin = create_async_engine(
        make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    async with admin.connect() as conn:
        exists = await conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = 'shababco_bench'")
        )
        if not exists:
            await conn.execute(text("CREATE DATABASE shababco_bench"))
    await admin.dispose()


async def load(engine: AsyncEngine, count: int) -> float | None:
    """Fill the catalog through normalize + upsert; returns seconds, or None if already full."""
    async with engine.connect() as conn:
        if await conn.scalar(select(func.count()).select_from(Event)) == count:
            return None
    started = time.perf_counter()
    batch = []
    for product in products(count):
        batch.append(normalize_product(product, currency="SAR"))
        if len(batch) == BATCH:
            async with engine.begin() as conn:
                await upsert_products(conn, batch)
            batch.clear()
    if batch:
        async with engine.begin() as conn:
            await upsert_products(conn, batch)
    seconds = time.perf_counter() - started
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))
    return seconds


def explained_statements(rng: random.Random) -> dict[str, Select[Any]]:
    default = EventListParams()
    search_en = EventFilters(search="summer festival")
    return {
        "list: default (start_date)": page_statement(default),
        "list: count": count_statement(default.filters),
        "list: sort=title page 50": page_statement(EventListParams(sort=Sort.TITLE, page=50)),
        "list: sort=-price": page_statement(EventListParams(sort=Sort.PRICE_DESC)),
        "list: category, sort=title page 3": page_statement(
            EventListParams(
                sort=Sort.TITLE, page=3, filters=EventFilters(categories=("festivals",))
            )
        ),
        "list: category + dates": page_statement(
            EventListParams(
                filters=EventFilters(categories=("opera",), starts_after=products_start(30))
            )
        ),
        "list: category count": count_statement(EventFilters(categories=("opera",))),
        "search: two words (GIN)": first_page_statement(
            EventListParams(filters=search_en, sort=Sort.RELEVANCE)
        ),
        "search: two words, count": count_statement(search_en),
        "search: one word, 18k matches (postings)": first_page_statement(
            EventListParams(filters=EventFilters(search="أوبرا"), sort=Sort.RELEVANCE)
        ),
        "search: one word, typo (postings)": first_page_statement(
            EventListParams(filters=EventFilters(search="Shasa"), sort=Sort.RELEVANCE)
        ),
        "search: arabic with prefix (postings)": first_page_statement(
            EventListParams(filters=EventFilters(search="بالمهرجان"), sort=Sort.RELEVANCE)
        ),
        "search: a short prefix, 600 terms (postings)": first_page_statement(
            EventListParams(filters=EventFilters(search="ro"), sort=Sort.RELEVANCE)
        ),
        "search: a short prefix after a cursor (postings, probed)": first_page_statement(
            EventListParams(
                filters=EventFilters(search="ro"),
                sort=Sort.RELEVANCE,
                cursor=Cursor(Sort.RELEVANCE, "1", 8_000_000_050_000),
            )
        ),
        "search: one word, sort=-price (GIN, keys in event_search)": first_page_statement(
            EventListParams(filters=EventFilters(search="gala"), sort=Sort.PRICE_DESC)
        ),
        "search: one word, a category (GIN)": first_page_statement(
            EventListParams(
                filters=EventFilters(search="festival", categories=("festivals",)),
                sort=Sort.RELEVANCE,
            )
        ),
        "detail: by id": event_statement(str(8_000_000_000_000 + 4321)),
        "detail: by handle": event_statement("event-4321"),
        "tickets: by id": tickets_of_statement(str(8_000_000_000_000 + 4321)),
    }


def products_start(days: int) -> Any:
    from datetime import UTC, datetime, timedelta

    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=days)


async def explain_all(engine: AsyncEngine) -> tuple[str, list[str]]:
    """EXPLAIN ANALYZE every read; returns the report and the reads that scanned sequentially."""
    report, offenders = [], []
    dialect = asyncpg_dialect()  # type: ignore[no-untyped-call]
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        for name, statement in explained_statements(random.Random(1)).items():
            # The SQL and positional values asyncpg gets, IN lists expanded.
            expanded = statement.compile(dialect=dialect).construct_expanded_state()
            sql, params = expanded.statement, expanded.positional_parameters
            rows = await raw.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *params)
            plan = "\n".join(row[0] for row in rows)
            report.append(f"== {name}\n{plan}\n")
            if re.search(r"Seq Scan on (events|tickets|event_search|search_\w+)\b", plan):
                offenders.append(name)
    return "\n".join(report), offenders


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def typo(word: str, rng: random.Random) -> str:
    """The word with one letter dropped (a common typing slip)."""
    index = rng.randrange(1, len(word))
    return word[:index] + word[index + 1 :]


def search_query(rng: random.Random, titles: list[str]) -> str:
    """A mix of what people type: a performer, a misspelt one, a kind of event, Arabic forms."""
    title = rng.choice(titles)
    roll = rng.random()
    arabic = any("\u0600" <= ch <= "\u06ff" for ch in title)
    name = title.split()[-1] if arabic else title.split()[0]
    if roll < 0.35:
        return name
    if roll < 0.55:
        return typo(name, rng)
    if roll < 0.75:
        return " ".join(rng.sample(EN_WORDS, 2))
    return rng.choice(["ب", "و", "بال", ""]) + rng.choice(AR_WORDS).removeprefix("ال")


def prefix_query(rng: random.Random, titles: list[str]) -> str:
    """The first two to four letters of a word of a title: a search typed as you go."""
    word = rng.choice(rng.choice(titles).split())
    return word[: rng.randint(2, 4)]


PathMaker = Callable[[random.Random], str]
Sample = tuple[float, int]  # milliseconds, the page's total
Samples = dict[str, list[Sample]]  # per read
Figures = dict[str, dict[str, float]]
NEXT_PAGE = "search, next page"


def scenarios(count: int, titles: list[str]) -> dict[str, PathMaker]:
    def some_id(rng: random.Random) -> int:
        index = rng.randrange(count)
        return 8_000_000_000_000 + (index + 1 if index % 20 == 0 else index)  # an active one

    sorts = ["start_date", "-start_date", "title", "price", "-price"]
    return {
        "list": lambda rng: (
            f"/events?page={rng.randrange(1, 50)}&sort={rng.choice(sorts)}"
            + (f"&category={rng.choice(CATEGORIES)}" if rng.random() < 0.5 else "")
            + (f"&starts_after=2026-{rng.randrange(1, 13):02d}-01" if rng.random() < 0.25 else "")
        ),
        "detail": lambda rng: (
            f"/events/{some_id(rng)}"
            if rng.random() < 0.5
            else f"/events/event-{some_id(rng) - 8_000_000_000_000}"
        ),
        "search": lambda rng: "/events?search=" + search_query(rng, titles),
        "search, typed prefix": lambda rng: "/events?search=" + prefix_query(rng, titles),
        "tickets": lambda rng: f"/events/{some_id(rng)}/tickets",
        # The rest of a search, scrolled: its path is a first page's, whose cursor `measure`
        # fetches (untimed) before timing the page after it.
        NEXT_PAGE: lambda rng: "/events?search=" + search_query(rng, titles),
    }


def _next_page(client: LeanClient, first_page: PathMaker) -> PathMaker:
    """Paths of the second page of searches that have one, by their first page's cursor."""

    def make(rng: random.Random) -> str:
        while True:
            path = first_page(rng)
            status, body = client.get(path)
            cursor = json.loads(body)["next_cursor"] if status == 200 else None
            if cursor:
                return f"{path}&cursor={cursor}"

    return make


BROAD_SEARCH = 1000  # matches above which a search is reported apart


def _figures(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(percentile(samples, 0.95), 2),
        "p99_ms": round(percentile(samples, 0.99), 2),
        "requests": len(samples),
    }


def _split_search(samples: list[Sample]) -> Figures:
    """Search figures apart for narrow and broad searches (by the number of matches)."""
    groups = {
        f"search, ≤ {BROAD_SEARCH:,} matches": [ms for ms, n in samples if n <= BROAD_SEARCH],
        f"search, > {BROAD_SEARCH:,} matches": [ms for ms, n in samples if n > BROAD_SEARCH],
    }
    return {label: _figures(chosen) for label, chosen in groups.items() if chosen}


def summarize(samples: Samples) -> Figures:
    """Per read: latency figures; searches also split by how many events they match."""
    figures: Figures = {}
    for read, taken in samples.items():
        figures[read] = _figures([ms for ms, _ in taken])
        if read == "search":
            figures |= _split_search(taken)
    return figures


def pooled(rounds: list[Samples]) -> Samples:
    """The samples of several rounds together, per read."""
    merged: Samples = {}
    for samples in rounds:
        for read, taken in samples.items():
            merged.setdefault(read, []).extend(taken)
    return merged


def _timed_get(client: LeanClient, path: str, read: str) -> Sample:
    """Milliseconds for one 200 answer, and the page's total (0 for tickets)."""
    started = time.perf_counter()
    status, body = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    if status != 200:
        raise RuntimeError(f"{path} answered {status}: {body!r}")
    return elapsed, json.loads(body).get("total", 0) if read != "tickets" else 0


def measure(
    ports: list[int], count: int, requests: int, titles: list[str], seed: int = 42
) -> list[Samples]:
    """Per server, per read: the timed requests (paths drawn from `seed`).

    Every path goes to each server in turn, the first alternating, so a machine whose speed
    drifts during the run slows every server alike.
    """
    rng = random.Random(seed)
    results: list[Samples] = [{} for _ in ports]
    clients = [LeanClient("127.0.0.1", port) for port in ports]
    try:
        for read, make_path in scenarios(count, titles).items():
            if read == NEXT_PAGE:
                make_path = _next_page(clients[0], make_path)
            for _ in range(20):
                path = make_path(rng)
                for client in clients:
                    client.get(path)
            for result in results:
                result[read] = []
            for turn in range(requests):
                path = make_path(rng)
                order = range(len(ports)) if turn % 2 == 0 else reversed(range(len(ports)))
                for index in order:
                    results[index][read].append(_timed_get(clients[index], path, read))
    finally:
        for client in clients:
            client.close()
    return results


def start_server(url: str, port: int, source: Path | None = None) -> subprocess.Popen[bytes]:
    """`shababco serve` without its cache; importing `source` (a `src/` folder) when given."""
    env = {
        **os.environ,
        **({"PYTHONPATH": str(source)} if source else {}),
        "DATABASE_URL": url,
        "REDIS_URL": "",
        "CACHE_TTL_LIST": "0",
        "CACHE_TTL_DETAIL": "0",
    }
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "shababco"), "serve", "--port", str(port)], env=env
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("server did not start")


def write_results(summary: dict[str, Any], explain: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "catalog_reads.json").write_text(json.dumps(summary, indent=2) + "\n")
    (RESULTS / "catalog_explain.txt").write_text(explain)
    rows = "\n".join(
        f"| {name} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | "
        f"{'met' if r['p95_ms'] <= TARGET_P95_MS else 'NOT met'} | {r['requests']} |"
        for name, r in summary["latency"].items()
    )
    load = summary["load_seconds"]
    command = (
        f".venv/bin/python -m bench.catalog_reads --events {summary['events']}"
        f" --requests {summary['requests']} --rounds {len(summary['rounds'])}"
        + (f" --reference {summary['reference']['source']}" if summary.get("reference") else "")
    )
    seq_scans = ", ".join(summary["seq_scans"]) or "none"
    load_text = f"{load:.0f} s ({summary['events'] / load:,.0f} events/s)" if load else "reused"
    (RESULTS / "catalog_reads.md").write_text(
        f"""# Uncached reads at {summary["events"]:,} events ({summary["tickets"]:,} tickets)

Command: `{command}`
Machine: {summary["machine"]}. One `shababco serve` worker, no cache, sequential HTTP requests
over loopback through a lean keep-alive client (client time: includes HTTP, JSON and both SQL
statements, not httpx's own overhead). The figures pool {len(summary["rounds"])} rounds of
{summary["requests"]} requests per read, each round drawing other paths:

| read | p50 ms | p95 ms | p99 ms | p95 ≤ {TARGET_P95_MS:g} ms | requests |
|---|---|---|---|---|---|
{rows}
{rounds_table(summary["rounds"])}
EXPLAIN ANALYZE of every read: `catalog_explain.txt`; sequential scans: {seq_scans}.
Load through normalize + upsert: {load_text}.
{reference_table(summary)}"""
    )


async def prepare(url: str, count: int) -> tuple[float | None, str, list[str], list[str]]:
    await ensure_database(url)
    engine = create_async_engine(url)
    await upgrade(engine)
    seconds = await load(engine, count)
    explain, offenders = await explain_all(engine)
    async with engine.connect() as conn:
        # The same titles in every run of the same data, so that runs compare.
        some = func.md5(cast(Event.shopify_product_id, Text))
        sample = select(Event.title).where(listed()).order_by(some).limit(500)
        titles = list((await conn.execute(sample)).scalars())
    await engine.dispose()
    return seconds, explain, offenders, titles


@dataclass
class Timings:
    alone: list[Samples]  # per round, this code's server alone: what the targets are judged on
    side_by_side: tuple[Samples, Samples] | None  # this code's and the reference's, in turn


WARM_UP_SEED = 41  # the timed rounds draw from 42 on


def timed(url: str, args: argparse.Namespace, titles: list[str]) -> Timings:
    """This code's server alone, `args.rounds` times, each round drawing other paths (a repeated
    path finds its pages in PostgreSQL's buffers); then, when a reference is given, the first
    round's paths again with both servers side by side, for the ratios. Each server first
    answers an untimed round: a process builds, prepares and plans each statement shape on its
    first use (20-35 ms for a search), which the 20 requests `measure` warms each read with do
    not cover."""

    def warm_up(port: int) -> None:
        measure([port], args.events, args.requests, titles, seed=WARM_UP_SEED)

    servers = [start_server(url, args.port)]
    try:
        warm_up(args.port)
        alone = [
            measure([args.port], args.events, args.requests, titles, seed=42 + turn)[0]
            for turn in range(args.rounds)
        ]
        if args.reference is None:
            return Timings(alone, None)
        servers.append(start_server(url, args.port + 1, args.reference))
        warm_up(args.port + 1)
        ours, theirs = measure([args.port, args.port + 1], args.events, args.requests, titles)
        return Timings(alone, (ours, theirs))
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)


def rounds_table(rounds: list[Figures]) -> str:
    """Each read's p95 in each round: how far one round's figure moves on this machine."""
    rows = "\n".join(
        f"| {read} | " + " | ".join(str(figures[read]["p95_ms"]) for figures in rounds) + " |"
        for read in rounds[0]
        if all(read in figures for figures in rounds)
    )
    numbers = " | ".join(str(turn + 1) for turn in range(len(rounds)))
    return (
        "\nThe p95 (ms) of each round alone:\n\n"
        f"| read | {numbers} |\n|---|{'---|' * len(rounds)}\n{rows}\n"
    )


def reference_table(summary: dict[str, Any]) -> str:
    """Each read's p50 and p95 beside the reference server's, both measured side by side."""
    reference = summary.get("reference")
    if not reference:
        return ""
    rows = []
    for name, ours in reference["paired"].items():
        theirs = reference["latency"].get(name)
        if theirs is None:
            continue
        rows.append(
            f"| {name} | {ours['p50_ms']} | {ours['p95_ms']} | {theirs['p50_ms']} | "
            f"{theirs['p95_ms']} | {ours['p50_ms'] / theirs['p50_ms']:.2f}× | "
            f"{ours['p95_ms'] / theirs['p95_ms']:.2f}× |"
        )
    return (
        f"\nThen the same requests again, each sent in turn to this code's server and to one"
        f" importing `{reference['source']}` (the reference), and this code's figures as a ratio"
        " of its (below 1: faster). Compare the ratios, not these figures with the run alone"
        " above: here each request runs twice in a row, so the server going second finds its"
        " pages in PostgreSQL's buffers, and the run alone came at another minute of a machine"
        " whose speed drifts:\n\n"
        "| read | p50 ms | p95 ms | reference p50 ms | reference p95 ms | p50 ratio | p95 ratio |\n"
        "|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=400, help="per read and round")
    parser.add_argument("--rounds", type=int, default=3, help="of this code's server alone")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--reference", type=Path, help="a src/ folder to compare against")
    args = parser.parse_args()
    url = bench_url()
    seconds, explain, offenders, titles = asyncio.run(prepare(url, args.events))
    timings = timed(url, args, titles)
    summary = {
        "events": args.events,
        "tickets": args.events * 5,
        "requests": args.requests,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "load_seconds": seconds,
        "seq_scans": offenders,
        "latency": summarize(pooled(timings.alone)),
        "rounds": [summarize(samples) for samples in timings.alone],
        "reference": {
            "source": str(args.reference),
            "paired": summarize(timings.side_by_side[0]),
            "latency": summarize(timings.side_by_side[1]),
        }
        if timings.side_by_side
        else None,
    }
    write_results(summary, explain)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
