"""Apply Alembic migrations, and open a database migrated as each command needs it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.config import Settings
from shababco.database.engines import Database, open_database

if TYPE_CHECKING:  # Alembic (and Mako, Pygments) load only when a migration runs: ~11 MB
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# Serialises concurrent upgrades (several workers starting at once) on one database.
UPGRADE_LOCK_KEY = 0x5348_4142_0001


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option(
        "file_template",
        "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d-%%(rev)s_%%(slug)s",
    )
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({UPGRADE_LOCK_KEY})")
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database to `revision`; safe to call from several processes at once."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, revision)


@asynccontextmanager
async def migrated_database(
    settings: Settings, *, pool: bool = True, revision: str | None = None
) -> AsyncIterator[Database]:
    """The database, open for the block and disposed after it.

    Migrated to `revision` when one is given; otherwise to head on the embedded default only (a
    configured database is migrated by `shababco db upgrade`, as a deployment step).
    """
    database = await asyncio.to_thread(open_database, settings, pool=pool)
    try:
        if revision is not None or database.embedded is not None:
            await upgrade(database.write, revision or "head")
        yield database
    finally:
        await database.dispose()
