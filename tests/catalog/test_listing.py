"""List totals from the trigger-kept counts (catalog.listing) equal a plain count, for any
filters."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from bench.catalog_explain import count_statement
from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.catalog.models import Event
from shababco.catalog.params import EventFilters
from tests.support.data import load_products
from tests.support.factories import BASE_TIME, make_product

CATEGORIES = ["Concerts", "concerts", "Théâtre", "Theatre", None]  # two spellings each


def plain_count(filters: EventFilters) -> Select[int]:
    conditions = [Event.status == "active", Event.deleted_at.is_(None)]
    if filters.categories:
        conditions.append(Event.category_key.in_(filters.categories))
    if filters.starts_after:
        conditions.append(Event.start_date >= filters.starts_after)
    if filters.starts_before:
        conditions.append(Event.start_date < filters.starts_before)
    return select(func.count()).select_from(Event).where(*conditions)


async def test_totals_match_a_plain_count_after_any_changes(db: AsyncEngine) -> None:
    rng = random.Random(3)
    products = [
        make_product(
            category=rng.choice(CATEGORIES),
            start=BASE_TIME + timedelta(hours=rng.randrange(0, 24 * 20)) if n % 7 else None,
            status=rng.choice(["active", "active", "draft"]),
        )
        for n in range(80)
    ]
    await load_products(db, *products)
    later = (BASE_TIME + timedelta(days=1)).isoformat()
    moved = [
        {**p, "updated_at": later, "status": "active", "product_type": rng.choice(["Concerts", ""])}
        for p in products[:20]
    ]
    moved += [
        make_product(
            start=BASE_TIME + timedelta(days=3),
            updated_at=BASE_TIME + timedelta(days=1),
            product_id=p["id"],
            category=p["product_type"] or None,
        )
        for p in products[20:30]
    ]
    await load_products(db, *moved)
    async with db.begin() as conn:
        await conn.execute(delete(Event).where(Event.shopify_product_id == products[40]["id"]))
    moments = [None, *(BASE_TIME + timedelta(hours=h) for h in (0, 5, 30, 47, 49, 200, 479))]
    async with db.connect() as conn:
        for _ in range(60):
            after, before = rng.choice(moments), rng.choice(moments)
            filters = EventFilters(
                categories=tuple(rng.sample(["concerts", "theatre"], rng.randrange(3))),
                starts_after=after.astimezone(UTC) if after else None,
                starts_before=before if before else None,
            )
            kept = await conn.scalar(count_statement(filters))
            assert kept == await conn.scalar(plain_count(filters)), filters


def test_a_date_window_inside_one_day_counts_directly() -> None:
    start = datetime(2026, 5, 1, 10, tzinfo=UTC)
    filters = EventFilters(starts_after=start, starts_before=start + timedelta(hours=3))
    assert "listing_day_counts" not in str(count_statement(filters))
