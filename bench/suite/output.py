"""Write the suite's results: suite.md, the charts and the README's Benchmarks section."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.suite import charts
from bench.suite.report import readme_block, render, replace_readme_block


def write(summary: dict[str, Any], results: Path, readme: Path) -> None:
    (results / "suite.md").write_text(render(summary))
    charts.p50_chart(summary, results / "suite_p50.png")
    charts.fixed_rate_chart(summary, results / "suite_fixed_rate.png")
    readme.write_text(replace_readme_block(readme.read_text(), readme_block(summary)))
