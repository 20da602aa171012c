"""Small readers of Shopify payload values: GIDs, timestamps, money, connections, HTML."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser
from typing import Any


class PayloadError(ValueError):
    """A payload lacks a field we need or carries it with the wrong type."""


def parse_id(value: Any, *, field: str = "id") -> int:
    """A Shopify id from a REST integer, a numeric string or a GID (`gid://shopify/Product/1`)."""
    if isinstance(value, bool):
        raise PayloadError(f"{field} must be an id, not a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        tail = value.rsplit("/", 1)[-1].split("?", 1)[0]
        if tail.isdigit():
            return int(tail)
    raise PayloadError(f"{field} is not a Shopify id: {value!r}")


def optional_id(value: Any, *, field: str) -> int | None:
    return None if value is None else parse_id(value, field=field)


def parse_timestamp(value: Any, *, field: str) -> datetime:
    """An ISO 8601 timestamp; a naive one is taken as UTC, a bare date as its midnight UTC."""
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
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise PayloadError(f"{field} is not an ISO 8601 timestamp: {value!r}")


def optional_timestamp(value: Any, *, field: str) -> datetime | None:
    return None if value in (None, "") else parse_timestamp(value, field=field)


def parse_money(value: Any, *, field: str) -> Decimal:
    """A money amount: Shopify sends strings (`"25"`, `"19.99"`) or `{"amount": ...}`."""
    if isinstance(value, Mapping):
        value = value.get("amount")
    if isinstance(value, bool) or value is None:
        raise PayloadError(f"{field} is not an amount: {value!r}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise PayloadError(f"{field} is not an amount: {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise PayloadError(f"{field} is not a non-negative amount: {value!r}")
    return amount.quantize(Decimal("0.01"))


def optional_money(value: Any, *, field: str) -> Decimal | None:
    return None if value in (None, "") else parse_money(value, field=field)


def optional_int(value: Any, *, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PayloadError(f"{field} is not an integer: {value!r}")
    try:
        return int(value)
    except ValueError:
        raise PayloadError(f"{field} is not an integer: {value!r}") from None


def nodes(value: Any) -> list[Mapping[str, Any]]:
    """The items of a REST list or a GraphQL connection (`nodes` or `edges[].node`)."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        if "nodes" in value:
            value = value["nodes"]
        elif "edges" in value:
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
    items: Iterable[Any]
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, Iterable):
        raise PayloadError("tags must be a string or a list")
    return [tag for tag in (str(item).strip() for item in items) if tag]
