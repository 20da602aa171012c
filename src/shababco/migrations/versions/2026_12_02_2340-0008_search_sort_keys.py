"""The title and price sort keys copied into event_search.

A search sorted by title or price joined every match to its wide `events` row for the key:
about 4 µs per match, 107 ms for a 21,000-match word sorted by price at 100k events. With the
keys beside the vectors, only the page is joined (catalog.queries._matching).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 23:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BACKFILL = """
UPDATE event_search AS s SET title_key = lower(e.title), min_price = e.min_price
FROM events AS e WHERE e.shopify_product_id = s.event_id
"""


def upgrade() -> None:
    op.add_column("event_search", sa.Column("title_key", sa.Text(), nullable=True))
    op.add_column(
        "event_search", sa.Column("min_price", sa.Numeric(precision=14, scale=2), nullable=True)
    )
    # The postings trigger would compare every row's vectors to learn that none changed.
    op.execute("ALTER TABLE event_search DISABLE TRIGGER search_postings_updated")
    op.execute(BACKFILL)
    op.execute("ALTER TABLE event_search ENABLE TRIGGER search_postings_updated")


def downgrade() -> None:
    op.drop_column("event_search", "min_price")
    op.drop_column("event_search", "title_key")
