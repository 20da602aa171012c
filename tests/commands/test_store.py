"""The store commands' console output."""

from __future__ import annotations

import io

from rich.console import Console
from rich.progress import Progress

from shababco.commands.store import CountColumn, ProgressBars


def test_progress_shows_a_total_only_when_it_is_known() -> None:
    output = io.StringIO()
    with Progress(CountColumn(), console=Console(file=output, width=120)) as progress:
        bars = ProgressBars(progress)
        bars("inventory levels", 1446, None)
        bars("products", 200, 200)
    lines = output.getvalue().splitlines()
    assert [line.strip() for line in lines] == ["1446", "200/200"]
