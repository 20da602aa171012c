"""What a write changed, announced to whoever keeps derived state (the response cache).

Writers (webhooks, sync, reconcile) call `publish` after their transaction commits, with the ids
of the events whose representation changed. `listings` says whether list and category responses
may have changed too (almost always; an unlisted event's stock is the exception).

Given an engine, the feed first appends the change to the PostgreSQL change log (`cache.changelog`)
so that every process, whatever its Redis, learns of it; listeners then get its sequence number.
A writer may instead append within its own transaction (`record`) and `announce` after commit.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shababco.cache.changelog import append_change, record_change

log = logging.getLogger(__name__)
RECORD_RETRY_DELAYS = (0.1, 0.3, 1.0)


@dataclass(frozen=True)
class Changes:
    event_ids: frozenset[int] = field(default_factory=frozenset)
    listings: bool = True
    seq: int | None = None  # its place in the change log, once recorded

    @classmethod
    def of(cls, event_ids: Iterable[int], *, listings: bool = True) -> Changes:
        return cls(event_ids=frozenset(event_ids), listings=listings)

    def __bool__(self) -> bool:
        return bool(self.event_ids)


Listener = Callable[[Changes], Awaitable[None]]


class ChangeFeed:
    """Process-local fan-out of committed changes to listeners."""

    def __init__(self, engine: AsyncEngine | None = None) -> None:
        self._engine = engine
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def publish(self, changes: Changes) -> None:
        """Record committed changes in the log (in a transaction of their own), then announce
        them."""
        if not changes:
            return
        if self._engine is not None:
            changes = dataclasses.replace(changes, seq=await _record(self._engine, changes))
        await self.announce(changes)

    async def record(self, conn: AsyncConnection, changes: Changes) -> Changes:
        """Append `changes` to the log within the writer's transaction on `conn`, as its last
        statement (one transaction less than `publish`); `announce` the result once committed.
        Without an engine the feed keeps no log, and the changes stay unrecorded."""
        if not changes or self._engine is None:
            return changes
        seq = await append_change(conn, changes.event_ids, listings=changes.listings)
        return dataclasses.replace(changes, seq=seq)

    async def announce(self, changes: Changes) -> None:
        """Tell the listeners of committed changes."""
        if not changes:
            return
        for listener in self._listeners:
            try:
                await listener(changes)
            except Exception:
                # A cache that cannot be told is degraded, not a reason to fail the write.
                log.exception("change listener failed")


async def _record(engine: AsyncEngine, changes: Changes) -> int | None:
    """Append to the change log, retrying briefly: the data is already committed."""
    for delay in (*RECORD_RETRY_DELAYS, None):
        try:
            return await record_change(engine, changes.event_ids, listings=changes.listings)
        except Exception as exc:
            if delay is None:
                # Other processes serve these events from their caches until the TTLs expire.
                log.error("change to %d events not recorded: %r", len(changes.event_ids), exc)
                break
            await asyncio.sleep(delay)
    return None
