"""Listed events per category and start day, so a date-filtered total is a sum, not a count.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 01:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

LISTED = "status = 'active' AND deleted_at IS NULL"


def _rows(table: str, delta: int) -> str:
    """The listed rows of a transition table as (category, day, delta); names are constants."""
    return (
        f"SELECT coalesce(category, '') AS category, (start_key AT TIME ZONE 'UTC')::date AS day,"  # noqa: S608
        f" {delta} AS delta FROM {table} WHERE {LISTED}"
    )


def _apply(changes: str, *, with_days: bool = True) -> str:
    """One statement adding the deltas to the totals and, optionally, to the day counts."""
    days = (
        "INSERT INTO listing_day_counts AS counts (category, day, listed) "
        "SELECT category, day, sum(delta) FROM changes WHERE isfinite(day) "
        "GROUP BY 1, 2 HAVING sum(delta) <> 0 ORDER BY 1, 2 "
        "ON CONFLICT (category, day) DO UPDATE SET listed = counts.listed + excluded.listed"
    )
    totals = (
        "INSERT INTO listing_counts AS counts (category, listed) "
        "SELECT category, sum(delta) FROM changes GROUP BY 1 HAVING sum(delta) <> 0 ORDER BY 1 "
        "ON CONFLICT (category) DO UPDATE SET listed = counts.listed + excluded.listed"
    )
    if not with_days:
        return f"WITH changes AS ({changes}) {totals};"
    return f"WITH changes AS ({changes}), totals AS ({totals} RETURNING 1) {days};"


def count_function(*, with_days: bool) -> str:
    """The statement trigger function over the transition tables (rows in key order)."""
    inserted, deleted = _rows("new_rows", 1), _rows("old_rows", -1)
    return f"""
CREATE OR REPLACE FUNCTION shababco_count_listed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_apply(inserted, with_days=with_days)}
    ELSIF TG_OP = 'DELETE' THEN
        {_apply(deleted, with_days=with_days)}
    ELSE
        {_apply(f"{inserted} UNION ALL {deleted}", with_days=with_days)}
    END IF;
    RETURN NULL;
END
$$
"""


BACKFILL = """
INSERT INTO listing_day_counts (category, day, listed)
SELECT coalesce(category, ''), (start_key AT TIME ZONE 'UTC')::date, count(*) FROM events
WHERE status = 'active' AND deleted_at IS NULL AND start_date IS NOT NULL
GROUP BY 1, 2
"""


def upgrade() -> None:
    op.create_table(
        "listing_day_counts",
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("listed", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("category", "day", name=op.f("pk_listing_day_counts")),
    )
    op.execute(count_function(with_days=True))
    op.execute(BACKFILL)


def downgrade() -> None:
    op.execute(count_function(with_days=False))
    op.drop_table("listing_day_counts")
