"""The deployment's identity, for the shared cache, and leases for leader-only jobs.

`deployment` holds one random id, made when this migration first runs: a database created anew
gets a new one, so two deployments sharing a Redis never share cache entries because their
databases happen to have the same name. `leases` names who runs a leader-only job
(reconciliation) until when: a row, so that it works through a transaction pooler, where no
session-level lock can be held.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployment",
        # One row: the key can only be true.
        sa.Column("singleton", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column(
            "id", postgresql.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False
        ),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("singleton", name=op.f("pk_deployment")),
        sa.CheckConstraint("singleton", name=op.f("ck_deployment_one_row")),
    )
    op.execute("INSERT INTO deployment DEFAULT VALUES")
    op.create_table(
        "leases",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_table("deployment")
