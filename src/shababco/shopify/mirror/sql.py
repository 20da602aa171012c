"""SQL helpers for writers: any number of ids as one array parameter."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import BigInteger, SQLColumnExpression, any_, literal
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement


def in_ids(
    column: SQLColumnExpression[int] | SQLColumnExpression[int | None], ids: Iterable[int]
) -> ColumnElement[bool]:
    """`column = ANY($1)` with one array parameter, however many ids."""
    return column == any_(literal(list(ids), ARRAY(BigInteger)))
