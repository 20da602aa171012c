"""Alembic environment: `shababco.migrate` hands over an open connection."""

from __future__ import annotations

from alembic import context

from shababco.catalog.models import Base
from shababco.shopify import models as _shopify_models  # noqa: F401  (registers the tables)

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
