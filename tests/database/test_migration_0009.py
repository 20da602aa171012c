"""Migration 0009 on a database holding events: category keys backfilled everywhere a filter
reads them, the handle history trigger, and a downgrade that gives 0008's schema back."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shababco.database.migrate import alembic_config
from shababco.database.migrate import upgrade as upgrade_to

EVENTS = """
INSERT INTO events (shopify_product_id, handle, title, status, category, currency,
                    start_date, shopify_updated_at)
VALUES (1, 'a', 'A', 'active', 'Music', 'USD', '2026-05-01', now()),
       (2, 'b', 'B', 'active', 'music', 'USD', '2026-05-02', now()),
       (3, 'c', 'C', 'active', 'Théâtre', 'USD', NULL, now()),
       (4, 'd', 'D', 'active', NULL, 'USD', '2026-05-03', now())
"""
SEARCH_ROWS = """
INSERT INTO event_search (event_id, listed, category, title_vector, document_vector)
SELECT shopify_product_id, true, category, vector, vector
FROM events, to_tsvector('simple', title) AS vector
"""


@pytest.fixture
async def database(postgres_admin_url: str) -> AsyncIterator[AsyncEngine]:
    name = f"shababco_migration_{os.getpid()}"
    admin = create_async_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    engine = create_async_engine(url)
    yield engine
    await engine.dispose()
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


async def _downgrade(engine: AsyncEngine, revision: str) -> None:
    from alembic import command

    def run(connection: object) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def _rows(engine: AsyncEngine, query: str) -> list[tuple[object, ...]]:
    async with engine.connect() as conn:
        return [tuple(row) for row in (await conn.execute(text(query))).all()]


async def _index_columns(engine: AsyncEngine, name: str) -> str:
    async with engine.connect() as conn:
        query = text("SELECT indexdef FROM pg_indexes WHERE indexname = :name")
        return str(await conn.scalar(query, {"name": name}))


async def test_keys_are_backfilled_and_the_downgrade_restores_0008(database: AsyncEngine) -> None:
    await upgrade_to(database, "0008")
    async with database.begin() as conn:
        await conn.execute(text(EVENTS))
        await conn.execute(text(SEARCH_ROWS))
    await upgrade_to(database, "0009")

    keys = await _rows(database, "SELECT category, category_key FROM events ORDER BY 1")
    assert keys == [("Music", "music"), ("Théâtre", "theatre"), ("music", "music"), (None, None)]
    counts = await _rows(
        database, "SELECT category, category_key, listed FROM listing_counts ORDER BY 1"
    )
    assert counts == [
        ("", None, 1),
        ("Music", "music", 1),
        ("Théâtre", "theatre", 1),
        ("music", "music", 1),
    ]
    days = await _rows(database, "SELECT DISTINCT category_key FROM listing_day_counts ORDER BY 1")
    assert days == [("music",), (None,)]
    copied = await _rows(database, "SELECT event_id, category_key FROM event_search ORDER BY 1")
    assert copied == [(1, "music"), (2, "music"), (3, "theatre"), (4, None)]
    assert "(category_key, start_key" in await _index_columns(
        database, "ix_events_listed_category_start"
    )

    async with database.begin() as conn:  # the trigger keeps counting with the keys
        await conn.execute(
            text(
                "UPDATE events SET category = 'MUSIC', category_key = 'music'"
                " WHERE shopify_product_id = 3"
            )
        )
        await conn.execute(text("UPDATE events SET handle = 'a2' WHERE shopify_product_id = 1"))
    counts = await _rows(
        database,
        "SELECT category, category_key, listed FROM listing_counts WHERE listed > 0 ORDER BY 1",
    )
    assert ("MUSIC", "music", 1) in counts and ("Théâtre", "theatre", 1) not in counts
    assert await _rows(database, "SELECT handle, event_id FROM event_handles") == [("a", 1)]

    await _downgrade(database, "0008")
    assert await _rows(database, "SELECT event_id, category FROM event_search ORDER BY 1") == [
        (1, "Music"),
        (2, "music"),
        (3, "MUSIC"),
        (4, None),
    ]
    assert "(category, start_key" in await _index_columns(
        database, "ix_events_listed_category_start"
    )
    await upgrade_to(database, "head")
