"""Every performance target against the committed benchmark results, in one table.

    .venv/bin/python -m bench.targets

Reads bench/results/{cache,catalog_reads,uncached,overload,webhooks,sync,suite}.json (the
simulator's own figures have no target) and writes bench/targets.md: target, measured, margin,
met / NOT met, and the source file.
bench.suite runs it at its end.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
Row = dict[str, Any]


def target_row(target: str, measured: str, margin: str, met: bool) -> Row:
    """One target: what was measured, how far from the limit, and whether it is met."""
    return {"target": target, "measured": measured, "margin": margin, "met": met}


def _at_most(target: str, value: float, limit: float, unit: str) -> Row:
    return target_row(
        target, f"{value:g} {unit}", f"{value / limit:.2f}× the limit", value <= limit
    )


def _at_least(target: str, value: float, floor: float, unit: str) -> Row:
    return target_row(
        target, f"{value:g} {unit}", f"{value / floor:.2f}× the floor", value >= floor
    )


def cache_targets(data: dict[str, Any]) -> list[Row]:
    rows = [
        _at_least(
            f"cached {load['load']}: ≥ 0.7 × bare Starlette throughput",
            load["ratio_to_bare"],
            0.7,
            "× bare",
        )
        for load in data["throughput"]
    ]
    for endpoint, times in data["server_time_ms"].items():
        rows.append(
            _at_most(f"cached {endpoint}: p50 server time ≤ 1 ms", times["p50_ms"], 1, "ms")
        )
    visible = data["webhook_to_visible_ms"]["other_process"]["p99"]
    rows.append(_at_most("webhook → visible in every process: p99 ≤ 100 ms", visible, 100, "ms"))
    return rows


def catalog_targets(data: dict[str, Any]) -> list[Row]:
    return [
        _at_most(
            f"uncached {read} at {data['events']:,} events: p95 ≤ 10 ms",
            data["latency"][read]["p95_ms"],
            10,
            "ms",
        )
        for read in ("list", "detail", "search", "tickets")
        if read in data["latency"]
    ]


def webhook_targets(data: dict[str, Any]) -> list[Row]:
    ingest = data["ingest"]
    rows = [
        _at_least("webhook ingest ≥ 500/s", ingest["rate_per_s"], 500, "/s"),
        _at_most("webhook ingest: p99 ack ≤ 50 ms", ingest["ack_p99_ms"], 50, "ms"),
    ]
    under_load = data.get("under_read_load", {}).get("this code")
    if under_load:
        connections = f"{under_load['read_connections']:,}"
        rows.append(
            _at_most(
                f"webhook on a new connection while {connections} connections read: p99 ack ≤ 1 s",
                under_load["webhooks"]["p99_ms"],
                1000,
                "ms",
            )
        )
    return rows


def sync_targets(data: dict[str, Any]) -> list[Row]:
    pages, bulk = data["pages"], data["bulk"]
    return [
        _at_most(
            f"initial sync of {data['events']:,} events (pages): ≤ 1.2 × the rate-limit bound",
            round(pages["ratio_to_bound"], 3),
            1.2,
            "× bound",
        ),
        _at_most(
            f"initial sync of {data['events']:,} events (bulk operation): ≤ 60 s",
            round(bulk["seconds"], 1),
            60,
            "s",
        ),
    ]


def uncached_targets(data: dict[str, Any]) -> list[Row]:
    """Uncached reads against the hand-written reference service, measured in the same run."""
    rows = []
    for load in data["results"]:
        name, rps, p99 = load["load"], load["rps_ratio"], load["p99_ratio"]
        if name == "list":
            rows.append(_at_least("uncached list: ahead of the reference", rps, 1.0, "× reference"))
            continue
        rows.append(
            target_row(
                f"uncached {name} @ {data['connections']}: ≥ 1.0 × the reference's req/s,"
                " p99 ≤ 1.5 × its p99",
                f"{rps:g} × req/s, {p99:g} × p99",
                f"{rps:.2f}× the floor, {p99 / 1.5:.2f}× the p99 limit",
                rps >= 1.0 and p99 <= 1.5,
            )
        )
    return rows


def overload_targets(data: dict[str, Any]) -> list[Row]:
    """The uncached server offered more than it can serve (1,000 connections): alone, then
    behind the example HAProxy, against the unloaded peak measured the same way."""
    rows = _overload_rows("overload", data["overload"], data["admitted_vs_peak"])
    edge = data.get("behind_haproxy")
    if edge is not None:
        where = "overload behind the example HAProxy"
        rows += _overload_rows(where, edge["overload"], edge["admitted_vs_peak_behind_haproxy"])
    return rows


def _overload_rows(where: str, load: dict[str, Any], admitted_vs_peak: float) -> list[Row]:
    return [
        target_row(
            f"{where}: zero socket errors",
            f"{load['socket_errors']} errors, {load['status_503']} answered 503",
            "—",
            load["socket_errors"] == 0,
        ),
        _at_most(f"{where}: p99 of all answers ≤ 1 s", load["p99_ms"], 1000, "ms"),
        _at_least(
            f"{where}: admitted throughput ≥ 0.9 × the unloaded peak",
            admitted_vs_peak,
            0.9,
            "× peak",
        ),
    ]


def suite_targets(data: dict[str, Any]) -> list[Row]:
    return list(data["targets"])


SOURCES: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "cache.json": cache_targets,
    "catalog_reads.json": catalog_targets,
    "uncached.json": uncached_targets,
    "overload.json": overload_targets,
    "webhooks.json": webhook_targets,
    "sync.json": sync_targets,
    "suite.json": suite_targets,
}


def collect(results: Path) -> list[Row]:
    """Every target of every results file; a missing or unreadable file is a NOT met row."""
    rows = []
    for name, extract in SOURCES.items():
        path = results / name
        if not path.exists():
            rows.append(
                target_row(f"(targets of {name})", "not run", "—", False) | {"source": name}
            )
            continue
        try:
            found = extract(json.loads(path.read_text()))
        except (KeyError, TypeError, ValueError) as error:
            found = [target_row(f"(targets of {name})", f"unreadable: {error!r}", "—", False)]
        rows += [row | {"source": name} for row in found]
    return rows


def render(rows: list[Row]) -> str:
    met = sum(row["met"] for row in rows)
    lines = [
        "# Performance targets",
        "",
        "Generated by `.venv/bin/python -m bench.targets` from the committed "
        f"`bench/results/*.json`: {met} of {len(rows)} met.",
        "",
        "Each file is one run at its own time on a shared two-core VM whose speed drifts: an "
        "absolute figure (ms, MB) compares poorly across files, a ratio within one run does not "
        "(`catalog_reads.md` also times the previous code in the same run).",
        "",
        "| target | measured | ratio / margin | met | source |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        status = "met" if row["met"] else "NOT met"
        lines.append(
            f"| {row['target']} | {row['measured']} | {row['margin']} | {status} | "
            f"`{row['source']}` |"
        )
    return "\n".join([*lines, ""])


def main() -> None:
    (ROOT / "bench" / "targets.md").write_text(render(collect(RESULTS)))
    print(f"wrote {ROOT / 'bench' / 'targets.md'}")


if __name__ == "__main__":
    main()
