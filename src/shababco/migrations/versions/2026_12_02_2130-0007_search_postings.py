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

# ruff: noqa: S608  (every statement here is built from constants)
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from alembic import op

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


def _postings(rows: str) -> str:
    """SELECT (term, rank, event_id) of the listed rows of `rows`: rank 2 where the name (weight
    A) holds the lexeme, 1 where the labels do, 0 elsewhere. Names are constants."""
    return (
        "SELECT d.term, CASE"
        " WHEN d.term = ANY (tsvector_to_array(ts_filter(r.title_vector, '{a}'))) THEN 2"
        " WHEN d.term = ANY (tsvector_to_array(r.title_vector)) THEN 1 ELSE 0 END AS rank,"
        f" r.event_id FROM {rows} AS r, unnest(tsvector_to_array(r.document_vector)) AS d(term)"
        " WHERE r.listed"
    )


# The rows of one side whose search fields differ on the other (symmetric, so either way round).
CHANGED_ROWS = (
    "(SELECT o.* FROM {side} AS o JOIN {other} AS n USING (event_id)"
    " WHERE o.listed IS DISTINCT FROM n.listed OR o.title_vector IS DISTINCT FROM n.title_vector"
    " OR o.document_vector IS DISTINCT FROM n.document_vector)"
)

# Statement triggers: a batch of upserts writes its postings in one sorted statement, where a
# trigger per row wrote each event's 30 postings apart (a 10,000-event sync: +7-23% wall time).
FUNCTIONS = {
    "shababco_postings_inserted": f"""
        INSERT INTO search_postings (term, rank, event_id)
        {_postings("inserted")} ORDER BY 1, 2, 3""",
    "shababco_postings_deleted": f"""
        DELETE FROM search_postings AS p USING ({_postings("deleted")}) AS gone
        WHERE p.term = gone.term AND p.rank = gone.rank AND p.event_id = gone.event_id""",
    # Only what changed: postings the old rows had and the new lack, and the other way round.
    "shababco_postings_updated": f"""
        WITH before AS ({_postings(CHANGED_ROWS.format(side="old_rows", other="new_rows"))}),
        after AS ({_postings(CHANGED_ROWS.format(side="new_rows", other="old_rows"))}),
        gone AS (
            DELETE FROM search_postings AS p
            USING (SELECT * FROM before EXCEPT SELECT * FROM after) AS g
            WHERE p.term = g.term AND p.rank = g.rank AND p.event_id = g.event_id
        )
        INSERT INTO search_postings (term, rank, event_id)
        SELECT * FROM (SELECT * FROM after EXCEPT SELECT * FROM before) AS a ORDER BY 1, 2, 3""",
}
TRIGGERS = {  # trigger: (event, transition tables, function)
    "search_postings_inserted": ("INSERT", "NEW TABLE AS inserted", "shababco_postings_inserted"),
    "search_postings_deleted": ("DELETE", "OLD TABLE AS deleted", "shababco_postings_deleted"),
    "search_postings_updated": (
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "shababco_postings_updated",
    ),
}

BACKFILL = f"""
INSERT INTO search_postings (term, rank, event_id)
{_postings("event_search")}
ORDER BY 1, 2, 3
"""

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


# The search text of 2026-12-02, frozen here so that this migration writes what it wrote then
# whatever the application's normalizer becomes.
ARABIC_PREFIXES = ("وال", "بال", "فال", "كال", "لل", "ال", "و", "ب")
ARABIC_LETTERS = re.compile(r"[\u0621-\u064a]")
TOKEN = re.compile(r"[^\W_]+")
EXTRA_FOLDS = str.maketrans({"\u0671": "\u0627", "\u0640": None})  # alef wasla, tatweel
MIN_STEM = 2


def _normalize(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(EXTRA_FOLDS))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", stripped).casefold()


def _variants(token: str) -> list[str]:
    variants = [token]
    if ARABIC_LETTERS.match(token):
        for prefix in ARABIC_PREFIXES:
            stem = token[len(prefix) :]
            if token.startswith(prefix) and len(stem) >= MIN_STEM and stem not in variants:
                variants.append(stem)
    return variants


def _search_text(parts: Iterable[str | None]) -> str:
    words: list[str] = []
    for part in parts:
        for token in TOKEN.findall(_normalize(part or "")):
            words.extend(_variants(token))
    return " ".join(words)


def _title_texts(row: Any) -> tuple[str, str]:
    """The searchable name (title, subtitle) and labels (category, tags, venue) of an event."""
    venue = row.venue if isinstance(row.venue, dict) else {}
    venue_parts = [str(venue[key]) for key in ("name", "city") if venue.get(key)]
    labels = _search_text([row.category, *(row.tags or []), *venue_parts])
    return _search_text([row.title, row.subtitle]), labels


def _reweigh_titles(bind: Any) -> None:
    """Rewrite every title vector as the writers now do (apply.refresh_search)."""
    rows = bind.execute(sa.text(EVENTS)).all()
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        texts = [_title_texts(row) for row in batch]
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
    for name, body in FUNCTIONS.items():
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN {body}; RETURN NULL; END $$"
        )
    for trigger, (event, tables, function) in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {trigger} AFTER {event} ON event_search REFERENCING {tables}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )
    op.execute(NO_JIT)


def downgrade() -> None:
    # The title vectors keep their weights: unweighted readers match them all the same.
    op.execute(NO_JIT.replace("SET jit = off", "RESET jit"))
    for trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER {trigger} ON event_search")
    for name in FUNCTIONS:
        op.execute(f"DROP FUNCTION {name}()")
    op.drop_table("search_postings")
