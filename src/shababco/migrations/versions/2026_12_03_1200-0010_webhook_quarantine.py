"""Quantities as bigints, the trigger time as a tie-breaker, and the inbox's quarantine.

- Quantities and their sums were 32-bit: three ticket types of 999,999,999 overflowed the event's
  total, and every write touching that event failed. Now `bigint`, as Shopify's ids already were.
- Shopify's `updated_at` has one-second resolution: two states of the same second were told apart
  by arrival order, so a retried older delivery won. Events and inventory levels now keep the
  trigger time of the state they hold (`shopify_triggered_at`) to break such ties.
- An inbox row that cannot be applied is quarantined with its reason (`quarantined_at`,
  `last_error`) instead of being left behind silently; failed attempts back off until
  `next_attempt_at`. Applied rows are pruned by `processed_at`.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

QUANTITIES = {
    "events": ("available",),
    "tickets": ("inventory_quantity", "available", "sold"),
    "inventory_levels": ("available",),
    "order_lines": ("quantity",),
    "refund_lines": ("quantity",),
}
TIMESTAMP = postgresql.TIMESTAMP(timezone=True)


def _retype(sql_type: str) -> None:
    for table, columns in QUANTITIES.items():
        changes = ", ".join(f"ALTER COLUMN {name} TYPE {sql_type}" for name in columns)
        op.execute(f"ALTER TABLE {table} {changes}")  # one rewrite per table


def upgrade() -> None:
    _retype("bigint")
    op.add_column("events", sa.Column("shopify_triggered_at", TIMESTAMP, nullable=True))
    op.add_column("inventory_levels", sa.Column("shopify_triggered_at", TIMESTAMP, nullable=True))
    op.add_column(
        "webhook_inbox",
        sa.Column("next_attempt_at", TIMESTAMP, server_default=sa.text("now()"), nullable=False),
    )
    op.add_column("webhook_inbox", sa.Column("quarantined_at", TIMESTAMP, nullable=True))
    # Rows the old worker gave up on (out of attempts) are quarantined with their error.
    op.execute(
        "UPDATE webhook_inbox SET quarantined_at = now()"
        " WHERE processed_at IS NULL AND attempts >= 5"
    )
    op.drop_index("ix_webhook_inbox_pending", table_name="webhook_inbox")
    op.create_index(
        "ix_webhook_inbox_pending",
        "webhook_inbox",
        ["received_at"],
        postgresql_where=sa.text("processed_at IS NULL AND quarantined_at IS NULL"),
    )
    op.create_index(
        "ix_webhook_inbox_quarantined",
        "webhook_inbox",
        ["received_at"],
        postgresql_where=sa.text("quarantined_at IS NOT NULL"),
    )
    op.create_index(
        "ix_webhook_inbox_processed_at",
        "webhook_inbox",
        ["processed_at"],
        postgresql_where=sa.text("processed_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_inbox_processed_at", table_name="webhook_inbox")
    op.drop_index("ix_webhook_inbox_quarantined", table_name="webhook_inbox")
    op.drop_index("ix_webhook_inbox_pending", table_name="webhook_inbox")
    op.create_index(
        "ix_webhook_inbox_pending",
        "webhook_inbox",
        ["received_at"],
        postgresql_where=sa.text("processed_at IS NULL"),
    )
    op.drop_column("webhook_inbox", "quarantined_at")
    op.drop_column("webhook_inbox", "next_attempt_at")
    op.drop_column("inventory_levels", "shopify_triggered_at")
    op.drop_column("events", "shopify_triggered_at")
    # Values beyond 32 bits make this fail, rather than be cut.
    _retype("integer")
