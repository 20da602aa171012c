"""bench.live_bench's figures summarized against the targets, in bench/results/live.*."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
from typing import Any

from bench.cache_bench import RESULTS, percentile

TARGET_RSS_MB = 100.0
TARGET_P99_MS = 1000.0
TARGET_READ_RATIO = 0.8


def distribution(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    return {
        "p50": round(statistics.median(samples), 1),
        "p99": round(percentile(samples, 0.99), 1),
        "max": round(max(samples), 1),
    }


def summarize(raw: dict[str, Any], args: argparse.Namespace, command: str) -> dict[str, Any]:
    latencies = [ms for change in raw["changes"] for ms in change["latencies_ms"]]
    streams, idle = raw["streams"], raw["idle_connections"]
    ratios = {}
    for name in raw["reads_alone_before"]:
        alone = statistics.mean(
            [raw["reads_alone_before"][name]["rps"], raw["reads_alone_after"][name]["rps"]]
        )
        ratios[name] = {
            "alone_rps": round(alone),
            "with_streams_rps": round(raw["reads_with_streams"][name]["rps"]),
            "with_streams_and_changes_rps": round(
                raw["reads_with_streams_and_changes"][name]["rps"]
            ),
            "ratio": round(raw["reads_with_streams"][name]["rps"] / alone, 2),
            "ratio_with_changes": round(
                raw["reads_with_streams_and_changes"][name]["rps"] / alone, 2
            ),
        }
    growth = streams["rss_after_mb"] - streams["rss_before_mb"]
    idle_growth = idle["rss_after_mb"] - idle["rss_before_mb"]
    return {
        "command": command,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_before": [round(x, 2) for x in raw["load_average"]["before"]],
            "load_average_after": [round(x, 2) for x in raw["load_average"]["after"]],
        },
        "events": args.events,
        "streams": streams["open"],
        "opened_in_s": streams["opened_in_s"],
        "rss_mb": {
            "before": round(streams["rss_before_mb"], 1),
            "after_open": round(streams["rss_after_mb"], 1),
            "after_changes": round(streams["rss_after_changes_mb"], 1),
            "growth": round(growth, 1),
            "per_stream_kb": round(growth * 1024 / max(streams["open"], 1), 2),
        },
        "idle_keepalive": {
            "connections": idle["open"],
            "growth_mb": round(idle_growth, 1),
            "per_connection_kb": round(idle_growth * 1024 / max(idle["open"], 1), 2),
        },
        "delivery_ms": distribution(latencies),
        "per_change": [
            {
                "p50": distribution(c["latencies_ms"])["p50"],
                "p99": distribution(c["latencies_ms"])["p99"],
                "max": distribution(c["latencies_ms"])["max"],
                "missed": c["missed"],
            }
            for c in raw["changes"]
        ],
        "missed": sum(change["missed"] for change in raw["changes"]),
        "streams_closed_by_server": raw["dropped_or_closed"],
        "reads": ratios,
        "metrics": raw["metrics"],
    }


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def write(summary: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "live.json").write_text(json.dumps(summary, indent=2) + "\n")
    machine, rss, idle = summary["machine"], summary["rss_mb"], summary["idle_keepalive"]
    delivery = summary["delivery_ms"]
    lines = [
        "# Live availability streams",
        "",
        f"`{summary['command']}`: one run on {machine['platform']}, {machine['cpus']} CPUs, Python "
        f"{machine['python']}; load average (1/5/15 min) {machine['load_average_before']} before "
        f"and {machine['load_average_after']} after (a machine shared with other engineers' test "
        "suites). One `shababco serve` (one worker, default settings, Redis), "
        f"{summary['events']} events; the stream clients (uvloop, raw sockets), `wrk` and the "
        "server share the machine.",
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| {summary['streams']:,} streams open on one process, "
        f"RSS growth ≤ {TARGET_RSS_MB:.0f} MB "
        f"| {rss['growth']} MB ({rss['per_stream_kb']} KB a stream; {rss['before']} → "
        f"{rss['after_open']} MB, {rss['after_changes']} MB after the changes) "
        f"| {_met(rss['growth'] <= TARGET_RSS_MB)} |",
        f"| a change reaches every stream, p99 ≤ {TARGET_P99_MS:.0f} ms (webhook POST → message) "
        f"| p50 {delivery['p50']} ms, p99 {delivery['p99']} ms, max {delivery['max']} ms; "
        f"{summary['missed']} deliveries missed | "
        f"{_met(delivery['p99'] <= TARGET_P99_MS and summary['missed'] == 0)} |",
    ]
    for name, read in summary["reads"].items():
        lines.append(
            f"| cached {name} with the streams open ≥ {TARGET_READ_RATIO} × alone "
            f"| {read['with_streams_rps']:,} vs {read['alone_rps']:,} req/s: "
            f"{read['ratio']} | {_met(read['ratio'] >= TARGET_READ_RATIO)} |"
        )
    lines += [
        "",
        f"Opening the {summary['streams']:,} streams (200 connects at a time, each waiting for "
        f"its first message) took {summary['opened_in_s']} s. uvicorn's own share, for "
        f"comparison: {idle['connections']:,} idle keep-alive connections (one `/health` each, "
        "on a second server warmed up alike) "
        f"grew the process by {idle['growth_mb']} MB ({idle['per_connection_kb']} KB each).",
        "",
        "Each change, from its webhook POST to its message at the last stream (ms):",
        "",
        "| change | p50 | p99 | max | missed |",
        "|---|---|---|---|---|",
    ]
    for n, change in enumerate(summary["per_change"], start=1):
        lines.append(
            f"| {n} | {change['p50']} | {change['p99']} | {change['max']} | {change['missed']} |"
        )
    lines += [
        "",
        "Cached reads (`wrk`, req/s): alone (mean of before and after), with the streams open, "
        "and with the streams open while a change a second goes out to all of them:",
        "",
        "| read | alone | streams open | ratio | streams open + changes | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for name, read in summary["reads"].items():
        lines.append(
            f"| {name} | {read['alone_rps']:,} | {read['with_streams_rps']:,} | {read['ratio']} | "
            f"{read['with_streams_and_changes_rps']:,} | {read['ratio_with_changes']} |"
        )
    built = sum(
        v for k, v in summary["metrics"].items() if k.startswith("live_messages_built_total")
    )
    sent = {
        k.split('"kind": "')[1].split('"')[0]: int(v)
        for k, v in summary["metrics"].items()
        if k.startswith("live_messages_sent_total")
    }
    lines += [
        "",
        f"The server's own counters at the end: {int(built)} availability messages built (one "
        f"per change), messages sent by kind {sent}; "
        f"{summary['streams_closed_by_server']} streams closed by the server.",
        "",
    ]
    (RESULTS / "live.md").write_text("\n".join(lines))
