"""Search postings: one row per (lexeme, listed event), kept by a trigger on event_search.

A GIN index returns row addresses, so counting or ordering its matches visits every matching
row: 18,000 of them took 20-24 ms at 100k events. The postings' primary key answers the same
questions from the index alone: how many events hold a term, and which ones, best placed first
(in the name, in the labels, in the description only), newest first (catalog.postings).

The title vectors are rewritten first with the event's name weighted A, which tells the name
from the labels (category, tags, venue) in the title part.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 21:30:00.000000
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from shababco.shopify.apply import title_texts

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BATCH = 2000

EVENTS = """
SELECT e.shopify_product_id, e.title, e.subtitle, e.category, e.tags, e.venue
FROM events AS e JOIN event_search AS s ON s.event_id = e.shopify_product_id
ORDER BY 1
"""

REWEIGH = """
UPDATE event_search AS s
SET title_vector = setweight(to_tsvector('simple', shababco_unaccent(b.name)), 'A')
    || to_tsvector('simple', shababco_unaccent(b.labels))
FROM unnest(CAST(:ids AS bigint[]), CAST(:names AS text[]), CAST(:labels AS text[]))
    AS b(id, name, labels)
WHERE s.event_id = b.id
"""

# Where an event holds a lexeme: 2 in its name (weight A), 1 in its labels, 0 elsewhere.
RANK = """CASE
    WHEN {term} = ANY (tsvector_to_array(ts_filter({row}.title_vector, '{{a}}'))) THEN 2
    WHEN {term} = ANY (tsvector_to_array({row}.title_vector)) THEN 1
    ELSE 0 END"""

FUNCTION = f"""
CREATE FUNCTION shababco_search_postings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.listed THEN
        DELETE FROM search_postings AS p
        USING unnest(tsvector_to_array(OLD.document_vector)) AS gone(term)
        WHERE p.term = gone.term
          AND p.rank = {RANK.format(term="gone.term", row="OLD")}
          AND p.event_id = OLD.event_id;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.listed THEN
        INSERT INTO search_postings (term, rank, event_id)
        SELECT kept.term, {RANK.format(term="kept.term", row="NEW")}, NEW.event_id
        FROM unnest(tsvector_to_array(NEW.document_vector)) AS kept(term);
    END IF;
    RETURN NULL;
END
$$
"""  # noqa: S608 (constants only)

CHANGED = (
    "OLD.listed IS DISTINCT FROM NEW.listed"
    " OR OLD.title_vector IS DISTINCT FROM NEW.title_vector"
    " OR OLD.document_vector IS DISTINCT FROM NEW.document_vector"
)

BACKFILL = f"""
INSERT INTO search_postings (term, rank, event_id)
SELECT d.term, {RANK.format(term="d.term", row="s")}, s.event_id
FROM event_search AS s, unnest(tsvector_to_array(s.document_vector)) AS d(term)
WHERE s.listed
ORDER BY 1, 2, 3
"""  # noqa: S608 (constants only)

# JIT compiles a plan whose estimated cost passes jit_above_cost: 200 ms of compiling for a
# one-word search that runs in 1 ms, whenever a prefix's expansion is overestimated. A read
# model of millisecond statements has nothing to gain from it. A role that may not alter its
# database keeps the server's setting, with a notice.
NO_JIT = """
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'jit stays as configured: % may not alter its database', current_user;
END
$$
"""


def _reweigh_titles(bind: Any) -> None:
    """Rewrite every title vector as the writers now do (apply.refresh_search)."""
    rows = bind.execute(sa.text(EVENTS)).all()
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        texts = [title_texts(row) for row in batch]
        bind.execute(
            sa.text(REWEIGH),
            {
                "ids": [row.shopify_product_id for row in batch],
                "names": [name for name, _ in texts],
                "labels": [labels for _, labels in texts],
            },
        )


def upgrade() -> None:
    _reweigh_titles(op.get_bind())
    op.create_table(
        "search_postings",
        sa.Column("term", sa.Text(), nullable=False),
        sa.Column("rank", sa.SmallInteger(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
    )
    op.execute(BACKFILL)
    # Built after the backfill (one sort instead of 100k-event-many insertions).
    op.create_primary_key("pk_search_postings", "search_postings", ["term", "rank", "event_id"])
    op.execute(FUNCTION)
    op.execute(
        "CREATE TRIGGER search_postings_written AFTER INSERT OR DELETE ON event_search"
        " FOR EACH ROW EXECUTE FUNCTION shababco_search_postings()"
    )
    op.execute(
        "CREATE TRIGGER search_postings_changed AFTER UPDATE ON event_search"
        f" FOR EACH ROW WHEN ({CHANGED}) EXECUTE FUNCTION shababco_search_postings()"
    )
    op.execute(NO_JIT)


def downgrade() -> None:
    # The title vectors keep their weights: unweighted readers match them all the same.
    op.execute(NO_JIT.replace("SET jit = off", "RESET jit"))
    op.execute("DROP TRIGGER search_postings_changed ON event_search")
    op.execute("DROP TRIGGER search_postings_written ON event_search")
    op.execute("DROP FUNCTION shababco_search_postings()")
    op.drop_table("search_postings")
