"""Engines behind a transaction pooler: nothing stays prepared on a server connection."""

from __future__ import annotations

from sqlalchemy import func, literal, select, text

from shababco.config import Settings
from shababco.database.engines import create_engine
from shababco.database.leases import Lease, hold


async def test_without_a_statement_cache_no_statement_outlives_its_execution(
    database_url: str,
) -> None:
    """A named statement left on a server connection is one a pooler may hand to another
    client, and a Bind that reaches another server connection fails: none is left behind."""
    settings = Settings(_env_file=None, db_statement_cache_size=0)
    engine = create_engine(database_url, settings, pool=False)
    try:
        assert await hold(engine, name="probe", holder="test", seconds=-1)  # a write
        async with engine.connect() as conn:
            for n in range(5):
                assert await conn.scalar(select(literal(n) + 1)) == n + 1
            await conn.execute(select(Lease).where(Lease.name == func.lower("PROBE")))
            prepared = await conn.scalar(text("SELECT count(*) FROM pg_prepared_statements"))
        assert prepared == 0
    finally:
        await engine.dispose()
