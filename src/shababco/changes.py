"""What a write changed, announced to whoever keeps derived state (the response cache).

Writers (webhooks, sync, reconcile) call `publish` after their transaction commits, with the ids
of the events whose representation changed. `listings` says whether list and category responses
may have changed too (almost always; an unlisted event's stock is the exception).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Changes:
    event_ids: frozenset[int] = field(default_factory=frozenset)
    listings: bool = True

    @classmethod
    def of(cls, event_ids: Iterable[int], *, listings: bool = True) -> Changes:
        return cls(event_ids=frozenset(event_ids), listings=listings)

    def __bool__(self) -> bool:
        return bool(self.event_ids)


Listener = Callable[[Changes], Awaitable[None]]


class ChangeFeed:
    """Process-local fan-out of committed changes to listeners."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def publish(self, changes: Changes) -> None:
        if not changes:
            return
        for listener in self._listeners:
            try:
                await listener(changes)
            except Exception:
                # A cache that cannot be told is degraded, not a reason to fail the write.
                log.exception("change listener failed")
