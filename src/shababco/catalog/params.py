"""Validated parameters of the read endpoints, their defaults, and the opaque keyset cursor.

The defaults are the route's (catalog.routes) and the cache key's (catalog.keys). Imports
nothing of the project.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

import orjson

MAX_BIGINT = 2**63 - 1  # the largest Shopify id (bigint) a key or a cursor can name
NUL = "\x00"  # PostgreSQL text cannot hold it: refused in every parameter before any query
# What PostgreSQL writes for each sort key as text (catalog.listing's `sort_value`): a cursor's
# value must be one of these, or its cast in SQL could fail.
EVENT_ID = re.compile(r"0|[1-9][0-9]{0,18}")
DECIMAL = re.compile(r"-?[0-9]{1,20}(?:\.[0-9]{1,20})?")
TIMESTAMP_TEXT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
    r"[+-](?:0[0-9]|1[0-5])(?::[0-5][0-9]){0,2}"  # PostgreSQL's offsets: within ±15:59:59
)


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
        """The cursor of `token` if this API could have issued it for `sort`: anything else,
        forged or damaged, is refused here rather than failing its cast in SQL."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            data = orjson.loads(raw)
            cursor = cls(sort=Sort(data["s"]), value=data["v"], last_id=_event_id(data["i"]))
        except (binascii.Error, ValueError, KeyError, TypeError):
            raise InvalidCursor("cursor is malformed") from None
        if cursor.sort is not sort:
            raise InvalidCursor("cursor belongs to another sort order")
        if not isinstance(cursor.value, str) or not _valid_value(sort, cursor.value):
            raise InvalidCursor("cursor is malformed")
        return cursor


def _event_id(text: object) -> int:
    """A cursor's event id: the decimal text of a bigint, as `encode` writes it."""
    if not isinstance(text, str) or EVENT_ID.fullmatch(text) is None or int(text) > MAX_BIGINT:
        raise ValueError("not an event id")
    return int(text)


def canonical_id(key: str) -> int | None:
    """The event id `key` names if it is one written canonically (ASCII digits, no leading zero,
    within bigint), else None: every other spelling would give one event several URLs."""
    if EVENT_ID.fullmatch(key) is None or int(key) > MAX_BIGINT:
        return None
    return int(key)


def _valid_value(sort: Sort, value: str) -> bool:
    """Whether a cursor's sort value is one the database could have written for this sort."""
    if sort is Sort.RELEVANCE:
        return DECIMAL.fullmatch(value) is not None
    if sort in {Sort.PRICE, Sort.PRICE_DESC}:
        return DECIMAL.fullmatch(value) is not None or value in {"Infinity", "-Infinity"}
    if sort in {Sort.START_DATE, Sort.START_DATE_DESC}:
        if value in {"infinity", "-infinity"}:
            return True
        if TIMESTAMP_TEXT.fullmatch(value) is None:
            return False
        try:
            datetime.fromisoformat(value)
        except ValueError:  # a field out of range: month 13, hour 25
            return False
        return True
    return NUL not in value  # a title


# `starts_after` and `starts_before`: a date (midnight UTC) or a date-time (without an offset,
# UTC), whose UTC day lies within what every layer can compute with (a day after it included).
INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[Tt][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})?)?"
)
EARLIEST = datetime(1, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)
INSTANT_FORMAT = "YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|+HH:MM|-HH:MM], + sent as %2B"


def parse_instant(text: str) -> datetime:
    """The UTC instant of a date or date-time parameter; ValueError says what is wrong."""
    text = text.strip()
    if INSTANT.fullmatch(text) is None:
        raise ValueError(f"expected {INSTANT_FORMAT}")
    try:
        value = datetime.fromisoformat(text.upper())
    except ValueError as exc:
        raise ValueError(f"not a valid date: {exc}") from None
    try:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if EARLIEST <= value <= LATEST:
            return value
    except OverflowError:  # its UTC time falls outside the calendar
        pass
    raise ValueError("out of range: from 0001-01-01T00:00:00Z to 9999-12-30T23:59:59Z")


@dataclass(frozen=True)
class EventFilters:
    # Folded category keys (catalog.search.category_key): a filter ignores case and accents.
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
