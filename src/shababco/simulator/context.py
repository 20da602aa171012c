"""Per-request execution context shared by every resolver."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shababco.simulator.store import Store

Resolver = Callable[[Any, dict[str, Any], "ExecContext"], Any]


@dataclass
class ShopSettings:
    """What the shop looks like from the outside (domain, plan, public base URL)."""

    domain: str
    plan: str
    api_version: str
    base_url: str


@dataclass
class BulkWindow:
    """The slice of root objects one chunk of a bulk operation executes over."""

    offset: int
    size: int
    total: int = 0


@dataclass
class ExecContext:
    store: Store
    shop: ShopSettings
    api_version: str
    bulk: BulkWindow | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def window(self, items: list[Any]) -> list[Any]:
        """In a bulk operation return the current chunk of the root list, else the list."""
        if self.bulk is None:
            return items
        self.bulk.total = len(items)
        return items[self.bulk.offset : self.bulk.offset + self.bulk.size]
