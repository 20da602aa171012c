import json
from pathlib import Path

from bench import targets
from bench.suite import report as suite_report

from tests.benchmarks.samples import NEW, OLD, SETTINGS

CACHE = {
    "throughput": [
        {"load": "list @ 100", "ratio_to_bare": 0.91},
        {"load": "detail @ 1000", "ratio_to_bare": 0.65},
    ],
    "server_time_ms": {"/events": {"requests": 10.0, "p50_ms": 0.25, "p99_ms": 0.5}},
    "webhook_to_visible_ms": {"other_process": {"p50": 85.1, "p99": 185.6, "max": 210.4}},
}
CATALOG = {
    "events": 100000,
    "latency": {
        "list": {"p95_ms": 9.08},
        "search": {"p95_ms": 17.07},
        "search, > 1,000 matches": {"p95_ms": 20.17},
    },
}
UNCACHED = {
    "connections": 100,
    "results": [
        {"load": "detail", "rps_ratio": 1.12, "p99_ratio": 0.9},
        {"load": "tickets", "rps_ratio": 1.3, "p99_ratio": 1.6},
        {"load": "list", "rps_ratio": 1.85, "p99_ratio": 0.4},
    ],
}
OVERLOAD = {
    "overload": {"socket_errors": 0, "status_503": 9000, "p99_ms": 860.0},
    "admitted_vs_peak": 0.85,
    "behind_haproxy": {
        "overload": {"socket_errors": 0, "status_503": 11000, "p99_ms": 580.0},
        "admitted_vs_peak": 1.03,  # against the direct peak: not the one the target uses
        "admitted_vs_peak_behind_haproxy": 0.91,
    },
}
WEBHOOKS = {"ingest": {"rate_per_s": 840.0, "ack_p99_ms": 18.43}}
SYNC = {
    "events": 10000,
    "bulk": {"seconds": 46.0},
    "pages": {"ratio_to_bound": 1.0117},
}


def write_results(folder: Path) -> None:
    for name, data in {
        "cache.json": CACHE,
        "catalog_reads.json": CATALOG,
        "uncached.json": UNCACHED,
        "overload.json": OVERLOAD,
        "webhooks.json": WEBHOOKS,
        "sync.json": SYNC,
        "simulator.json": {"graphql": {}},
        "suite.json": suite_report.summarize(old=OLD, new=NEW, settings=SETTINGS),
    }.items():
        (folder / name).write_text(json.dumps(data))


def test_every_target_from_every_source(tmp_path: Path) -> None:
    write_results(tmp_path)
    rows = {row["target"]: row for row in targets.collect(tmp_path)}
    assert rows["cached list @ 100: ≥ 0.7 × bare Starlette throughput"]["met"] is True
    assert rows["cached detail @ 1000: ≥ 0.7 × bare Starlette throughput"]["met"] is False
    assert rows["cached /events: p50 server time ≤ 1 ms"]["measured"] == "0.25 ms"
    visible = rows["webhook → visible in every process: p99 ≤ 100 ms"]
    assert (visible["met"], visible["margin"]) == (False, "1.86× the limit")
    assert rows["uncached list at 100,000 events: p95 ≤ 10 ms"]["met"] is True
    assert rows["uncached search at 100,000 events: p95 ≤ 10 ms"]["met"] is False
    assert not any("matches" in name for name in rows)
    assert rows["webhook ingest ≥ 500/s"]["met"] is True
    assert rows["initial sync of 10,000 events (bulk operation): ≤ 60 s"]["met"] is True
    assert rows["initial sync of 10,000 events (pages): ≤ 1.2 × the rate-limit bound"]["met"]
    detail = "uncached detail @ 100: ≥ 1.0 × the reference's req/s, p99 ≤ 1.5 × its p99"
    assert rows[detail]["met"] is True
    assert rows[detail.replace("detail", "tickets")]["met"] is False  # its p99 is too far behind
    assert rows["uncached list: ahead of the reference"]["met"] is True
    assert rows["overload: zero socket errors"]["met"] is True
    assert rows["overload: p99 of all answers ≤ 1 s"]["met"] is True
    assert rows["overload: admitted throughput ≥ 0.9 × the unloaded peak"]["met"] is False
    edge = "overload behind the example HAProxy"
    assert rows[f"{edge}: p99 of all answers ≤ 1 s"]["measured"] == "580 ms"
    assert rows[f"{edge}: admitted throughput ≥ 0.9 × the unloaded peak"]["measured"] == (
        "0.91 × peak"
    )
    suite_rows = [row for row in rows.values() if row["source"] == "suite.json"]
    assert len(suite_rows) == 6  # ratio cold/warm, fixed rate cold/warm, RSS cold/warm
    assert {row["source"] for row in rows.values()} == {
        "cache.json",
        "catalog_reads.json",
        "uncached.json",
        "overload.json",
        "webhooks.json",
        "sync.json",
        "suite.json",
    }


def test_missing_and_malformed_results_are_not_met(tmp_path: Path) -> None:
    (tmp_path / "webhooks.json").write_text(json.dumps({"ingest": {}}))
    rows = targets.collect(tmp_path)
    by_source = {row["source"]: row for row in rows}
    assert by_source["cache.json"]["measured"] == "not run"
    assert by_source["webhooks.json"]["measured"].startswith("unreadable")
    assert not any(row["met"] for row in rows)
    assert "simulator.json" not in by_source


def test_render_counts_met_targets(tmp_path: Path) -> None:
    write_results(tmp_path)
    text = targets.render(targets.collect(tmp_path))
    assert "| webhook ingest ≥ 500/s | 840 /s | 1.68× the floor | met | `webhooks.json` |" in text
    assert "NOT met" in text
    assert "of " in text.splitlines()[2]
