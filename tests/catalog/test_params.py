"""The keyset cursor's codec and the date parameters on arbitrary input (hypothesis): what they
accept round-trips and runs in PostgreSQL; everything else is refused with their own error."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.catalog import listing
from shababco.catalog.params import (
    DECIMAL,
    EARLIEST,
    LATEST,
    MAX_BIGINT,
    NUL,
    TIMESTAMP_TEXT,
    Cursor,
    EventFilters,
    InvalidCursor,
    Sort,
    canonical_id,
    parse_instant,
)

FAST = settings(max_examples=1500, derandomize=True, deadline=None)
IN_DATABASE = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=6,
)


def _pg_timestamp(moment: datetime, offset_minutes: int) -> str:
    """A timestamptz as PostgreSQL writes it (`cast(start_key AS text)`)."""
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    fraction = f".{moment.microsecond:06d}".rstrip("0") if moment.microsecond else ""
    zone = f"{sign}{hours:02d}" + (f":{minutes:02d}" if minutes else "")
    return f"{moment.year:04d}-{moment:%m-%d %H:%M:%S}{fraction}{zone}"


def _sort_values(sort: Sort) -> st.SearchStrategy[str]:
    """What the database writes as the sort value of each sort order."""
    if sort in {Sort.START_DATE, Sort.START_DATE_DESC}:
        moments = st.builds(_pg_timestamp, st.datetimes(), st.integers(-959, 959))
        return moments | st.sampled_from(["infinity", "-infinity"])
    if sort in {Sort.PRICE, Sort.PRICE_DESC}:
        prices = st.decimals(0, Decimal("999999999999.99"), places=2).map(str)
        return prices | st.sampled_from(["Infinity", "-Infinity"])
    if sort is Sort.RELEVANCE:
        return st.sampled_from(["0", "1", "2"])
    return st.text().filter(lambda title: NUL not in title)


cursors = st.sampled_from(list(Sort)).flatmap(
    lambda sort: st.builds(Cursor, st.just(sort), _sort_values(sort), st.integers(0, MAX_BIGINT))
)


def _token(payload: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(payload)).rstrip(b"=").decode()


def _accepted_or_refused(token: str, sort: Sort) -> None:
    try:
        cursor = Cursor.decode(token, sort)
    except InvalidCursor:
        return
    assert cursor.sort is sort and 0 <= cursor.last_id <= MAX_BIGINT
    assert isinstance(cursor.value, str) and NUL not in cursor.value


@FAST
@given(cursors)
def test_every_cursor_the_api_issues_decodes_to_itself(cursor: Cursor) -> None:
    assert Cursor.decode(cursor.encode(), cursor.sort) == cursor


@FAST
@given(st.text(max_size=600), st.sampled_from(list(Sort)))
def test_any_text_is_a_cursor_or_refused(token: str, sort: Sort) -> None:
    _accepted_or_refused(token, sort)


@FAST
@given(
    st.fixed_dictionaries(
        {"s": st.sampled_from([s.value for s in Sort]) | JSON, "v": JSON, "i": JSON}
    ),
    st.sampled_from(list(Sort)),
)
def test_any_payload_is_a_cursor_or_refused(payload: dict[str, Any], sort: Sort) -> None:
    _accepted_or_refused(_token(payload), sort)


@IN_DATABASE
@given(
    st.from_regex(TIMESTAMP_TEXT, fullmatch=True)
    | st.from_regex(DECIMAL, fullmatch=True)
    | st.builds(_pg_timestamp, st.datetimes(), st.integers(-959, 959))
)
async def test_every_accepted_sort_value_casts_in_postgresql(
    engine: AsyncEngine, value: str
) -> None:
    for sort, cast in (
        (Sort.START_DATE, "timestamptz"),
        (Sort.PRICE, "numeric"),
        (Sort.RELEVANCE, "float8"),
    ):
        token = Cursor(sort, value, 1).encode()
        try:
            Cursor.decode(token, sort)
        except InvalidCursor:
            continue
        async with engine.connect() as conn:
            await conn.execute(
                text(f"SELECT CAST(CAST(:value AS text) AS {cast})"), {"value": value}
            )


@FAST
@given(st.text(max_size=40) | st.from_regex(r"[0-9]{1,25}", fullmatch=True))
def test_only_canonical_decimal_ids_name_an_event(key: str) -> None:
    canonical = key.isascii() and key.isdigit() and str(int(key)) == key
    expected = int(key) if canonical and int(key) <= MAX_BIGINT else None
    assert canonical_id(key) == expected


instants = (
    st.datetimes(timezones=st.none() | st.timezones()).map(lambda moment: moment.isoformat())
    | st.dates().map(str)
    | st.text(max_size=40)
)


@FAST
@given(instants)
def test_a_date_parameter_is_an_instant_in_range_or_refused(value: str) -> None:
    try:
        moment = parse_instant(value)
    except ValueError:
        return
    assert moment.tzinfo is UTC and EARLIEST <= moment <= LATEST


@IN_DATABASE
@given(instants, instants)
async def test_every_accepted_date_window_is_counted(
    engine: AsyncEngine, after: str, before: str
) -> None:
    try:
        window = EventFilters(
            starts_after=parse_instant(after), starts_before=parse_instant(before)
        )
    except ValueError:
        return
    statement, values = listing.count_query(window)
    async with engine.connect() as conn:
        assert (await conn.execute(statement, values)).scalar_one() >= 0
