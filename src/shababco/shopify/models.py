"""Tables beside the catalog: inventory levels, the order ledger, webhook inbox, sync state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shababco.database.core import Base, Timestamp


class InventoryLevel(Base):
    """The newest `available` of one inventory item at one location."""

    __tablename__ = "inventory_levels"

    inventory_item_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    location_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    available: Mapped[int] = mapped_column(BigInteger)
    shopify_updated_at: Mapped[datetime] = mapped_column(Timestamp)
    # The delivery's X-Shopify-Triggered-At (or when a sync asked): breaks ties of updated_at.
    shopify_triggered_at: Mapped[datetime | None] = mapped_column(Timestamp)


class Order(Base):
    """An order's lifecycle facts needed for `sold`; its lines are in `order_lines`."""

    __tablename__ = "orders"

    shopify_order_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(Timestamp)
    shopify_updated_at: Mapped[datetime | None] = mapped_column(Timestamp)


class OrderLine(Base):
    """A line item of an order; kept even when its variant is not mirrored yet (invariant 2)."""

    __tablename__ = "order_lines"

    shopify_line_item_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigInteger)
    variant_id: Mapped[int | None] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_order_lines_variant_id", "variant_id"),
        Index("ix_order_lines_order_id", "order_id"),
    )


class RefundLine(Base):
    """A refunded quantity of one line item."""

    __tablename__ = "refund_lines"

    shopify_refund_line_item_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    refund_id: Mapped[int] = mapped_column(BigInteger)
    order_id: Mapped[int] = mapped_column(BigInteger)
    line_item_id: Mapped[int] = mapped_column(BigInteger)
    variant_id: Mapped[int | None] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_refund_lines_variant_id", "variant_id"),
        # One refund refunds a line item once: a sync that had to invent the refund line's id
        # and the refunds/create webhook carrying the real one must not both count.
        UniqueConstraint("refund_id", "line_item_id"),
    )


class WebhookDelivery(Base):
    """The webhook inbox: one row per Shopify webhook id, so a redelivery is recognised.

    A row is pending until applied (`processed_at`) or quarantined (`quarantined_at`, with its
    reason in `last_error`); a failed attempt sets when the next one may run. Applied rows are
    pruned after a while (`shopify.webhooks.retention`); quarantined ones stay until retried.
    """

    __tablename__ = "webhook_inbox"

    webhook_id: Mapped[str] = mapped_column(Text, primary_key=True)
    topic: Mapped[str] = mapped_column(Text)
    shop_domain: Mapped[str | None] = mapped_column(Text)
    api_version: Mapped[str | None] = mapped_column(Text)
    event_id: Mapped[str | None] = mapped_column(Text)
    triggered_at: Mapped[datetime | None] = mapped_column(Timestamp)
    payload: Mapped[Any] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    processed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    quarantined_at: Mapped[datetime | None] = mapped_column(Timestamp)

    __table_args__ = (
        Index(
            "ix_webhook_inbox_pending",
            "received_at",
            postgresql_where=text("processed_at IS NULL AND quarantined_at IS NULL"),
        ),
        Index(
            "ix_webhook_inbox_quarantined",
            "received_at",
            postgresql_where=text("quarantined_at IS NOT NULL"),
        ),
        Index(
            "ix_webhook_inbox_processed_at",
            "processed_at",
            postgresql_where=text("processed_at IS NOT NULL"),
        ),
    )


class SyncState(Base):
    """Named progress markers of sync and reconciliation (cursors, last successful run)."""

    __tablename__ = "sync_state"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[Any] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
