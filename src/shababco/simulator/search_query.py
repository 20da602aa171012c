"""Shopify search syntax for `products(query:)`: field:value terms with comparators."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from shababco.simulator.models import Product

Predicate = Callable[[Product], bool]

_TERM = re.compile(
    r"""(?P<neg>-)?(?:(?P<field>[a-z_]+):)?(?P<op><=|>=|<|>|=)?"""
    r"""(?:'(?P<sq>[^']*)'|"(?P<dq>[^"]*)"|(?P<bare>[^\s]+))"""
)
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "=": lambda a, b: a == b,
}


def parse_time(text: str) -> datetime:
    """Parse an ISO date or date-time as Shopify search accepts it (UTC when no offset)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def product_filter(query: str | None) -> Predicate:
    """Compile a products search query into a predicate; unknown fields match everything."""
    predicates: list[Predicate] = []
    for match in _TERM.finditer(query or ""):
        value = match["sq"] if match["sq"] is not None else match["dq"] or match["bare"] or ""
        if match["field"] is None and value.upper() in {"AND", "OR"}:
            continue
        predicate = _term(match["field"], match["op"] or "=", value)
        predicates.append(_negate(predicate) if match["neg"] else predicate)
    return lambda product: all(predicate(product) for predicate in predicates)


def _negate(predicate: Predicate) -> Predicate:
    return lambda product: not predicate(product)


def _term(field: str | None, op: str, value: str) -> Predicate:
    compare = _COMPARE[op]
    if field in {"updated_at", "created_at", "published_at"}:
        moment = parse_time(value)
        attribute = field
        return lambda p: (
            getattr(p, attribute) is not None and compare(getattr(p, attribute), moment)
        )
    if field == "id":
        number = int(value.rsplit("/", 1)[-1])
        return lambda p: compare(p.id, number)
    if field == "status":
        statuses = {part.strip().lower() for part in value.split(",")}
        return lambda p: p.status in statuses
    if field in {"product_type", "vendor", "handle"}:
        wanted, attribute = value.lower(), field
        return lambda p: str(getattr(p, attribute)).lower() == wanted
    if field == "tag":
        return lambda p: value.lower() in (tag.lower() for tag in p.tags)
    if field in {None, "title"}:
        needle = value.lower().rstrip("*")
        return lambda p: (
            needle in p.title.lower()
            or (field is None and any(needle in tag.lower() for tag in p.tags))
        )
    return lambda p: True
