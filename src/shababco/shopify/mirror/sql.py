"""SQL helpers for writers: any number of ids as one array parameter, sums held in a bigint, and
why the database refused a write."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import BigInteger, SQLColumnExpression, any_, cast, func, literal, literal_column
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ColumnElement

from shababco.catalog.params import MAX_BIGINT


def in_ids(
    column: SQLColumnExpression[int] | SQLColumnExpression[int | None], ids: Iterable[int]
) -> ColumnElement[bool]:
    """`column = ANY($1)` with one array parameter, however many ids."""
    return column == any_(literal(list(ids), ARRAY(BigInteger)))


def saturated(total: ColumnElement[Any]) -> ColumnElement[int]:
    """A sum held within a bigint: quantities are bigints, but their sum could pass one.

    No store reaches 9.2e18 tickets; a hostile payload could, and an overflow would fail every
    write to the event. Within range the sum is exact.
    """
    low = literal_column(str(-MAX_BIGINT - 1), BigInteger)
    high = literal_column(str(MAX_BIGINT), BigInteger)
    bounded = func.least(func.greatest(total, low), high)
    return cast(bounded, BigInteger)


def refusal(exc: DBAPIError) -> str:
    """Why the database refused a write, as the driver says it (SQLAlchemy's text adds the
    statement), without the value an error quotes: a payload's content is not for logs."""
    message = str(exc.orig).split("\n", 1)[0]
    if message.startswith("invalid input for query argument") and " (" in message:
        head, _, why = message.rpartition(" (")  # "…argument $3: <value> (why)"
        message = f"{head.split(':', 1)[0]} ({why}"
    elif message.startswith("invalid input syntax for type"):
        message = message.split(":", 1)[0]  # "…for type integer: "<value>""
    return message
