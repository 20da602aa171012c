"""Relay connections with Shopify's pagination rules and opaque cursors."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import GraphQLError

MAX_PAGE_SIZE = 250
SortKey = tuple[Any, ...]


@dataclass
class Edge:
    node: object
    cursor: str


@dataclass
class Connection:
    """One page of a list; resolvers for every `*Connection` type read this."""

    nodes: list[object]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool

    @property
    def edges(self) -> list[Edge]:
        """Pair each node with its cursor."""
        return [Edge(node, cursor) for node, cursor in zip(self.nodes, self.cursors, strict=True)]

    def page_info(self) -> dict[str, object]:
        """Return the PageInfo object of this page."""
        return {
            "hasNextPage": self.has_next_page,
            "hasPreviousPage": self.has_previous_page,
            "startCursor": self.cursors[0] if self.cursors else None,
            "endCursor": self.cursors[-1] if self.cursors else None,
        }


def encode_cursor(key: SortKey) -> str:
    """Turn a sort key into an opaque cursor."""
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def decode_cursor(cursor: str) -> SortKey:
    """Turn an opaque cursor back into its sort key, or fail like Shopify."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return tuple(orjson.loads(base64.urlsafe_b64decode(padded)))
    except (ValueError, orjson.JSONDecodeError) as error:
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor}") from error


def paginate(
    items: Sequence[object],
    key_of: Callable[[Any], SortKey],
    args: dict[str, Any],
    *,
    unbounded: bool = False,
) -> Connection:
    """Slice `items` (already sorted by `key_of`) by first/last/after/before."""
    first, last = args.get("first"), args.get("last")
    if not unbounded:
        _check_page_size(first, last)
    window = list(items)
    if args.get("after"):
        after = decode_cursor(args["after"])
        window = [item for item in window if _after(key_of(item), after, args)]
    if args.get("before"):
        before = decode_cursor(args["before"])
        window = [item for item in window if _after(before, key_of(item), args)]
    has_next = has_previous = False
    if first is not None and not unbounded:
        has_next = len(window) > first
        window = window[:first]
    elif last is not None and not unbounded:
        has_previous = len(window) > last
        window = window[len(window) - last :] if last else []
    has_previous = has_previous or bool(args.get("after"))
    has_next = has_next or bool(args.get("before"))
    cursors = [encode_cursor(key_of(item)) for item in window]
    return Connection(window, cursors, has_next, has_previous)


def _after(key: SortKey, reference: SortKey, args: dict[str, Any]) -> bool:
    """True if `key` sorts strictly after `reference` in the requested direction."""
    return bool(key < reference) if args.get("reverse") else bool(key > reference)


def _check_page_size(first: int | None, last: int | None) -> None:
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PAGE_SIZE:
            raise GraphQLError(
                f"The value of the argument `{name}` must be between 0 and {MAX_PAGE_SIZE}."
            )
