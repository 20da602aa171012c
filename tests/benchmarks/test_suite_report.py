from pathlib import Path
from typing import Any

from bench.suite import output
from bench.suite import report as suite_report

from tests.benchmarks.samples import NEW, OLD, SETTINGS


def summary() -> dict[str, Any]:
    return suite_report.summarize(old=OLD, new=NEW, settings=SETTINGS)


def test_ratios_carry_the_old_lower_bound() -> None:
    rows = summary()["reads"]["list"]
    assert rows[0]["ratio_old_warm_p50"] == {"value": 2600.0, "lower_bound": False}
    assert rows[0]["ratio_old_cold_p50"] == {"value": 650.0, "lower_bound": False}
    assert rows[1]["ratio_old_cold_p50"] == {"value": 262.5, "lower_bound": True}


def test_targets_take_the_worst_cell_and_the_errors() -> None:
    targets = {t["target"]: t for t in summary()["targets"]}
    cold = next(t for name, t in targets.items() if "old architecture (cold" in name)
    assert cold["measured"] == "lowest ≥ 260× at detail @ 100"
    assert cold["met"] is False
    warm = next(t for name, t in targets.items() if "old architecture (warm" in name)
    assert warm["met"] is True
    fixed = [t for name, t in targets.items() if "1,000 connections" in name]
    assert [t["met"] for t in fixed] == [False, False]  # cold p99 80 ms; warm printed no p99
    rss = [t["met"] for name, t in targets.items() if name.startswith("RSS")]
    assert rss == [True, False]


def test_rendered_tables() -> None:
    text = suite_report.render(summary())
    assert (
        "| 10 | 2.6 s | ≥ 9.0 s | 4.00 ms | 16.00 ms | 1.00 ms | 4.00 ms | 2,600× | 650× |" in text
    )
    assert "| 100 | ≥ 10.5 s | ≥ 10.5 s | 40.00 ms | 160 ms | 10.00 ms | 40.00 ms" in text
    assert "| ≥ 1,050× | ≥ 262× |" in text
    assert "| warm | 200 | 2.00 ms | — | 0 | 0 |" in text
    assert "NOT met" in text
    assert "### detail" in text


def test_skipped_old_renders_not_run_and_no_ratio_target() -> None:
    result = suite_report.summarize(old={}, new=NEW, settings=SETTINGS)
    assert "| 10 | not run | not run |" in suite_report.render(result)
    assert not any("old architecture" in t["target"] for t in result["targets"])


def test_readme_block_is_replaced_between_markers_only() -> None:
    readme = "# Title\n\n## Benchmarks\n\nIntro.\n\n## Architecture\n\nText.\n"
    first = suite_report.replace_readme_block(readme, "<!-- suite:start -->\nA\n<!-- suite:end -->")
    assert first.startswith("# Title\n\n## Benchmarks\n\nIntro.\n\n<!-- suite:start -->\nA\n")
    assert first.endswith("<!-- suite:end -->\n\n## Architecture\n\nText.\n")
    second = suite_report.replace_readme_block(first, "<!-- suite:start -->\nB\n<!-- suite:end -->")
    assert second == first.replace("\nA\n", "\nB\n")


def test_write_produces_markdown_charts_and_readme(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# T\n\n## Benchmarks\n\nIntro.\n")
    output.write(summary(), tmp_path, readme)
    assert (tmp_path / "suite.md").read_text().startswith("# Old architecture")
    for chart in ("suite_p50.png", "suite_fixed_rate.png"):
        assert (tmp_path / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<!-- suite:start -->" in readme.read_text()
