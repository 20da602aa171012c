"""Search postings: one row per (lexeme, listed event), kept by a trigger on event_search.

A GIN index returns row addresses, so counting or ordering its matches visits every matching
row: 18,000 of them took 20-24 ms at 100k events. The postings' primary key answers the same
questions from the index alone: how many events hold a term, and which ones, title holders
first, newest first (catalog.postings).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 21:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

FUNCTION = """
CREATE FUNCTION shababco_search_postings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.listed THEN
        DELETE FROM search_postings AS p
        USING unnest(tsvector_to_array(OLD.document_vector)) AS gone(term)
        WHERE p.term = gone.term
          AND p.in_title = (gone.term = ANY (tsvector_to_array(OLD.title_vector)))
          AND p.event_id = OLD.event_id;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.listed THEN
        INSERT INTO search_postings (term, in_title, event_id)
        SELECT kept.term, kept.term = ANY (tsvector_to_array(NEW.title_vector)), NEW.event_id
        FROM unnest(tsvector_to_array(NEW.document_vector)) AS kept(term);
    END IF;
    RETURN NULL;
END
$$
"""

CHANGED = (
    "OLD.listed IS DISTINCT FROM NEW.listed"
    " OR OLD.title_vector IS DISTINCT FROM NEW.title_vector"
    " OR OLD.document_vector IS DISTINCT FROM NEW.document_vector"
)

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

BACKFILL = """
INSERT INTO search_postings (term, in_title, event_id)
SELECT d.term, d.term = ANY (tsvector_to_array(s.title_vector)), s.event_id
FROM event_search AS s, unnest(tsvector_to_array(s.document_vector)) AS d(term)
WHERE s.listed
ORDER BY 1, 2, 3
"""


def upgrade() -> None:
    op.create_table(
        "search_postings",
        sa.Column("term", sa.Text(), nullable=False),
        sa.Column("in_title", sa.Boolean(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
    )
    op.execute(BACKFILL)
    # Built after the backfill (one sort instead of 100k-event-many insertions).
    op.create_primary_key("pk_search_postings", "search_postings", ["term", "in_title", "event_id"])
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
    op.execute(NO_JIT.replace("SET jit = off", "RESET jit"))
    op.execute("DROP TRIGGER search_postings_changed ON event_search")
    op.execute("DROP TRIGGER search_postings_written ON event_search")
    op.execute("DROP FUNCTION shababco_search_postings()")
    op.drop_table("search_postings")
