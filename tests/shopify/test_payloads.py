"""The payload readers return only what PostgreSQL can store, or refuse naming the field."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from shababco.shopify.payloads import (
    MAX_DEPTH,
    PayloadError,
    optional_int,
    parse_id,
    parse_money,
    parse_timestamp,
    split_tags,
    storable,
)


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (788032119674292922, 788032119674292922),
        ("42", 42),
        ("gid://shopify/Product/9223372036854775807", 2**63 - 1),
        ("gid://shopify/Product/7?x=1", 7),
    ],
)
def test_ids_are_read_from_integers_strings_and_gids(value: Any, expected: int) -> None:
    assert parse_id(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("²", "not a Shopify id"),  # a digit to str.isdigit(), not to int()
        ("٣", "not a Shopify id"),
        ("5" * 5000, "not a Shopify id"),  # more digits than int() converts
        (2**63, "out of range"),
        ("gid://shopify/Product/9223372036854775808", "out of range"),
        (0, "out of range"),
        (-4, "out of range"),
        (True, "not a Shopify id"),
        (1.5, "not a Shopify id"),
        ({"id": 1}, "not a Shopify id: a JSON object"),
    ],
)
def test_ids_a_bigint_cannot_hold_are_refused(value: Any, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        parse_id(value, field="variant id")


def test_integers_fit_their_column() -> None:
    assert optional_int(2**63 - 1, field="available") == 2**63 - 1
    assert optional_int("-3", field="available") == -3
    for bad in (2**63, -(2**63) - 1, "99999999999999999999", "1e3", "²", [1]):
        with pytest.raises(PayloadError, match="available"):
            optional_int(bad, field="available")
    with pytest.raises(PayloadError, match=r"position is out of range \(0 to 2147483647\)"):
        optional_int(2**31, field="position", low=0, high=2**31 - 1)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1e100000", "exceeds"),  # finite to Decimal, but no numeric(14, 2) holds it
        ("1000000000000", "exceeds"),
        ("NaN", "non-negative amount"),
        ("Infinity", "non-negative amount"),
        ({"amount": [1]}, "not an amount"),
        (None, "not an amount"),
    ],
)
def test_money_beyond_its_column_is_refused(value: Any, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        parse_money(value, field="price")


def test_money_within_its_column_is_kept() -> None:
    assert parse_money("999999999999.99", field="price") == Decimal("999999999999.99")
    assert parse_money(25, field="price") == Decimal("25.00")


def test_timestamps_outside_what_the_driver_holds_are_refused() -> None:
    assert parse_timestamp("9999-12-31T10:00:00+00:00", field="t").year == 9999
    assert parse_timestamp("2026-01-01T00:00:00.123456789Z", field="t") == datetime(
        2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC
    )
    for bad in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00", "10000-01-01"):
        with pytest.raises(PayloadError, match="updated_at"):
            parse_timestamp(bad, field="updated_at")


def test_storable_drops_nul_from_strings_and_keys() -> None:
    value = {"note\x00": "gift\x00", "list": ["a\x00b", 1, None, {"k": "\x00"}]}
    assert storable(value) == {"note": "gift", "list": ["ab", 1, None, {"k": ""}]}
    clean = {"a": ["b"]}
    assert storable(clean) is clean  # nothing to drop: not copied


def test_storable_bounds_depth_without_recursing() -> None:
    assert storable(nested(MAX_DEPTH)) == nested(MAX_DEPTH)
    # Deeper than json.dumps can encode (it recurses): refused, not a RecursionError.
    for depth in (MAX_DEPTH + 1, 1_020, 100_000):
        with pytest.raises(PayloadError, match="nests deeper than 64"):
            storable(nested(depth))
    deep = orjson.loads(b"[" * 1_000 + b"]" * 1_000)
    with pytest.raises(PayloadError):
        storable({"body": deep})
    with pytest.raises(RecursionError):
        json.dumps(nested(5_000))  # what storing it used to do


def test_storable_refuses_numbers_json_cannot_carry() -> None:
    for bad in (float("nan"), float("inf"), 2**64, -(2**63) - 1):
        with pytest.raises(PayloadError, match="payload holds"):
            storable({"x": [bad]})
    assert storable([2**64 - 1, -(2**63)]) == [2**64 - 1, -(2**63)]


def test_tags_must_be_text() -> None:
    assert split_tags("a, b\x00c ,") == ["a", "bc"]
    assert split_tags(["x", " y "]) == ["x", "y"]
    for bad in ([{"a": 1}], 5, {"a": "b"}):
        with pytest.raises(PayloadError, match="tags"):
            split_tags(bad)
