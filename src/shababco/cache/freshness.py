"""What this process knows of the change log, and whether an entry is still fresh by it."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable


class Generations:
    """Change-log positions: the newest seen, and the newest change of each event and listing.

    An entry stamped `s` (the newest position seen before its query ran) holds the data of every
    change up to `s`, because positions are handed out in commit order. It stays fresh until a
    later change touches what it depends on.
    """

    def __init__(self) -> None:
        self.ready = False
        self.floor = 0  # entries built before this process started may miss changes: ignore them
        self.horizon = 0
        self.listings = 0
        self.events: dict[int, int] = {}
        self._marks: deque[tuple[float, int]] = deque()

    def start(self, seq: int) -> None:
        self.floor = self.horizon = self.listings = seq
        self.ready = True

    def learn(self, seq: int, event_ids: Iterable[int], *, listings: bool) -> None:
        for event_id in event_ids:
            self.events[event_id] = seq
        if listings:
            self.listings = seq
        if seq > self.horizon:
            self.horizon = seq
            self._marks.append((time.monotonic(), seq))

    def fresh(self, stamp: int, event_id: int | None) -> bool:
        if stamp < self.floor:
            return False
        if event_id is None:
            return stamp >= self.listings
        return stamp >= self.events.get(event_id, 0)

    def forget_older_than(self, seconds: float) -> None:
        """Drop event positions no live entry can predate (entries live at most `seconds`)."""
        cutoff, limit = time.monotonic() - seconds, 0
        while self._marks and self._marks[0][0] < cutoff:
            limit = self._marks.popleft()[1]
        if limit:
            self.events = {event: seq for event, seq in self.events.items() if seq > limit}
