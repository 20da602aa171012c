"""The search lexicon holds every lexeme of the search documents, indexed for prefix lookups.

A search expands each prefix to the lexicon's terms so the GIN index matches exact entries
(which it intersects by skipping) instead of prefixes (whose every posting it collects first).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 22:40:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BACKFILL = """
INSERT INTO search_terms (term)
SELECT DISTINCT unnest(tsvector_to_array(document_vector)) FROM event_search ORDER BY 1
ON CONFLICT DO NOTHING
"""


def upgrade() -> None:
    op.create_index(
        "ix_search_terms_prefix",
        "search_terms",
        ["term"],
        postgresql_ops={"term": "text_pattern_ops"},
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    # The added terms stay: a larger vocabulary only widens typo corrections slightly.
    op.drop_index("ix_search_terms_prefix", table_name="search_terms")
