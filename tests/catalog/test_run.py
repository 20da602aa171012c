"""Statements run as precompiled SQL answer exactly what SQLAlchemy's execution answers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bench.catalog_explain import count_query
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.catalog import detail, listing, run
from shababco.catalog.params import Cursor, EventFilters, EventListParams, Sort
from shababco.catalog.search import Method, choose_method, gin, postings
from tests.support.data import load_products
from tests.support.factories import BASE_TIME, make_product, make_variant


def list_params(**filters: Any) -> EventListParams:
    sort = filters.pop("sort", Sort.RELEVANCE if filters.get("search") else Sort.START_DATE)
    cursor = filters.pop("cursor", None)
    return EventListParams(filters=EventFilters(**filters), sort=sort, limit=4, cursor=cursor)


async def test_precompiled_statements_answer_as_sqlalchemy_does(db: AsyncEngine) -> None:
    products = [
        make_product(
            title=f"Gala {n} opera",
            tags="music, gala" if n % 2 else "",
            venue={"name": f"Hall {n}", "city": "Cairo"} if n % 3 else None,
            start=BASE_TIME + timedelta(days=n) if n % 4 else None,
            variants=[make_variant(price=f"{n}.50", compare_at_price="99.99" if n % 2 else None)],
        )
        for n in range(12)
    ]
    await load_products(db, *products)
    first = products[0]
    some_cursor = Cursor(Sort.RELEVANCE, "1", 2**62)
    statements: list[tuple[Any, dict[str, Any]]] = [
        listing.page_query(list_params()),
        listing.page_query(list_params(sort=Sort.PRICE_DESC, starts_after=BASE_TIME)),
        gin.page_query(list_params(search="gala opera")),
        gin.page_query(list_params(search="gala opera", cursor=some_cursor)),
        gin.page_query(list_params(search="nothingmatches zzz")),
        gin.page_query(list_params(search="gala", sort=Sort.TITLE)),
        listing.count_query(EventFilters()),
        count_query(EventFilters(search="opera", starts_before=BASE_TIME)),
        (detail.category_counts_statement(), {}),
        (detail._event_statement(True), {"key_id": first["id"], "key_handle": "x"}),
        (detail._visible_tickets_statement(), {"event_id": first["id"]}),
        (detail._tickets_of_statement(False), {"key_handle": first["handle"]}),
    ]
    one_word = list_params(search="gal")
    assert choose_method(one_word) is Method.POSTINGS
    statements.append(postings.page_query(one_word))
    async with db.connect() as conn:
        for statement, values in statements:
            assert run._compiled(statement, conn.dialect) is not None, str(statement)[:300]
            fast = await run.rows(conn, statement, values)
            slow = (await conn.execute(statement, values)).all()
            assert fast, statement
            assert [row._asdict() for row in fast] == [row._asdict() for row in slow]
            assert [type(value) for value in fast[0]] == [type(value) for value in slow[0]]


async def test_statements_with_an_in_list_run_through_sqlalchemy(db: AsyncEngine) -> None:
    await load_products(db, make_product(category="Opera"))
    statement, values = listing.page_query(list_params(categories=("opera", "jazz")))  # folded keys
    async with db.connect() as conn:
        assert run._compiled(statement, conn.dialect) is None
        found = await run.rows(conn, statement, values)
    assert [row.category for row in found] == ["Opera"]
