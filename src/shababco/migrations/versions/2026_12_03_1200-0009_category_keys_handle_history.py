"""Category filters that ignore case and accents, and the handles events no longer have.

A category filter matched the store's spelling exactly: `?category=music` found nothing where
`Music` found 22. Events now carry `category_key`, the category folded as searches fold words
(written by the writers, here backfilled), and the listed-events indexes lead with it instead of
the category; `event_search` copies the key in place of the category, and the listing counts
carry it beside the store's spelling (which `/categories` shows), kept by the count trigger.

`event_handles` keeps each handle an event gave up, written by a trigger when a handle changes,
so an old URL answers 301 to the current one.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 12:00:00.000000
"""

from __future__ import annotations

import unicodedata
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

LISTED = sa.text("status = 'active' AND deleted_at IS NULL")
SORT_KEYS = {  # the listed-events indexes: their sort columns after the category, and includes
    "start": (("start_key", "shopify_product_id"), ()),
    "start_desc": (
        ("coalesce(start_date, '-infinity'::timestamptz)", "shopify_product_id"),
        ("start_date", "start_key"),
    ),
    "title": (("lower(title)", "shopify_product_id"), ("title", "start_key")),
    "price": (
        ("coalesce(min_price, 'Infinity'::numeric)", "shopify_product_id"),
        ("min_price", "start_key"),
    ),
    "price_desc": (
        ("coalesce(min_price, '-Infinity'::numeric)", "shopify_product_id"),
        ("min_price", "start_key"),
    ),
}

RETIRE_HANDLE = """
CREATE FUNCTION shababco_retire_handle() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_handles AS h (handle, event_id) VALUES (OLD.handle, NEW.shopify_product_id)
    ON CONFLICT (handle) DO UPDATE SET event_id = excluded.event_id, retired_at = now();
    RETURN NULL;
END
$$
"""
RETIRE_HANDLE_TRIGGER = """
CREATE TRIGGER events_retire_handle AFTER UPDATE OF handle ON events FOR EACH ROW
WHEN (OLD.handle IS DISTINCT FROM NEW.handle AND OLD.handle <> '')
EXECUTE FUNCTION shababco_retire_handle()
"""

KEY_EVENTS = """
UPDATE events AS e SET category_key = f.key
FROM unnest(CAST(:categories AS text[]), CAST(:keys AS text[])) AS f(category, key)
WHERE e.category = f.category
"""
KEY_COUNTS = """
UPDATE {table} AS c SET category_key = f.key
FROM unnest(CAST(:categories AS text[]), CAST(:keys AS text[])) AS f(category, key)
WHERE c.category = f.category
"""
COPY_TO_SEARCH = """
UPDATE event_search AS s SET {column} = e.{column}
FROM events AS e WHERE e.shopify_product_id = s.event_id
"""


# The category key of 2026-12-03 (catalog.search.words.category_key), frozen here so that this
# migration writes what it wrote then whatever the application's normalizer becomes.
EXTRA_FOLDS = str.maketrans({"\u0671": "\u0627", "\u0640": None})  # alef wasla, tatweel


def _category_key(category: str) -> str:
    decomposed = unicodedata.normalize("NFKD", category.translate(EXTRA_FOLDS))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return " ".join(unicodedata.normalize("NFC", stripped).casefold().split())


def _rows(table: str, delta: int, *, keyed: bool) -> str:
    """The listed rows of a transition table as (category[, key], day, delta); the key is NULL
    without a category, so that no filter matches the uncategorized row."""
    key = " category_key," if keyed else ""
    return (
        f"SELECT coalesce(category, '') AS category,{key}"  # noqa: S608
        f" (start_key AT TIME ZONE 'UTC')::date AS day, {delta} AS delta"
        f" FROM {table} WHERE status = 'active' AND deleted_at IS NULL"
    )


def count_function(*, keyed: bool) -> str:
    """The statement trigger function keeping listing_counts and listing_day_counts (migration
    0003's), with the category key beside the category when `keyed`. A category has one key;
    `max` only keeps a mixed statement from writing one row twice."""
    key_column, key_value = (", category_key", ", max(category_key)") if keyed else ("", "")
    days = (
        f"INSERT INTO listing_day_counts AS counts (category, day{key_column}, listed) "  # noqa: S608
        f"SELECT category, day{key_value}, sum(delta) FROM changes WHERE isfinite(day) "
        "GROUP BY category, day HAVING sum(delta) <> 0 ORDER BY 1, 2 "
        "ON CONFLICT (category, day) DO UPDATE SET listed = counts.listed + excluded.listed"
    )
    totals = (
        f"INSERT INTO listing_counts AS counts (category{key_column}, listed) "  # noqa: S608
        f"SELECT category{key_value}, sum(delta) FROM changes "
        "GROUP BY category HAVING sum(delta) <> 0 ORDER BY 1 "
        "ON CONFLICT (category) DO UPDATE SET listed = counts.listed + excluded.listed"
    )

    def apply(changes: str) -> str:
        return f"WITH changes AS ({changes}), totals AS ({totals} RETURNING 1) {days};"

    inserted, deleted = _rows("new_rows", 1, keyed=keyed), _rows("old_rows", -1, keyed=keyed)
    return f"""
CREATE OR REPLACE FUNCTION shababco_count_listed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {apply(inserted)}
    ELSIF TG_OP = 'DELETE' THEN
        {apply(deleted)}
    ELSE
        {apply(f"{inserted} UNION ALL {deleted}")}
    END IF;
    RETURN NULL;
END
$$
"""


def _listed_indexes(category: str) -> None:
    """The ten listed-events indexes: each sort order alone (carrying the category column for
    filters) and after the category column."""
    for name, (columns, include) in SORT_KEYS.items():
        op.create_index(
            f"ix_events_listed_{name}",
            "events",
            [sa.literal_column(column) for column in columns],
            postgresql_where=LISTED,
            postgresql_include=[*include, category],
        )
        op.create_index(
            f"ix_events_listed_category_{name}",
            "events",
            [sa.literal_column(column) for column in (category, *columns)],
            postgresql_where=LISTED,
            postgresql_include=list(include),
        )


def _drop_listed_indexes() -> None:
    for name in SORT_KEYS:
        op.drop_index(f"ix_events_listed_{name}", table_name="events")
        op.drop_index(f"ix_events_listed_category_{name}", table_name="events")


def _backfill_keys(bind: Any) -> None:
    """Every category's key, computed once per distinct category."""
    found = bind.execute(sa.text("SELECT DISTINCT category FROM events WHERE category IS NOT NULL"))
    categories = [row.category for row in found]
    values = {"categories": categories, "keys": [_category_key(c) for c in categories]}
    bind.execute(sa.text(KEY_EVENTS), values)
    for table in ("listing_counts", "listing_day_counts"):
        bind.execute(sa.text(KEY_COUNTS.format(table=table)), values)


def upgrade() -> None:
    op.add_column("events", sa.Column("category_key", sa.Text(), nullable=True))
    op.add_column("listing_counts", sa.Column("category_key", sa.Text(), nullable=True))
    op.add_column("listing_day_counts", sa.Column("category_key", sa.Text(), nullable=True))
    _backfill_keys(op.get_bind())
    op.execute(count_function(keyed=True))
    op.alter_column("event_search", "category", new_column_name="category_key")
    # The postings trigger would compare every row's vectors to learn that none changed.
    op.execute("ALTER TABLE event_search DISABLE TRIGGER search_postings_updated")
    op.execute(COPY_TO_SEARCH.format(column="category_key"))
    op.execute("ALTER TABLE event_search ENABLE TRIGGER search_postings_updated")
    _drop_listed_indexes()
    _listed_indexes("category_key")
    op.create_index(
        "ix_listing_counts_category_key",
        "listing_counts",
        ["category_key"],
        postgresql_include=["listed"],
    )
    op.create_index(
        "ix_listing_day_counts_category_key",
        "listing_day_counts",
        ["category_key", "day"],
        postgresql_include=["listed"],
    )
    op.create_table(
        "event_handles",
        sa.Column("handle", sa.Text(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "retired_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.shopify_product_id"],
            name=op.f("fk_event_handles_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("handle", name=op.f("pk_event_handles")),
    )
    op.execute(RETIRE_HANDLE)
    op.execute(RETIRE_HANDLE_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER events_retire_handle ON events")
    op.execute("DROP FUNCTION shababco_retire_handle()")
    op.drop_table("event_handles")
    op.drop_index("ix_listing_day_counts_category_key", table_name="listing_day_counts")
    op.drop_index("ix_listing_counts_category_key", table_name="listing_counts")
    _drop_listed_indexes()
    _listed_indexes("category")
    op.alter_column("event_search", "category_key", new_column_name="category")
    op.execute("ALTER TABLE event_search DISABLE TRIGGER search_postings_updated")
    op.execute(COPY_TO_SEARCH.format(column="category"))
    op.execute("ALTER TABLE event_search ENABLE TRIGGER search_postings_updated")
    op.execute(count_function(keyed=False))
    op.drop_column("listing_day_counts", "category_key")
    op.drop_column("listing_counts", "category_key")
    op.drop_column("events", "category_key")
