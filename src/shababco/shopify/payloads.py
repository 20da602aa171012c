"""Small readers of Shopify payload values: GIDs, timestamps, money, connections, HTML.

Every reader returns what PostgreSQL can store, or raises PayloadError naming the field: ids and
quantities fit a bigint, money fits its numeric column, timestamps fit `timestamptz`, text holds
no U+0000 (which PostgreSQL's text and jsonb refuse; Shopify never sends it, so it is dropped),
and JSON values nest at most MAX_DEPTH deep (encoders recurse; PostgreSQL limits depth too).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser
from typing import Any

from shababco.catalog.params import MAX_BIGINT

MIN_BIGINT = -MAX_BIGINT - 1
MAX_UNSIGNED = 2**64 - 1  # the largest integer the JSON encoders write
MAX_INT = 2**31 - 1  # an `integer` column (positions)
MAX_DEPTH = 64  # Shopify's payloads nest under 10 deep
MAX_MONEY = Decimal("999999999999.99")  # numeric(14, 2)
NUL = "\x00"
_DIGITS = re.compile(r"-?[0-9]{1,20}")  # ASCII only: str.isdigit() also takes "²" and "٣"


class PayloadError(ValueError):
    """A payload lacks a field we need or carries it with the wrong type or out of range."""


def shown(value: Any, limit: int = 60) -> str:
    """A value as an error message quotes it: repr, cut short (bodies may be a MiB)."""
    if isinstance(value, list | dict):
        return f"a JSON {'list' if isinstance(value, list) else 'object'}"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _whole_number(value: Any) -> int | None:
    """An int from a JSON integer or a string of ASCII digits; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value)
    return None


def parse_id(value: Any, *, field: str = "id") -> int:
    """A Shopify id from a REST integer, a numeric string or a GID (`gid://shopify/Product/1`).

    Shopify's ids are positive 64-bit integers (a `bigint`); anything else is refused.
    """
    if isinstance(value, str):
        value = value.rsplit("/", 1)[-1].split("?", 1)[0]
    number = _whole_number(value)
    if number is None:
        raise PayloadError(f"{field} is not a Shopify id: {shown(value)}")
    if not 0 < number <= MAX_BIGINT:
        raise PayloadError(f"{field} is out of range for a Shopify id: {shown(value)}")
    return number


def optional_id(value: Any, *, field: str) -> int | None:
    return None if value is None else parse_id(value, field=field)


def parse_timestamp(value: Any, *, field: str) -> datetime:
    """An ISO 8601 timestamp; a naive one is taken as UTC, a bare date as its midnight UTC.

    Refused when its UTC instant falls outside years 1-9999 (what Python and the driver hold).
    """
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # Shopify may send nanoseconds
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = None
        if parsed is None and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            parsed = datetime.combine(date.fromisoformat(text), time(), UTC)
        if parsed is not None:
            parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
            try:
                parsed.astimezone(UTC)
            except OverflowError:
                raise PayloadError(f"{field} is out of range: {shown(value)}") from None
            return parsed
    raise PayloadError(f"{field} is not an ISO 8601 timestamp: {shown(value)}")


def optional_timestamp(value: Any, *, field: str) -> datetime | None:
    return None if value in (None, "") else parse_timestamp(value, field=field)


def parse_money(value: Any, *, field: str) -> Decimal:
    """A money amount: Shopify sends strings (`"25"`, `"19.99"`) or `{"amount": ...}`."""
    if isinstance(value, Mapping):
        value = value.get("amount")
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise PayloadError(f"{field} is not an amount: {shown(value)}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise PayloadError(f"{field} is not an amount: {shown(value)}") from None
    if not amount.is_finite() or amount < 0:
        raise PayloadError(f"{field} is not a non-negative amount: {shown(value)}")
    if amount > MAX_MONEY:
        raise PayloadError(f"{field} exceeds {MAX_MONEY}: {shown(value)}")
    return amount.quantize(Decimal("0.01"))


def optional_money(value: Any, *, field: str) -> Decimal | None:
    return None if value in (None, "") else parse_money(value, field=field)


def optional_int(
    value: Any, *, field: str, low: int = MIN_BIGINT, high: int = MAX_BIGINT
) -> int | None:
    """An integer (JSON number or digits) within [low, high], by default a bigint's range."""
    if value is None:
        return None
    number = _whole_number(value)
    if number is None:
        raise PayloadError(f"{field} is not an integer: {shown(value)}")
    if not low <= number <= high:
        raise PayloadError(f"{field} is out of range ({low} to {high}): {shown(value)}")
    return number


def clean_text(value: str) -> str:
    """The text without U+0000, which PostgreSQL cannot store."""
    return value.replace(NUL, "") if NUL in value else value


def optional_text(value: Any, *, field: str) -> str | None:
    """A string field, or None; anything but a string is refused."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{field} must be a string, not {shown(value)}")
    return clean_text(value)


def storable(value: Any, *, field: str = "payload") -> Any:
    """The JSON value as PostgreSQL can store it: U+0000 dropped from every string and key.

    Refused (PayloadError) when it nests deeper than MAX_DEPTH or holds a number JSON cannot
    carry. Checked without recursion first, so a hostile depth cannot exhaust the stack.
    """
    dirty = False
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            dirty = dirty or NUL in item
        elif isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                raise PayloadError(f"{field} nests deeper than {MAX_DEPTH} levels")
            if isinstance(item, dict):
                dirty = dirty or any(NUL in key for key in item if isinstance(key, str))
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise PayloadError(f"{field} holds a number JSON cannot carry: {shown(item)}")
        elif isinstance(item, int) and not MIN_BIGINT <= item <= MAX_UNSIGNED:
            raise PayloadError(f"{field} holds a number beyond 64 bits: {shown(item)}")
    return _without_nul(value) if dirty else value


def _without_nul(value: Any) -> Any:
    """A copy with U+0000 removed from every string (depth already bounded by the caller)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {
            clean_text(key) if isinstance(key, str) else key: _without_nul(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def nodes(value: Any) -> list[Mapping[str, Any]]:
    """The items of a REST list or a GraphQL connection (`nodes` or `edges[].node`)."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        if "nodes" in value:
            value = value["nodes"]
        elif "edges" in value and isinstance(value["edges"], list):
            value = [edge.get("node") for edge in value["edges"] if isinstance(edge, Mapping)]
    if not isinstance(value, list):
        raise PayloadError(f"expected a list or a connection, got {type(value).__name__}")
    return [item for item in value if isinstance(item, Mapping)]


def first_present(payload: Mapping[str, Any], *keys: str) -> tuple[bool, Any]:
    """(True, value) for the first key present in the payload, else (False, None)."""
    for key in keys:
        if key in payload:
            return True, payload[key]
    return False, None


class _TextExtractor(HTMLParser):
    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in {"script", "style"}:
            self._skip += 1
        elif tag in self.BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"} and self._skip:
            self._skip -= 1
        elif tag in self.BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(markup: str | None) -> str | None:
    """Visible text of an HTML fragment, whitespace collapsed."""
    if markup is None:
        return None
    extractor = _TextExtractor()
    extractor.feed(markup)
    extractor.close()
    return " ".join(html.unescape("".join(extractor.parts)).split())


def split_tags(value: Any) -> list[str]:
    """Tags as a list: REST sends one `"a, b"` string, GraphQL a list."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise PayloadError("tags must be a string or a list of strings")
    return [tag for tag in (clean_text(item).strip() for item in items) if tag]
