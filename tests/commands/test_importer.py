"""`shababco import FILE` loads Shopify's example products; a bad file changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.catalog.models import Event, Ticket
from tests.support.data import PAYLOADS
from tests.support.factories import make_product, make_variant
from tests.support.refusal import POISON, refusing

SHABABCO = str(Path(sys.executable).parent / "shababco")


def run_import(database_url: str, path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [SHABABCO, "import", str(path)], env=env, capture_output=True, text=True, timeout=60
    )


async def counts(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as conn:
        events = await conn.scalar(select(func.count()).select_from(Event))
        tickets = await conn.scalar(select(func.count()).select_from(Ticket))
    return int(events or 0), int(tickets or 0)


@pytest.mark.slow
async def test_every_product_example_imports(db: AsyncEngine, database_url: str) -> None:
    for path in sorted(PAYLOADS.glob("products_*.json")):
        if path.name == "products_delete.json":
            continue
        result = run_import(database_url, path)
        assert result.returncode == 0, result.stderr
    # Three distinct products: the two samples share one id.
    assert await counts(db) == (3, 4 + 3 + 2)


async def test_json_lines_and_lists_import(
    db: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    products = [make_product(), make_product()]
    lines = tmp_path / "products.jsonl"
    lines.write_text("\n".join(json.dumps(p) for p in products) + "\n")
    listed = tmp_path / "products.json"
    listed.write_text(json.dumps({"products": [make_product()]}))
    for path in (lines, listed):
        result = run_import(database_url, path)
        assert result.returncode == 0, result.stderr
    assert (await counts(db))[0] == 3


async def test_one_bad_product_rolls_the_file_back(
    db: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    good, broken = make_product(), {**make_product(), "updated_at": "never"}
    bad.write_text(json.dumps(good) + "\n" + json.dumps(broken) + "\n")
    result = run_import(database_url, bad)
    assert result.returncode == 2
    assert "line 2" in result.stderr and "updated_at" in result.stderr
    assert await counts(db) == (0, 0)


async def test_quantities_beyond_32_bits_import_exactly(
    db: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    """Three ticket types of 999,999,999: their total passes 2^31 (it made import store
    nothing)."""
    product = make_product(variants=[make_variant(quantity=999_999_999) for _ in range(3)])
    path = tmp_path / "big.json"
    path.write_text(json.dumps(product))
    result = run_import(database_url, path)
    assert result.returncode == 0, result.stderr
    async with db.connect() as conn:
        available = await conn.scalar(select(Event.available))
    assert available == 2_999_999_997


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda p: p["variants"][0].update(price="1e100000"), "price exceeds"),
        (lambda p: p.update(body_html={"a": 1}), "body_html must be a string"),
    ],
)
async def test_the_error_names_the_product_the_mirror_cannot_take(
    db: AsyncEngine, database_url: str, tmp_path: Path, change: Any, reason: str
) -> None:
    bad = make_product()
    change(bad)
    path = tmp_path / "products.json"
    path.write_text(json.dumps([make_product(), bad]))
    result = run_import(database_url, path)
    assert result.returncode == 2
    assert f"product 2 (id {bad['id']}): " in result.stderr and reason in result.stderr
    assert await counts(db) == (0, 0)


async def test_a_product_the_database_refuses_is_named(
    db: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    poison = make_product(title=POISON)
    path = tmp_path / "products.jsonl"
    path.write_text(json.dumps(make_product()) + "\n" + json.dumps(poison) + "\n")
    async with refusing(db, "22003"):
        result = run_import(database_url, path)
    assert result.returncode == 2
    assert f"line 2 (id {poison['id']}): refused for the test" in result.stderr
    assert await counts(db) == (0, 0)
