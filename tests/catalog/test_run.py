"""Statements run as precompiled SQL, or by the driver itself, answer exactly what SQLAlchemy's
execution answers; the tickets PostgreSQL writes as JSON are those Python would write."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
from bench.catalog_explain import count_query
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.catalog import detail, listing, run
from shababco.catalog.models import Ticket
from shababco.catalog.params import Cursor, EventFilters, EventListParams, Sort
from shababco.catalog.schemas import money, tickets_of_json
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
            driver = await run.driver_rows(db, statement, values)
            assert [dict(row.items()) for row in driver] == [row._asdict() for row in slow]
            assert [type(value) for value in driver[0]] == [type(value) for value in slow[0]]


async def test_statements_with_an_in_list_run_through_sqlalchemy(db: AsyncEngine) -> None:
    await load_products(db, make_product(category="Opera"))
    statement, values = listing.page_query(list_params(categories=("opera", "jazz")))  # folded keys
    async with db.connect() as conn:
        assert run._compiled(statement, conn.dialect) is None
        found = await run.rows(conn, statement, values)
    assert [row.category for row in found] == ["Opera"]


def ticket_representation(ticket: Any) -> dict[str, object]:
    return {
        "id": str(ticket.shopify_variant_id),
        "name": ticket.name,
        "ticket_type": ticket.ticket_type,
        "price": money(ticket.price),
        "compare_at_price": money(ticket.compare_at_price),
        "capacity": ticket.available + ticket.sold,
        "sold": ticket.sold,
        "available": ticket.available,
        "features": ticket.features,
        "restrictions": ticket.restrictions,
    }


async def test_tickets_written_as_json_are_the_representations_python_writes(
    db: AsyncEngine,
) -> None:
    variants = [
        make_variant(title='VIP "front" \\ row ☆', price="1234567.5", compare_at_price="2e6"),
        make_variant(title="Hidden", position=2),
        make_variant(title="مقعد\tعادي", price="0", quantity=0, position=3),
    ]
    product, bare = make_product(variants=variants), make_product(variants=[])
    await load_products(db, product, bare)
    features = [1.5, 1e-7, 2**53 + 1, -0.0, "سطر\n\u2028", {"nested": [None, True]}]
    first, hidden = (variant["id"] for variant in variants[:2])
    async with db.begin() as conn:
        at = Ticket.shopify_variant_id
        values = {"features": features, "restrictions": {"age": 18}, "sold": 7}
        await conn.execute(update(Ticket).where(at == first).values(values))
        await conn.execute(update(Ticket).where(at == hidden).values(is_visible=False))
    event = await detail.get_event(db, str(product["id"]))
    listed = await detail.tickets_of(db, product["handle"])
    without = await detail.get_event(db, bare["handle"])
    async with db.connect() as conn:
        visible = select(*Ticket.__table__.c).where(
            Ticket.event_id == product["id"], Ticket.is_visible
        )
        rows = (await conn.execute(visible.order_by(Ticket.position))).all()
    expected = orjson.dumps([ticket_representation(row) for row in rows])
    assert event is not None and listed is not None and without is not None
    assert len(rows) == 2
    assert orjson.dumps(tickets_of_json(event.tickets_json)) == expected
    assert orjson.dumps(tickets_of_json(listed.tickets_json)) == expected
    assert listed.shopify_product_id == product["id"]
    assert tickets_of_json(without.tickets_json) == []
