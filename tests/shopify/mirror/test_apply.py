"""Upsert with the ordering guard, never erasing what a payload does not carry."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.catalog.models import Event, EventSearch, SearchTerm, Ticket
from shababco.shopify.mirror.apply import upsert_products
from shababco.shopify.mirror.products import normalize_product
from tests.support.data import load_products
from tests.support.factories import BASE_TIME, make_product, make_variant


async def event_row(engine: AsyncEngine, product_id: int) -> Event:
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(Event).where(Event.shopify_product_id == product_id))
        ).one()
    return row  # type: ignore[return-value]


async def search_vector(engine: AsyncEngine, product_id: int) -> set[str]:
    """The lexemes of an event's title vector."""
    async with engine.connect() as conn:
        vector = await conn.scalar(
            select(func.tsvector_to_array(EventSearch.title_vector)).where(
                EventSearch.event_id == product_id
            )
        )
    return set(vector or ())


async def ticket_rows(engine: AsyncEngine, product_id: int) -> list[Ticket]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(Ticket).where(Ticket.event_id == product_id).order_by(Ticket.position)
        )
        return list(rows.all())  # type: ignore[arg-type]


async def test_newer_payload_overwrites(db: AsyncEngine) -> None:
    product = make_product(title="Old title")
    await load_products(db, product)
    newer = {
        **product,
        "title": "New title",
        "updated_at": (BASE_TIME + timedelta(hours=1)).isoformat(),
    }
    assert await load_products(db, newer) == {product["id"]}
    assert (await event_row(db, product["id"])).title == "New title"


async def test_older_payload_never_overwrites(db: AsyncEngine) -> None:
    product = make_product(title="Current", updated_at=BASE_TIME + timedelta(hours=2))
    await load_products(db, product)
    older = {
        **product,
        "title": "Stale",
        "updated_at": BASE_TIME.isoformat(),
        "variants": [make_variant(price="1")],
    }
    assert await load_products(db, older) == set()
    row = await event_row(db, product["id"])
    assert row.title == "Current"
    tickets = await ticket_rows(db, product["id"])
    assert [t.shopify_variant_id for t in tickets] == [product["variants"][0]["id"]]


async def test_in_one_batch_the_newest_wins_whatever_the_order(db: AsyncEngine) -> None:
    product = make_product(title="v1")
    v2 = {**product, "title": "v2", "updated_at": (BASE_TIME + timedelta(minutes=5)).isoformat()}
    await load_products(db, v2, product)
    assert (await event_row(db, product["id"])).title == "v2"


async def test_the_same_payload_twice_changes_nothing(db: AsyncEngine) -> None:
    product = make_product()
    await load_products(db, product)
    first = await event_row(db, product["id"])
    await load_products(db, product)
    again = await event_row(db, product["id"])
    assert (again.title, again.min_price, again.available) == (
        first.title,
        first.min_price,
        first.available,
    )


async def test_payload_without_metafields_keeps_stored_ones(db: AsyncEngine) -> None:
    product = make_product(subtitle="Keep me", venue={"name": "Opera", "city": "Cairo"})
    await load_products(db, product)
    bare = make_product(
        product_id=product["id"],
        title="Renamed",
        with_metafields=False,
        updated_at=BASE_TIME + timedelta(hours=1),
    )
    await load_products(db, bare)
    row = await event_row(db, product["id"])
    assert row.title == "Renamed"
    assert row.subtitle == "Keep me"
    assert row.venue == {"name": "Opera", "city": "Cairo"}
    assert row.start_date is not None
    assert await search_vector(db, product["id"]) >= {"opera", "renamed", "cairo", "keep"}


async def test_payload_without_variants_keeps_tickets(db: AsyncEngine) -> None:
    product = make_product()
    await load_products(db, product)
    no_variants = {k: v for k, v in product.items() if k != "variants"}
    no_variants["updated_at"] = (BASE_TIME + timedelta(hours=1)).isoformat()
    await load_products(db, no_variants)
    assert len(await ticket_rows(db, product["id"])) == 1


async def test_removed_variant_is_dropped_and_summary_recomputed(db: AsyncEngine) -> None:
    cheap, vip = make_variant(price="10", quantity=5), make_variant(price="99", quantity=7)
    product = make_product(variants=[cheap, vip])
    await load_products(db, product)
    row = await event_row(db, product["id"])
    assert (row.min_price, row.available) == (Decimal("10.00"), 12)
    later = {
        **product,
        "variants": [vip],
        "updated_at": (BASE_TIME + timedelta(hours=1)).isoformat(),
    }
    await load_products(db, later)
    assert [t.shopify_variant_id for t in await ticket_rows(db, product["id"])] == [vip["id"]]
    row = await event_row(db, product["id"])
    assert (row.min_price, row.available) == (Decimal("99.00"), 7)


async def test_hidden_tickets_do_not_count_in_the_summary(db: AsyncEngine) -> None:
    from tests.support.factories import metafield

    hidden = make_variant(
        price="1", quantity=50, metafields=[metafield("ticket", "hidden", True, "boolean")]
    )
    product = make_product(variants=[hidden, make_variant(price="20", quantity=3)])
    await load_products(db, product)
    row = await event_row(db, product["id"])
    assert (row.min_price, row.available) == (Decimal("20.00"), 3)


async def test_ticket_type_from_metafield_survives_a_payload_without_it(db: AsyncEngine) -> None:
    from tests.support.factories import metafield

    variant = make_variant(
        title="Front row", metafields=[metafield("ticket", "type", "vip", "single_line_text_field")]
    )
    product = make_product(variants=[variant])
    await load_products(db, product)
    plain = {**variant}
    plain.pop("metafields")
    later = {
        **product,
        "variants": [plain],
        "updated_at": (BASE_TIME + timedelta(hours=1)).isoformat(),
    }
    await load_products(db, later)
    assert (await ticket_rows(db, product["id"]))[0].ticket_type == "vip"


async def test_listing_counts_follow_status_and_category_changes(db: AsyncEngine) -> None:
    from sqlalchemy import delete

    from shababco.catalog.models import ListingCount

    later = (BASE_TIME + timedelta(hours=1)).isoformat()
    concert, play, draft = (
        make_product(category="Concerts"),
        make_product(category="Theatre"),
        make_product(category="Concerts", status="draft"),
    )
    await load_products(db, concert, play, draft, make_product(category=None))
    await load_products(
        db,
        {**concert, "product_type": "Theatre", "updated_at": later},  # moves category
        {**play, "status": "archived", "updated_at": later},  # leaves the list
        {**draft, "status": "active", "updated_at": later},  # joins it
    )
    async with db.begin() as conn:
        await conn.execute(delete(Event).where(Event.shopify_product_id == concert["id"]))
    async with db.connect() as conn:
        kept = dict((await conn.execute(select(ListingCount.category, ListingCount.listed))).all())
        actual = dict(
            (
                await conn.execute(
                    select(func.coalesce(Event.category, "").label("key"), func.count())
                    .where(Event.status == "active", Event.deleted_at.is_(None))
                    .group_by("key")
                )
            ).all()
        )
    assert {k: v for k, v in kept.items() if v} == actual == {"Concerts": 1, "": 1}


async def test_one_batch_keeps_what_only_its_older_payload_carried(db: AsyncEngine) -> None:
    created = make_product(subtitle="From the create")
    bare = {k: v for k, v in created.items() if k != "metafields"}
    renamed = {
        **bare,
        "title": "Renamed",
        "updated_at": (BASE_TIME + timedelta(hours=1)).isoformat(),
    }
    await load_products(db, renamed, created)  # the inbox may apply both in one batch
    row = await event_row(db, created["id"])
    assert (row.title, row.subtitle) == ("Renamed", "From the create")


async def test_the_lexicon_holds_every_lexeme_of_the_search_documents(db: AsyncEngine) -> None:
    product = make_product(title="Café Night", body_html="<p>Free parking</p>")
    await load_products(db, product)
    later = {
        **product,
        "body_html": "<p>Valet</p>",
        "updated_at": (BASE_TIME + timedelta(hours=1)).isoformat(),
    }
    await load_products(db, later)
    async with db.connect() as conn:
        lexemes = func.unnest(func.tsvector_to_array(EventSearch.document_vector))
        document = set(
            (
                await conn.execute(select(lexemes).where(EventSearch.event_id == product["id"]))
            ).scalars()
        )
        terms = set((await conn.execute(select(SearchTerm.term))).scalars())
    assert {"cafe", "valet"} <= document <= terms
    assert "parking" in terms  # the lexicon only grows: a superset is all searches need


async def apply_at(engine: AsyncEngine, *versions: tuple[dict[str, Any], float | None]) -> None:
    """Upsert products in one batch, each with its trigger time (seconds after BASE_TIME)."""
    records = [
        normalize_product(
            product,
            currency="USD",
            triggered_at=None if seconds is None else BASE_TIME + timedelta(seconds=seconds),
        )
        for product, seconds in versions
    ]
    async with engine.begin() as conn:
        await upsert_products(conn, records)


async def test_equal_updated_at_goes_to_the_later_trigger(db: AsyncEngine) -> None:
    product = make_product(title="first")
    second = {**product, "title": "second"}
    await apply_at(db, (second, 0.9), (product, 0.1))  # one batch, any order
    assert (await event_row(db, product["id"])).title == "second"
    await apply_at(db, (product, 0.5))  # a retried older delivery
    assert (await event_row(db, product["id"])).title == "second"
    # What a sync read at 1.2 s is newer than a delivery triggered before it.
    await apply_at(db, ({**product, "title": "synced"}, 1.2))
    await apply_at(db, (product, 1.0))
    assert (await event_row(db, product["id"])).title == "synced"
    # Without a trigger time (an import), the later arrival wins, as before.
    await apply_at(db, ({**product, "title": "imported"}, None))
    assert (await event_row(db, product["id"])).title == "imported"
    await apply_at(db, (product, 0.0))
    assert (await event_row(db, product["id"])).title == "first"


async def test_sums_of_bigint_quantities_are_held_within_a_bigint(db: AsyncEngine) -> None:
    """Each ticket's quantity fits; their total would not: the event's holds at the bound
    instead of failing every write to it."""
    most = 2**63 - 1
    product = make_product(variants=[make_variant(quantity=most), make_variant(quantity=most)])
    await load_products(db, product)
    assert (await event_row(db, product["id"])).available == most
    assert [t.available for t in await ticket_rows(db, product["id"])] == [most, most]
