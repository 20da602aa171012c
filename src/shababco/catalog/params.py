"""Validated parameters of the read endpoints, their defaults, and the opaque keyset cursor.

The defaults are the route's (catalog.routes) and the cache key's (catalog.keys). Imports
nothing of the project.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import orjson

MAX_BIGINT = 2**63 - 1  # the largest Shopify id (bigint) a key or a cursor can name


class Sort(StrEnum):
    START_DATE = "start_date"
    START_DATE_DESC = "-start_date"
    TITLE = "title"
    PRICE = "price"
    PRICE_DESC = "-price"
    RELEVANCE = "relevance"

    @property
    def descending(self) -> bool:
        return self.value.startswith("-") or self is Sort.RELEVANCE


class InvalidCursor(ValueError):
    """The cursor is not one this API issued for this ordering."""


@dataclass(frozen=True)
class Cursor:
    """Position after the last item of a page: its sort value (as text) and its id."""

    sort: Sort
    value: str
    last_id: int

    def encode(self) -> str:
        raw = orjson.dumps({"s": self.sort.value, "v": self.value, "i": str(self.last_id)})
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    @classmethod
    def decode(cls, token: str, sort: Sort) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            data = orjson.loads(raw)
            cursor = cls(sort=Sort(data["s"]), value=str(data["v"]), last_id=int(data["i"]))
        except (binascii.Error, ValueError, KeyError, TypeError):
            raise InvalidCursor("cursor is malformed") from None
        if cursor.sort is not sort:
            raise InvalidCursor("cursor belongs to another sort order")
        if not _valid_value(sort, cursor.value):
            raise InvalidCursor("cursor is malformed")
        return cursor


NUMBER = re.compile(r"-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")


def _valid_value(sort: Sort, value: str) -> bool:
    """Whether a cursor's sort value is one the database could have written for this sort (a
    forged one must be refused here, not fail its cast in SQL)."""
    if sort is Sort.RELEVANCE:
        return NUMBER.fullmatch(value) is not None
    if sort in {Sort.PRICE, Sort.PRICE_DESC}:
        return NUMBER.fullmatch(value) is not None or value in {"Infinity", "-Infinity"}
    if sort in {Sort.START_DATE, Sort.START_DATE_DESC}:
        if value in {"infinity", "-infinity"}:
            return True
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return False
    return True


@dataclass(frozen=True)
class EventFilters:
    categories: tuple[str, ...] = ()
    search: str | None = None
    starts_after: datetime | None = None
    starts_before: datetime | None = None


# A list request's defaults: a `sort` without a search (a search's is relevance), `limit`, and
# `page` without a cursor.
DEFAULT_SORT = Sort.START_DATE
DEFAULT_LIMIT = 20
FIRST_PAGE = 1


@dataclass(frozen=True)
class EventListParams:
    filters: EventFilters = field(default_factory=EventFilters)
    sort: Sort = DEFAULT_SORT
    limit: int = DEFAULT_LIMIT
    page: int = FIRST_PAGE
    cursor: Cursor | None = None

    @property
    def offset(self) -> int:
        return 0 if self.cursor else (self.page - 1) * self.limit
