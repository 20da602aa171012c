"""The mirror's catalog tables: events (Shopify products) and tickets (variants)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Computed,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from shababco.database.core import Base, Money, Timestamp

LISTED = text("status = 'active' AND deleted_at IS NULL")


# Keyset pagination of the public list: a partial index per sort order, the id as tie-breaker,
# carrying the filter columns so filtered and deep pages stay index-only. A category filter
# matches the folded key (migration 0009), never the store's spelling.
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
    "ix_events_listed_category_start": ("category_key", "start_key", "shopify_product_id"),
    # One category in another order starts where the category does (migration 0006).
    "ix_events_listed_category_start_desc": (
        "category_key",
        "coalesce(start_date, '-infinity'::timestamptz)",
        "shopify_product_id",
    ),
    "ix_events_listed_category_title": ("category_key", "lower(title)", "shopify_product_id"),
    "ix_events_listed_category_price": (
        "category_key",
        "coalesce(min_price, 'Infinity'::numeric)",
        "shopify_product_id",
    ),
    "ix_events_listed_category_price_desc": (
        "category_key",
        "coalesce(min_price, '-Infinity'::numeric)",
        "shopify_product_id",
    ),
}
# Index-only scans need every column a key expression reads, besides the filter columns.
LISTED_INCLUDES = {
    "ix_events_listed_start": ("category_key",),
    "ix_events_listed_start_desc": ("start_date", "start_key", "category_key"),
    "ix_events_listed_title": ("title", "start_key", "category_key"),
    "ix_events_listed_price": ("min_price", "start_key", "category_key"),
    "ix_events_listed_price_desc": ("min_price", "start_key", "category_key"),
    "ix_events_listed_category_start": (),
    "ix_events_listed_category_start_desc": ("start_date", "start_key"),
    "ix_events_listed_category_title": ("title", "start_key"),
    "ix_events_listed_category_price": ("min_price", "start_key"),
    "ix_events_listed_category_price_desc": ("min_price", "start_key"),
}


class Event(Base):
    __tablename__ = "events"

    shopify_product_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    handle: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    subtitle: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(Text)
    # The category folded as searches fold words (catalog.search.category_key), written with it:
    # what a category filter matches, so `music` finds `Music` (migration 0009).
    category_key: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    description_html: Mapped[str | None] = mapped_column(Text)
    description_text: Mapped[str | None] = mapped_column(Text)
    start_date: Mapped[datetime | None] = mapped_column(Timestamp)
    end_date: Mapped[datetime | None] = mapped_column(Timestamp)
    # The start as a sort and filter key: undated events sort last and never match a date range.
    start_key: Mapped[datetime] = mapped_column(
        Timestamp,
        Computed("coalesce(start_date, 'infinity'::timestamptz)", persisted=True),
    )
    venue: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    images: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    metafields: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    currency: Mapped[str] = mapped_column(Text)
    # Summaries over visible tickets, kept by the writers so list sorting by price is indexed.
    min_price: Mapped[Decimal | None] = mapped_column(Money)
    available: Mapped[int] = mapped_column(BigInteger, server_default="0")
    shopify_created_at: Mapped[datetime | None] = mapped_column(Timestamp)
    shopify_updated_at: Mapped[datetime] = mapped_column(Timestamp)
    # When the state written was taken (the webhook's X-Shopify-Triggered-At, or when a sync
    # asked the store): breaks ties of `shopify_updated_at`, which has one-second resolution.
    shopify_triggered_at: Mapped[datetime | None] = mapped_column(Timestamp)
    deleted_at: Mapped[datetime | None] = mapped_column(Timestamp)
    synced_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())

    __table_args__ = (
        Index("ix_events_handle", "handle"),
        *(
            Index(
                name,
                *(text(column) for column in columns),
                postgresql_where=LISTED,
                postgresql_include=list(LISTED_INCLUDES[name]),
            )
            for name, columns in LISTED_SORT_INDEXES.items()
        ),
    )


class EventSearch(Base):
    """The searchable text of each event, apart from the wide events rows so that a search
    touching thousands of events reads a narrow, dense table (catalog.search normalizes both)."""

    __tablename__ = "event_search"

    event_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("events.shopify_product_id", ondelete="CASCADE"), primary_key=True
    )
    listed: Mapped[bool] = mapped_column(Boolean)
    # Copies of the events' filter columns, so a search filters and ranks without the wide rows.
    category_key: Mapped[str | None] = mapped_column(Text)
    start_date: Mapped[datetime | None] = mapped_column(Timestamp)
    # Copies of the sort keys of title and price (lower(title), min_price): a search sorted by
    # them reads its matches' keys here, not from the wide events rows (migration 0008).
    title_key: Mapped[str | None] = mapped_column(Text)
    min_price: Mapped[Decimal | None] = mapped_column(Money)
    # The title part: the name (title, subtitle) weighted A, then the labels (category, tags,
    # venue). Matches in the name rank first, then in the labels (catalog.columns._relevance).
    title_vector: Mapped[Any] = mapped_column(TSVECTOR)
    # The same plus the description text.
    document_vector: Mapped[Any] = mapped_column(TSVECTOR)

    __table_args__ = (
        Index(
            "ix_event_search_document_vector",
            "document_vector",
            postgresql_using="gin",
            postgresql_where=text("listed"),
            # No pending list: reads never scan unmerged entries (migration 0005).
            postgresql_with={"fastupdate": "off"},
        ),
    )


class ListingCount(Base):
    """Listed events per category ('' for none), kept exact by a statement trigger on events, so
    the total of an unfiltered or category-filtered list costs a few rows, not a count. Keyed by
    the store's spelling (`/categories` shows it); filters sum the rows of a folded key."""

    __tablename__ = "listing_counts"

    category: Mapped[str] = mapped_column(Text, primary_key=True)
    category_key: Mapped[str | None] = mapped_column(Text)  # NULL for no category
    listed: Mapped[int] = mapped_column(BigInteger, server_default="0")

    __table_args__ = (
        Index("ix_listing_counts_category_key", "category_key", postgresql_include=["listed"]),
    )


class ListingDayCount(Base):
    """Listed events per category and UTC start day (migration 0003 keeps it with the totals),
    so a date-filtered total sums whole days and counts only the two boundary days."""

    __tablename__ = "listing_day_counts"

    category: Mapped[str] = mapped_column(Text, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    category_key: Mapped[str | None] = mapped_column(Text)  # NULL for no category
    listed: Mapped[int] = mapped_column(BigInteger, server_default="0")

    __table_args__ = (
        Index(
            "ix_listing_day_counts_category_key",
            "category_key",
            "day",
            postgresql_include=["listed"],
        ),
    )


class EventHandle(Base):
    """A handle an event no longer has, and that event: its old URL redirects to the current one
    (as Shopify's storefront redirects a renamed product). Written by a trigger on events when a
    handle changes (migration 0009); read only when no event has the handle."""

    __tablename__ = "event_handles"

    handle: Mapped[str] = mapped_column(Text, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("events.shopify_product_id", ondelete="CASCADE")
    )
    retired_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class SearchTerm(Base):
    """Every lexeme of the search documents (kept by the writers, never pruned): what a prefix
    expands to and the vocabulary typos are corrected against."""

    __tablename__ = "search_terms"

    term: Mapped[str] = mapped_column(Text, primary_key=True)

    __table_args__ = (
        Index(
            "ix_search_terms_trgm",
            "term",
            postgresql_using="gist",
            postgresql_ops={"term": "gist_trgm_ops"},
        ),
        # Byte-order ranges, whatever the database collation: `term LIKE 'pre%'` as a range.
        Index("ix_search_terms_prefix", "term", postgresql_ops={"term": "text_pattern_ops"}),
    )


class SearchPosting(Base):
    """One lexeme of one listed event's search document, and where the event holds it.

    Kept by a trigger on event_search (migration 0007). `rank` is 2 in the name, 1 in the labels
    only, 0 in the description only. The key orders each term's events by rank, then newest
    first, so a one-word search counts and pages from the index alone (catalog.search.postings).
    """

    __tablename__ = "search_postings"

    term: Mapped[str] = mapped_column(Text, primary_key=True)
    rank: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class Ticket(Base):
    __tablename__ = "tickets"

    shopify_variant_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("events.shopify_product_id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(Text)
    ticket_type: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, server_default="0")
    price: Mapped[Decimal] = mapped_column(Money)
    compare_at_price: Mapped[Decimal | None] = mapped_column(Money)
    sku: Mapped[str | None] = mapped_column(Text)
    features: Mapped[Any | None] = mapped_column(JSONB)
    restrictions: Mapped[Any | None] = mapped_column(JSONB)
    is_visible: Mapped[bool] = mapped_column(Boolean, server_default="true")
    metafields: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    inventory_item_id: Mapped[int | None] = mapped_column(BigInteger)
    # The variant's own total from product payloads; used until per-location levels are known.
    inventory_quantity: Mapped[int | None] = mapped_column(BigInteger)
    available: Mapped[int] = mapped_column(BigInteger, server_default="0")
    sold: Mapped[int] = mapped_column(BigInteger, server_default="0")
    shopify_updated_at: Mapped[datetime | None] = mapped_column(Timestamp)
    synced_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())

    __table_args__ = (
        Index("ix_tickets_event_id_position", "event_id", "position", "shopify_variant_id"),
        Index("ix_tickets_inventory_item_id", "inventory_item_id"),
    )
