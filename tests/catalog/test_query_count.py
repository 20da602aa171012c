"""Every read runs at most two SQL statements, however many events and tickets (no N+1)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.data import load_products
from tests.support.factories import make_product, make_variant
from tests.support.server import LiveServer


@pytest.fixture
def statements(live_api: LiveServer) -> Iterator[list[str]]:
    """The SQL statements the live app runs, in order (searches have an engine of their own)."""
    database = live_api.app.state.database
    engines = {database.read.sync_engine, database.reads(search=True).sync_engine}
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # The cache's change-log poller shares the engine; its statements are not the read's.
        if "cache_changes" not in statement:
            seen.append(statement)

    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    yield seen
    for engine in engines:
        event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize(
    "path",
    [
        "/events",
        "/events?limit=100&sort=price",
        "/events?search=night&category=Concerts",
        "/events?search=nig",
        "/events/{id}",
        "/events/{handle}",
        "/events/{id}/tickets",
        "/categories",
    ],
)
async def test_reads_run_at_most_two_statements(
    api: httpx.AsyncClient, db: AsyncEngine, statements: list[str], path: str
) -> None:
    products = [
        make_product(title=f"Night {n}", variants=[make_variant() for _ in range(6)])
        for n in range(30)
    ]
    await load_products(db, *products)
    statements.clear()
    url = path.format(id=products[0]["id"], handle=products[0]["handle"])
    response = await api.get(url)
    assert response.status_code == 200
    assert 1 <= len(statements) <= 2, statements


@pytest.mark.parametrize(
    ("search", "expected"),
    [("night", 35), ("night owl", 5), ("zzqxv", 0), ("night zzqxv", 0)],
)
async def test_a_search_page_is_one_statement_carrying_its_total(
    api: httpx.AsyncClient, db: AsyncEngine, statements: list[str], search: str, expected: int
) -> None:
    """First pages, cursor pages, pages past the last and searches matching nothing: one
    statement each (one-word searches by the postings, others by the GIN index), every one
    with the exact total."""
    titles = [f"Night {n}" for n in range(30)] + [f"Night Owl {n}" for n in range(5)]
    await load_products(db, *(make_product(title=title) for title in titles))
    pages = [f"/events?search={search}&limit=3", f"/events?search={search}&page=99"]
    seen = 0
    while pages:
        statements.clear()
        response = await api.get(pages.pop(0))
        assert response.status_code == 200
        assert len(statements) == 1, statements
        body = response.json()
        assert body["total"] == expected
        if body["page"] != 99:
            seen += len(body["items"])
            if body["next_cursor"]:
                pages.append(f"/events?search={search}&limit=3&cursor={body['next_cursor']}")
    assert seen == expected
