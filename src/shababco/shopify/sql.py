"""SQL helpers for writers: array parameters and parameter-bounded multi-row inserts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import BigInteger, SQLColumnExpression, any_, literal
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

# asyncpg binds at most 32,767 parameters per statement; multi-row inserts are cut below that.
MAX_PARAMETERS = 30_000


def in_ids(
    column: SQLColumnExpression[int] | SQLColumnExpression[int | None], ids: Iterable[int]
) -> ColumnElement[bool]:
    """`column = ANY($1)` with one array parameter, however many ids."""
    return column == any_(literal(list(ids), ARRAY(BigInteger)))


def chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    size = max(1, MAX_PARAMETERS // max(1, len(rows[0])))
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
