"""Make the real database refuse some writes with a chosen SQLSTATE, as a real failure would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

POISON = "Poison"  # the title of the events refused by default
FUNCTION = """
CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF {condition} THEN
    RAISE EXCEPTION 'refused for the test' USING ERRCODE = '{state}';
  END IF;
  RETURN NEW;
END $$
"""
TRIGGER = """
CREATE TRIGGER test_refuse BEFORE INSERT OR UPDATE ON {table}
  FOR EACH ROW EXECUTE FUNCTION test_refuse()
"""
TABLES = ("events", "orders")


async def refuse_poison(
    engine: AsyncEngine,
    state: str | None,
    *,
    table: str = "events",
    condition: str = f"NEW.title = '{POISON}'",
) -> None:
    """Refuse writes of `table` rows meeting `condition` with SQLSTATE `state` from now on;
    None stops refusing."""
    async with engine.begin() as conn:
        for known in TABLES:
            await conn.execute(text(f"DROP TRIGGER IF EXISTS test_refuse ON {known}"))
        await conn.execute(text("DROP FUNCTION IF EXISTS test_refuse()"))
        if state is not None:
            await conn.execute(text(FUNCTION.format(condition=condition, state=state)))
            await conn.execute(text(TRIGGER.format(table=table)))


@asynccontextmanager
async def refusing(engine: AsyncEngine, state: str, **where: str) -> AsyncIterator[None]:
    await refuse_poison(engine, state, **where)
    try:
        yield
    finally:
        await refuse_poison(engine, None)
