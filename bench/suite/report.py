"""The suite's results: the summary, the targets it measures, suite.md and the README block."""

from __future__ import annotations

import math
from typing import Any

from bench.targets import target_row

TARGET_RATIO = 300.0
TARGET_FIXED_P99_MS = 50.0
TARGET_RSS_MB = 150.0
CONFIGS = ("cold", "warm")
README_START, README_END = "<!-- suite:start -->", "<!-- suite:end -->"


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _clean(figures: dict[str, Any]) -> dict[str, Any]:
    return {key: _number(value) for key, value in figures.items()}


def ratio(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any] | None:
    """old p50 / new p50; a lower bound when the old p50 is one."""
    if not old or old.get("p50_ms") is None or not new.get("p50_ms"):
        return None
    value = old["p50_ms"] / new["p50_ms"]
    return {"value": round(value, 1), "lower_bound": bool(old["p50_lower_bound"])}


def suite_targets(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Every performance target this suite measures, met or not, with the measured figure."""
    found = []
    for config in CONFIGS:
        cells = [
            (row[f"ratio_old_{config}_p50"], f"{read} @ {row['users']:,}")
            for read, rows in summary["reads"].items()
            for row in rows
            if row.get(f"ratio_old_{config}_p50")
        ]
        if cells:
            worst, where = min(cells, key=lambda cell: cell[0]["value"])
            found.append(
                target_row(
                    f"≥ {TARGET_RATIO:.0f}× lower p50 than the old architecture ({config}, "
                    f"{len(cells)} cells)",
                    f"lowest {format_ratio(worst)} at {where}",
                    f"{worst['value'] / TARGET_RATIO:.2f}× the target"
                    + (
                        " (a lower bound: the old p50 was censored)" if worst["lower_bound"] else ""
                    ),
                    worst["value"] >= TARGET_RATIO,
                )
            )
    fixed = summary["fixed_rate"]
    for config in CONFIGS:
        figures = fixed.get(config)
        if not figures:
            continue
        errors = figures["socket_errors"] + figures["non_2xx"]
        p99 = figures["p99_ms"]
        found.append(
            target_row(
                f"{fixed['connections']:,} connections at {fixed['rate']:,.0f} req/s: "
                f"p99 ≤ {TARGET_FIXED_P99_MS:.0f} ms, zero errors ({config})",
                f"p99 {format_ms(p99)}, {errors} errors, {figures['rps']:,.0f} req/s",
                f"p99 at {p99 / TARGET_FIXED_P99_MS:.2f}× the limit" if p99 else "no latency",
                p99 is not None and p99 <= TARGET_FIXED_P99_MS and errors == 0,
            )
        )
    # Judged after the closed-loop loads (up to 1,000 connections): the target is about the
    # catalog's size. 10,000 open connections add their buffers (reported, not judged).
    for config, rss in summary["rss_after_closed_loop_mb"].items():
        found.append(
            target_row(
                f"RSS per API process ≤ {TARGET_RSS_MB:.0f} MB ({config}, "
                f"{summary['events_in_database']:,} events, after 1,000 users)",
                f"{rss} MB",
                f"{rss / TARGET_RSS_MB:.2f}× the limit",
                rss <= TARGET_RSS_MB,
            )
        )
    return found


def summarize(
    old: dict[str, dict[str, Any]], new: dict[str, Any], settings: dict[str, Any]
) -> dict[str, Any]:
    reads: dict[str, list[dict[str, Any]]] = {}
    for read in settings["reads"]:
        for users in settings["users"]:
            row: dict[str, Any] = {"users": users, "old": old.get(read, {}).get(str(users))}
            for config in CONFIGS:
                row[config] = _clean(new[config]["reads"][read][str(users)])
                row[f"ratio_old_{config}_p50"] = ratio(row["old"], row[config])
            reads.setdefault(read, []).append(row)
    summary = {
        **settings,
        "events_in_database": new["events_in_database"],
        "reads": reads,
        "fixed_rate": settings["fixed"] | {c: _clean(new[c]["fixed_rate"]) for c in CONFIGS},
        "rss_mb": {c: new[c]["rss_mb"] for c in CONFIGS},
        "rss_after_closed_loop_mb": {c: new[c]["rss_after_closed_loop_mb"] for c in CONFIGS},
    }
    summary["targets"] = suite_targets(summary)
    return summary


def format_ms(ms: float | None, lower_bound: bool = False) -> str:
    if ms is None:
        return "—"
    prefix = "≥ " if lower_bound else ""
    if ms >= 1000:
        return f"{prefix}{ms / 1000:.1f} s"
    return f"{prefix}{ms:.0f} ms" if ms >= 100 else f"{prefix}{ms:.2f} ms"


def format_ratio(value: dict[str, Any] | None) -> str:
    if value is None:
        return "—"
    return f"{'≥ ' if value['lower_bound'] else ''}{value['value']:,.0f}×"


def _old_cell(old: dict[str, Any] | None, key: str) -> str:
    return format_ms(old[f"{key}_ms"], old[f"{key}_lower_bound"]) if old else "not run"


def read_tables(summary: dict[str, Any]) -> list[str]:
    lines = []
    for read, rows in summary["reads"].items():
        lines += [
            f"### {read}",
            "",
            "| users | old p50 | old p99 | cold p50 | cold p99 | warm p50 | warm p99 "
            "| old/warm p50 | old/cold p50 |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for row in rows:
            cells = [
                f"{row['users']:,}",
                _old_cell(row["old"], "p50"),
                _old_cell(row["old"], "p99"),
                *(format_ms(row[c][k]) for c in CONFIGS for k in ("p50_ms", "p99_ms")),
                format_ratio(row["ratio_old_warm_p50"]),
                format_ratio(row["ratio_old_cold_p50"]),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def fixed_table(summary: dict[str, Any]) -> list[str]:
    fixed = summary["fixed_rate"]
    lines = [
        f"### {fixed['connections']:,} connections at a fixed {fixed['rate']:,.0f} req/s "
        f"(mixed reads, {fixed['seconds']} s)",
        "",
        "| cache | achieved req/s | p50 | p99 | socket errors | non-2xx |",
        "|---|---|---|---|---|---|",
    ]
    for config in CONFIGS:
        figures = fixed[config]
        lines.append(
            f"| {config} | {figures['rps']:,.0f} | {format_ms(figures['p50_ms'])} | "
            f"{format_ms(figures['p99_ms'])} | {figures['socket_errors']} | "
            f"{figures['non_2xx']} |"
        )
    return [*lines, ""]


def render(summary: dict[str, Any]) -> str:
    lines = [
        "# Old architecture against the new one",
        "",
        f"Command: `{summary['command']}`  ",
        f"Machine: {summary['machine']}; catalog: {summary['events_in_database']:,} events.",
        "",
        "Old: `shababco simulator --latency 2-3 --seed-events 200` (REST, 2 calls/s leaky bucket) "
        "behind `bench/old_api.py` (uvicorn, one worker, waits out every 429), closed-loop "
        f"asyncio users for {summary['old_window_s']:g} s (users / 10 s when longer: 100 s at "
        "1,000 users); a request unanswered at the end "
        "counts at the time it had waited, so `≥` marks a lower bound. New: `shababco serve` "
        "(one worker), cold = cache off, warm = default TTLs + Redis after a warm-up pass; "
        f"`wrk -t2 -cN -d{summary['seconds']}s` rotating each read's paths. Latency is the "
        "client's, over loopback on the same machine.",
        "",
        *read_tables(summary),
        *fixed_table(summary),
        "### Memory",
        "",
        "VmRSS of each `shababco serve` after the closed-loop loads (up to 1,000 connections): "
        + ", ".join(f"{c} {mb} MB" for c, mb in summary["rss_after_closed_loop_mb"].items())
        + "; after the fixed-rate row, 10,000 connections still open: "
        + ", ".join(f"{c} {mb} MB" for c, mb in summary["rss_mb"].items())
        + " (each open connection holds a few KB of buffers and protocol state).",
        "",
        "### Performance targets measured here",
        "",
        "| target | measured | margin | met |",
        "|---|---|---|---|",
        *(
            f"| {t['target']} | {t['measured']} | {t['margin']} | "
            f"{'met' if t['met'] else 'NOT met'} |"
            for t in summary["targets"]
        ),
        "",
        "Charts: `suite_p50.png` (p50 by users, log scale), `suite_fixed_rate.png`.",
        "",
    ]
    return "\n".join(lines)


def readme_block(summary: dict[str, Any]) -> str:
    lines = [
        README_START,
        f"Latest suite (`{summary['command']}`, {summary['machine']}; full figures and targets "
        "in `bench/results/suite.md`, every target in `bench/targets.md`):",
        "",
        *read_tables(summary),
        *fixed_table(summary),
        "![p50 by users](bench/results/suite_p50.png)",
        "![fixed rate](bench/results/suite_fixed_rate.png)",
        README_END,
    ]
    return "\n".join(lines)


def replace_readme_block(text: str, block: str) -> str:
    """The README with its suite block replaced, or added at the end of `## Benchmarks`."""
    if README_START in text and README_END in text:
        head, rest = text.split(README_START, 1)
        return head + block + rest.split(README_END, 1)[1]
    head, marker, tail = text.partition("## Benchmarks\n")
    if not marker:
        return text.rstrip("\n") + "\n\n## Benchmarks\n\n" + block + "\n"
    section, next_heading, rest = tail.partition("\n## ")
    return head + marker + section.rstrip("\n") + "\n\n" + block + "\n" + next_heading + rest
