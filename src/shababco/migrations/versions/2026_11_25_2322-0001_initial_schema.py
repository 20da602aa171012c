"""Initial schema: catalog, inventory levels, order ledger, webhook inbox, sync state.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 23:22:48.232222
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


# pg_trgm and unaccent are trusted extensions (PostgreSQL 13+): a database owner may create them.
# unaccent() is only STABLE and depends on search_path; a wrapper with an explicit dictionary
# gives writers one stable way to fold accents into the search vectors.
UNACCENT_FUNCTION = """
CREATE OR REPLACE FUNCTION shababco_unaccent(text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$
"""

# Exact listed-event counts per category, adjusted once per statement from its transition
# tables; rows are touched in category order so concurrent writers cannot deadlock.
COUNT_LISTED_FUNCTION = """
CREATE OR REPLACE FUNCTION shababco_count_listed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO listing_counts AS counts (category, listed)
        SELECT coalesce(category, ''), count(*) FROM new_rows
        WHERE status = 'active' AND deleted_at IS NULL GROUP BY 1 ORDER BY 1
        ON CONFLICT (category) DO UPDATE SET listed = counts.listed + excluded.listed;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO listing_counts AS counts (category, listed)
        SELECT coalesce(category, ''), -count(*) FROM old_rows
        WHERE status = 'active' AND deleted_at IS NULL GROUP BY 1 ORDER BY 1
        ON CONFLICT (category) DO UPDATE SET listed = counts.listed + excluded.listed;
    ELSE
        INSERT INTO listing_counts AS counts (category, listed)
        SELECT category, sum(delta) FROM (
            SELECT coalesce(category, '') AS category, 1 AS delta FROM new_rows
            WHERE status = 'active' AND deleted_at IS NULL
            UNION ALL
            SELECT coalesce(category, ''), -1 FROM old_rows
            WHERE status = 'active' AND deleted_at IS NULL
        ) AS changes GROUP BY 1 HAVING sum(delta) <> 0 ORDER BY 1
        ON CONFLICT (category) DO UPDATE SET listed = counts.listed + excluded.listed;
    END IF;
    RETURN NULL;
END
$$
"""
COUNT_LISTED_TRIGGERS = {
    "INSERT": "NEW TABLE AS new_rows",
    "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "OLD TABLE AS old_rows",
}

LISTED = sa.text("status = 'active' AND deleted_at IS NULL")
# Keyset pagination of the public list: a partial index per sort order, the id as tie-breaker,
# carrying the filter columns so filtered and deep pages stay index-only.
LISTED_SORT_INDEXES = {
    "ix_events_listed_start": ("start_key", "shopify_product_id"),
    "ix_events_listed_start_desc": (
        "coalesce(start_date, '-infinity'::timestamptz)",
        "shopify_product_id",
    ),
    "ix_events_listed_title": ("lower(title)", "shopify_product_id"),
    "ix_events_listed_price": ("coalesce(min_price, 'Infinity'::numeric)", "shopify_product_id"),
    "ix_events_listed_price_desc": (
        "coalesce(min_price, '-Infinity'::numeric)",
        "shopify_product_id",
    ),
    "ix_events_listed_category_start": ("category", "start_key", "shopify_product_id"),
}
# Index-only scans need every column a key expression reads, besides the filter columns.
LISTED_INCLUDES = {
    "ix_events_listed_start": ("category",),
    "ix_events_listed_start_desc": ("start_date", "start_key", "category"),
    "ix_events_listed_title": ("title", "start_key", "category"),
    "ix_events_listed_price": ("min_price", "start_key", "category"),
    "ix_events_listed_price_desc": ("min_price", "start_key", "category"),
    "ix_events_listed_category_start": (),
}


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public")
    op.execute(UNACCENT_FUNCTION)
    op.create_table(
        "events",
        sa.Column("shopify_product_id", sa.BigInteger(), nullable=False),
        sa.Column("handle", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("subtitle", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("tags", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("description_html", sa.Text(), nullable=True),
        sa.Column("description_text", sa.Text(), nullable=True),
        sa.Column("start_date", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("end_date", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "start_key",
            postgresql.TIMESTAMP(timezone=True),
            sa.Computed("coalesce(start_date, 'infinity'::timestamptz)", persisted=True),
            nullable=False,
        ),
        sa.Column("venue", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "images", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column(
            "metafields",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("min_price", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("available", sa.Integer(), server_default="0", nullable=False),
        sa.Column("shopify_created_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("shopify_updated_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("deleted_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "synced_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("shopify_product_id", name=op.f("pk_events")),
    )
    op.create_index("ix_events_handle", "events", ["handle"])
    for name, columns in LISTED_SORT_INDEXES.items():
        op.create_index(
            name,
            "events",
            [sa.literal_column(column) for column in columns],
            postgresql_where=LISTED,
            postgresql_include=list(LISTED_INCLUDES[name]),
        )
    op.create_table(
        "event_search",
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("start_date", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("title_vector", postgresql.TSVECTOR(), nullable=False),
        sa.Column("document_vector", postgresql.TSVECTOR(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.shopify_product_id"],
            name=op.f("fk_event_search_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_event_search")),
    )
    op.create_index(
        "ix_event_search_document_vector",
        "event_search",
        ["document_vector"],
        postgresql_using="gin",
        postgresql_where=sa.text("listed"),
    )
    op.create_table(
        "listing_counts",
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("listed", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("category", name=op.f("pk_listing_counts")),
    )
    op.execute(COUNT_LISTED_FUNCTION)
    for event, transition_tables in COUNT_LISTED_TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER events_count_listed_{event.lower()} AFTER {event} ON events "
            f"REFERENCING {transition_tables} FOR EACH STATEMENT "
            "EXECUTE FUNCTION shababco_count_listed()"
        )
    op.create_table(
        "search_terms",
        sa.Column("term", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("term", name=op.f("pk_search_terms")),
    )
    op.create_index(
        "ix_search_terms_trgm",
        "search_terms",
        ["term"],
        postgresql_using="gist",
        postgresql_ops={"term": "gist_trgm_ops"},
    )
    op.create_table(
        "inventory_levels",
        sa.Column("inventory_item_id", sa.BigInteger(), nullable=False),
        sa.Column("location_id", sa.BigInteger(), nullable=False),
        sa.Column("available", sa.Integer(), nullable=False),
        sa.Column("shopify_updated_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "inventory_item_id", "location_id", name=op.f("pk_inventory_levels")
        ),
    )
    op.create_table(
        "order_lines",
        sa.Column("shopify_line_item_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("variant_id", sa.BigInteger(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("shopify_line_item_id", name=op.f("pk_order_lines")),
    )
    op.create_index("ix_order_lines_order_id", "order_lines", ["order_id"], unique=False)
    op.create_index("ix_order_lines_variant_id", "order_lines", ["variant_id"], unique=False)
    op.create_table(
        "orders",
        sa.Column("shopify_order_id", sa.BigInteger(), nullable=False),
        sa.Column("cancelled_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("shopify_updated_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("shopify_order_id", name=op.f("pk_orders")),
    )
    op.create_table(
        "refund_lines",
        sa.Column("shopify_refund_line_item_id", sa.BigInteger(), nullable=False),
        sa.Column("refund_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("line_item_id", sa.BigInteger(), nullable=False),
        sa.Column("variant_id", sa.BigInteger(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.UniqueConstraint("refund_id", "line_item_id", name=op.f("uq_refund_lines_refund_id")),
        sa.PrimaryKeyConstraint("shopify_refund_line_item_id", name=op.f("pk_refund_lines")),
    )
    op.create_index("ix_refund_lines_variant_id", "refund_lines", ["variant_id"], unique=False)
    op.create_table(
        "sync_state",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("value", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "updated_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sync_state")),
    )
    op.create_table(
        "webhook_inbox",
        sa.Column("webhook_id", sa.Text(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("shop_domain", sa.Text(), nullable=True),
        sa.Column("api_version", sa.Text(), nullable=True),
        sa.Column("event_id", sa.Text(), nullable=True),
        sa.Column("triggered_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "received_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("processed_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("webhook_id", name=op.f("pk_webhook_inbox")),
    )
    op.create_index(
        "ix_webhook_inbox_pending",
        "webhook_inbox",
        ["received_at"],
        unique=False,
        postgresql_where=sa.text("processed_at IS NULL"),
    )
    op.create_table(
        "tickets",
        sa.Column("shopify_variant_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("ticket_type", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("price", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("compare_at_price", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("sku", sa.Text(), nullable=True),
        sa.Column("features", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("restrictions", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("is_visible", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "metafields",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("inventory_item_id", sa.BigInteger(), nullable=True),
        sa.Column("inventory_quantity", sa.Integer(), nullable=True),
        sa.Column("available", sa.Integer(), server_default="0", nullable=False),
        sa.Column("sold", sa.Integer(), server_default="0", nullable=False),
        sa.Column("shopify_updated_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "synced_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.shopify_product_id"],
            name=op.f("fk_tickets_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("shopify_variant_id", name=op.f("pk_tickets")),
    )
    op.create_index(
        "ix_tickets_event_id_position",
        "tickets",
        ["event_id", "position", "shopify_variant_id"],
        unique=False,
    )
    op.create_index("ix_tickets_inventory_item_id", "tickets", ["inventory_item_id"], unique=False)


def downgrade() -> None:
    for table in (
        "search_terms",
        "listing_counts",
        "event_search",
        "tickets",
        "webhook_inbox",
        "sync_state",
        "refund_lines",
        "orders",
        "order_lines",
        "inventory_levels",
        "events",
    ):
        op.drop_table(table)
    op.execute("DROP FUNCTION IF EXISTS shababco_unaccent(text)")
    op.execute("DROP FUNCTION IF EXISTS shababco_count_listed()")
