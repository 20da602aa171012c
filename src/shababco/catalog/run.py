"""Execute the read side's statements as SQL compiled once, with positional values.

Each statement is built once per shape (listing, detail, search); compiling it once as well and
handing the driver its SQL skips what SQLAlchemy does on every execution of a compiled
statement: the cache lookup and the construction of every bound value (a two-word search binds
54, nearly all of them constants). That was 0.1-0.45 ms of a 1-3 ms search here. The rows are
the driver's values, which for the read side's column types are SQLAlchemy's too
(tests/catalog/test_run.py compares both ways). A statement with a parameter to expand (an IN
list) or to convert runs through `execute`.

The hottest reads (an event, its tickets) go one step further with `driver_rows`: the driver's
own connection runs the SQL, skipping SQLAlchemy's execution path (its greenlet hop, execution
events and result metadata, built anew for every statement given as SQL): 0.1-0.15 ms of CPU per
statement here. Imported by listing, detail and search; imports the database engines (the
statement timing).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import asyncpg
from sqlalchemy import Row, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.util import greenlet_spawn

from shababco import metrics
from shababco.database.engines import main_table

Statement = Select[*tuple[Any, ...]]  # any row shape
STATEMENTS = 1024  # compiled statements kept per process: the shapes' caches hold as many


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the value of each positional parameter, in order
    defaults: Mapping[str, Any]  # the values bound in the statement itself (its constants)


@lru_cache(maxsize=STATEMENTS)
def _compiled(statement: Statement, dialect: Dialect) -> _Compiled | None:
    """The statement's SQL and parameter order, or None if its values need SQLAlchemy."""
    compiled = statement.compile(dialect=dialect)
    if compiled.positiontup is None or compiled.post_compile_params:
        return None
    for bind in compiled.binds.values():
        if bind.type.dialect_impl(dialect).bind_processor(dialect) is not None:
            return None
    binds = compiled.binds.items()
    constants = {name: bind.effective_value for name, bind in binds if not bind.required}
    return _Compiled(compiled.string, tuple(compiled.positiontup), constants)


def _positional(compiled: _Compiled, values: Mapping[str, Any]) -> tuple[Any, ...]:
    defaults = compiled.defaults
    return tuple(values[n] if n in values else defaults[n] for n in compiled.names)


async def rows(
    conn: AsyncConnection, statement: Statement, values: Mapping[str, Any] | None = None
) -> Sequence[Row[Any]]:
    """All rows of the statement with these values for its bound parameters."""
    values = values or {}
    compiled = _compiled(statement, conn.dialect)
    if compiled is None:
        result = await conn.execute(statement, dict(values))
    else:
        result = await conn.exec_driver_sql(compiled.sql, _positional(compiled, values))
    found: Sequence[Row[Any]] = result.all()
    return found


class Record(asyncpg.Record):  # type: ignore[misc]  # asyncpg ships no types
    """A row of `driver_rows`: its columns read as attributes too, as SQLAlchemy's rows do."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


async def driver_rows(
    engine: AsyncEngine, statement: Statement, values: Mapping[str, Any]
) -> list[Record]:
    """All rows of the statement, run by the driver on a connection of the engine's pool.

    The connection is lent as the pool's own (no SQLAlchemy `Connection` around it: a quarter
    of the cost of `engine.connect()`), for one statement that needs no transaction. The values
    are the driver's, as `rows` gives them; the statement is timed into `db_query_time_seconds`
    as the engines time theirs. Without a statement cache (a transaction pooler) the driver
    sends unnamed statements parsed again with every execution, as the engines' do. A
    connection the error closed is invalidated, not handed back to the pool. Only for
    statements `rows` would run precompiled.
    """
    compiled = _compiled(statement, engine.dialect)
    assert compiled is not None, "a statement with values for SQLAlchemy to process"
    positional = _positional(compiled, values)
    pooled = await engine.raw_connection()
    try:
        driver: asyncpg.Connection = pooled.driver_connection
        started = time.perf_counter()
        try:
            found: list[Record] = await driver.fetch(compiled.sql, *positional, record_class=Record)
        except BaseException:
            if driver.is_closed():
                await greenlet_spawn(pooled.invalidate)
            raise
        metrics.query_timed(main_table(compiled.sql), time.perf_counter() - started)
    finally:
        await greenlet_spawn(pooled.close)  # back to the pool, which may close it: a greenlet
    return found
