"""Execute the read side's statements as SQL compiled once, with positional values.

Each statement is built once per shape (listing, detail, search); compiling it once as well and
handing the driver its SQL skips what SQLAlchemy does on every execution of a compiled
statement: the cache lookup and the construction of every bound value (a two-word search binds
54, nearly all of them constants). That was 0.1-0.45 ms of a 1-3 ms search here. The rows are
the driver's values, which for the read side's column types are SQLAlchemy's too
(tests/catalog/test_run.py compares both ways). A statement with a parameter to expand (an IN
list) or to convert runs through `execute`. Imported by listing, detail and search; imports
nothing of the project.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

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


async def rows(
    conn: AsyncConnection, statement: Statement, values: Mapping[str, Any] | None = None
) -> Sequence[Row[Any]]:
    """All rows of the statement with these values for its bound parameters."""
    values = values or {}
    compiled = _compiled(statement, conn.dialect)
    if compiled is None:
        result = await conn.execute(statement, dict(values))
    else:
        given, defaults = values, compiled.defaults
        positional = tuple(given[n] if n in given else defaults[n] for n in compiled.names)
        result = await conn.exec_driver_sql(compiled.sql, positional)
    found: Sequence[Row[Any]] = result.all()
    return found
