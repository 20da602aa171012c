"""bench.suite's charts (matplotlib, Agg): p50 by users per read, and the fixed-rate row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.suite.report import CONFIGS, TARGET_FIXED_P99_MS

COLOURS = {"old": "tab:red", "cold": "tab:blue", "warm": "tab:green"}


def p50_chart(summary: dict[str, Any], target: Path) -> None:
    """One panel per read: p50 (log) against users (log); hollow old markers are lower bounds."""
    reads = list(summary["reads"].items())
    figure, axes = plt.subplots(1, len(reads), figsize=(4 * len(reads), 3.6), squeeze=False)
    for axis, (read, rows) in zip(axes[0], reads, strict=True):
        users = [row["users"] for row in rows]
        old = [(row["users"], row["old"]) for row in rows if row["old"]]
        if old:
            axis.plot(
                [u for u, _ in old],
                [o["p50_ms"] for _, o in old],
                color=COLOURS["old"],
                label="old",
            )
            bounded = [(u, o["p50_ms"]) for u, o in old if o["p50_lower_bound"]]
            if bounded:
                axis.scatter(
                    *zip(*bounded, strict=True),
                    facecolors="none",
                    edgecolors=COLOURS["old"],
                    label="old (lower bound)",
                )
        for config in CONFIGS:
            values = [row[config]["p50_ms"] for row in rows]
            axis.plot(users, values, marker="o", color=COLOURS[config], label=config)
        axis.set(xscale="log", yscale="log", title=read, xlabel="users", ylabel="p50 (ms)")
        axis.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize="small")
    figure.suptitle("p50 latency, old architecture vs new (cold: no cache, warm: cache)")
    figure.tight_layout()
    figure.savefig(target, dpi=100)
    plt.close(figure)


def fixed_rate_chart(summary: dict[str, Any], target: Path) -> None:
    """p50 and p99 of the fixed-rate row, cold and warm, against the p99 limit (log scale)."""
    fixed = summary["fixed_rate"]
    figure, axis = plt.subplots(figsize=(5, 3.6))
    for offset, key in ((-0.2, "p50_ms"), (0.2, "p99_ms")):
        values = [fixed[c][key] or 0 for c in CONFIGS]
        axis.bar([i + offset for i in range(len(CONFIGS))], values, width=0.4, label=key[:3])
    axis.axhline(TARGET_FIXED_P99_MS, color="tab:red", linestyle="--", label="p99 limit")
    axis.set_xticks(range(len(CONFIGS)), list(CONFIGS))
    axis.set(yscale="log", ylabel="latency (ms)")
    axis.set_title(
        f"{fixed['connections']:,} connections at {fixed['rate']:,.0f} req/s", fontsize="medium"
    )
    axis.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(target, dpi=100)
    plt.close(figure)
