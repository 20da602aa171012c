"""The list's query parameters as FastAPI reads them, each with the schema OpenAPI shows.

One rule for all of them: a parameter given blank (empty, or only spaces and tabs) is the same as
one not given, as an HTML form sends its empty fields; the schemas say so, so that anything else
they do not describe is refused. Numbers are ASCII digits, a NUL is refused in every text
(PostgreSQL text cannot hold it), and dates are ISO 8601 within the calendar
(catalog.params.parse_instant): all 422 before any query runs. Imported by routes; imports params.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

from shababco.catalog.params import (
    DEFAULT_LIMIT,
    INSTANT,
    INSTANT_FORMAT,
    NUL,
    Sort,
    parse_instant,
)

MAX_PAGE = 100_000
MAX_LIMIT = 100
MAX_TEXT = 200  # a search, or one category
MAX_CURSOR = 512
MAX_CATEGORIES = 200
WITHOUT_NUL = "^[^\\u0000]*$"
BLANK = re.compile(r"[ \t]*")
DIGITS = re.compile(r"[0-9]{1,9}")
# What every parameter also takes, as if it were not given.
BLANK_SCHEMA = {"type": "string", "pattern": r"^[ \t]*$"}
EMPTY_MEANS_ABSENT = " Given blank (empty, or spaces), the same as not given."


def is_blank(value: object) -> bool:
    """Whether a parameter's value counts as not given."""
    return isinstance(value, str) and BLANK.fullmatch(value) is not None


def _absent_if_empty(value: object) -> object:
    """None for a blank value: the parameter was not given."""
    return None if is_blank(value) else value


def _integer(value: object) -> object:
    """The number of ASCII digits (no sign, no `1_0`, no `٣`); None if blank."""
    if not isinstance(value, str) or is_blank(value):
        return _absent_if_empty(value)
    if DIGITS.fullmatch(value) is None:
        raise ValueError("expected a whole number in ASCII digits")
    return int(value)


def _without_nul(value: str) -> str:
    if NUL in value:
        raise ValueError("must not contain a NUL character")
    return value


def _instant(value: object) -> datetime | None:
    if value is None or is_blank(value):
        return None
    if not isinstance(value, str):
        raise ValueError(f"expected {INSTANT_FORMAT}")
    return parse_instant(value)


def _text_schema(description: str, max_length: int) -> dict[str, Any]:
    return {
        "type": "string",
        "maxLength": max_length,
        "pattern": WITHOUT_NUL,
        "description": description + EMPTY_MEANS_ABSENT,
    }


def _instant_schema(description: str) -> dict[str, Any]:
    return {
        "anyOf": [
            {"type": "string", "format": "date"},
            {"type": "string", "format": "date-time"},
            {"type": "string", "pattern": f"^{INSTANT.pattern}$"},
            BLANK_SCHEMA,
        ],
        "description": (
            f"{description}: a date (midnight UTC) or a date-time (without an offset, UTC), from"
            " 0001-01-01T00:00:00Z to 9999-12-30T23:59:59Z. A `+` in an offset is sent as `%2B`."
            + EMPTY_MEANS_ABSENT
        ),
        "examples": ["2026-12-01", "2026-12-01T18:00:00+03:00"],
    }


Text = Annotated[str, AfterValidator(_without_nul)]

Page = Annotated[
    Annotated[int, Field(ge=1, le=MAX_PAGE)] | None,
    BeforeValidator(_integer),
    Query(),
    WithJsonSchema(
        {
            "anyOf": [{"type": "integer", "minimum": 1, "maximum": MAX_PAGE}, BLANK_SCHEMA],
            "description": "1-based page; not with `cursor` (400)." + EMPTY_MEANS_ABSENT,
        }
    ),
]
Limit = Annotated[
    Annotated[int, Field(ge=1, le=MAX_LIMIT)] | None,
    BeforeValidator(_integer),
    Query(),
    WithJsonSchema(
        {
            "anyOf": [{"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}, BLANK_SCHEMA],
            "default": DEFAULT_LIMIT,
            "description": "Items per page." + EMPTY_MEANS_ABSENT,
        }
    ),
]
CursorText = Annotated[
    Annotated[Text, Field(max_length=MAX_CURSOR)] | None,
    BeforeValidator(_absent_if_empty),
    Query(),
    WithJsonSchema(
        _text_schema(
            "The `next_cursor` of the previous page, with the same filters and sort; not with"
            " `page` (400). One this API did not issue, or issued for another sort: 400.",
            MAX_CURSOR,
        )
    ),
]
Categories = Annotated[
    list[Annotated[Text, Field(max_length=MAX_TEXT)]] | None,
    Query(max_length=MAX_CATEGORIES),
    WithJsonSchema(
        {
            "type": "array",
            "items": {"type": "string", "maxLength": MAX_TEXT, "pattern": WITHOUT_NUL},
            "maxItems": MAX_CATEGORIES,
            "description": (
                "Events of any of these categories (repeat the parameter), ignoring case and"
                " accents as search does. A blank value is ignored."
            ),
        }
    ),
]
SearchText = Annotated[
    Annotated[Text, Field(max_length=MAX_TEXT)] | None,
    BeforeValidator(_absent_if_empty),
    Query(),
    WithJsonSchema(
        _text_schema(
            "Words to find (prefixes, typos tolerated) in titles, labels and descriptions. A"
            " search without a letter or digit finds nothing: an empty page, total 0.",
            MAX_TEXT,
        )
    ),
]
StartsAfter = Annotated[
    datetime | None,
    BeforeValidator(_instant),
    Query(),
    WithJsonSchema(_instant_schema("Events starting at or after this")),
]
StartsBefore = Annotated[
    datetime | None,
    BeforeValidator(_instant),
    Query(),
    WithJsonSchema(_instant_schema("Events starting before this")),
]
SortOrder = Annotated[
    Sort | None,
    BeforeValidator(_absent_if_empty),
    Query(),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "enum": [sort.value for sort in Sort]}, BLANK_SCHEMA],
            "description": (
                "`start_date` by default, `relevance` (best first) when searching; `relevance`"
                " needs a search (422)." + EMPTY_MEANS_ABSENT
            ),
        }
    ),
]
