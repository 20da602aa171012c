"""Every read runs at most two SQL statements, however many events and tickets (no N+1)."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.metrics import DB_QUERY_TIME
from tests.support.data import load_products
from tests.support.factories import make_product, make_variant
from tests.support.server import LiveServer

# Tables only the background jobs read or write: the cache's change-log poller, the inbox.
BACKGROUND_TABLES = frozenset({"cache_changes", "webhook_inbox", "leases", "sync_state"})


class Statements:
    """The statements the app ran since the last `clear`, by table, as it times every statement
    into `db_query_time_seconds` (through SQLAlchemy or the driver itself: catalog.run)."""

    def __init__(self) -> None:
        self._since = self._counts()

    @staticmethod
    def _counts() -> Counter[str]:
        counts: Counter[str] = Counter()
        for metric in DB_QUERY_TIME.collect():
            for sample in metric.samples:
                table = sample.labels["table"]
                if sample.name.endswith("_count") and table not in BACKGROUND_TABLES:
                    counts[table] += int(sample.value)
        return counts

    def clear(self) -> None:
        self._since = self._counts()

    def __len__(self) -> int:
        return sum((self._counts() - self._since).values())

    def __repr__(self) -> str:
        return f"statements by table: {dict(self._counts() - self._since)}"


@pytest.fixture
def statements(live_api: LiveServer) -> Statements:
    return Statements()


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
    api: httpx.AsyncClient, db: AsyncEngine, statements: Statements, path: str
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


@pytest.mark.parametrize("path", ["/events/{id}", "/events/{handle}", "/events/{id}/tickets"])
async def test_an_event_and_its_tickets_are_one_statement(
    api: httpx.AsyncClient, db: AsyncEngine, statements: Statements, path: str
) -> None:
    product = make_product(variants=[make_variant(position=n) for n in range(6)])
    await load_products(db, product)
    statements.clear()
    response = await api.get(path.format(id=product["id"], handle=product["handle"]))
    assert response.status_code == 200
    assert len(response.json().get("tickets", response.json().get("items"))) == 6
    assert len(statements) == 1, statements


@pytest.mark.parametrize(
    ("search", "expected"),
    [("night", 35), ("night owl", 5), ("zzqxv", 0), ("night zzqxv", 0)],
)
async def test_a_search_page_is_one_statement_carrying_its_total(
    api: httpx.AsyncClient, db: AsyncEngine, statements: Statements, search: str, expected: int
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
