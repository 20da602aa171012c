"""Chaos knobs for webhook delivery: drops, duplicates, reordering and delay."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Generic, TypeVar

Item = TypeVar("Item")


@dataclass
class ChaosSettings:
    """How badly the network behaves; all zero means Shopify on a good day."""

    duplicate_rate: float = 0.0
    reorder_window: int = 0
    drop_rate: float = 0.0
    delay_min: float = 0.0
    delay_max: float = 0.0

    def as_dict(self) -> dict[str, float | int]:
        """The JSON shape of the control API."""
        return {
            "duplicate_rate": self.duplicate_rate,
            "reorder_window": self.reorder_window,
            "drop_rate": self.drop_rate,
            "delay_min": self.delay_min,
            "delay_max": self.delay_max,
        }


@dataclass
class ChaosGate(Generic[Item]):
    """Sits between an event and its first delivery attempt and misbehaves on purpose."""

    settings: ChaosSettings
    rng: random.Random
    release: Callable[[Item, float], None]
    copy: Callable[[Item], Item] = replace  # type: ignore[assignment]
    buffer: list[Item] = field(default_factory=list)
    dropped: int = 0
    duplicated: int = 0
    last_admit: float = 0.0

    def admit(self, item: Item) -> int:
        """Take one delivery in; return how many copies will eventually be released."""
        if self.rng.random() < self.settings.drop_rate:
            self.dropped += 1
            return 0
        copies = [item]
        if self.rng.random() < self.settings.duplicate_rate:
            self.duplicated += 1
            copies.append(self.copy(item))
        self.last_admit = time.monotonic()
        for copy in copies:
            if self.settings.reorder_window > 1:
                self.buffer.append(copy)
                if len(self.buffer) >= self.settings.reorder_window:
                    self._release(self.buffer.pop(self.rng.randrange(len(self.buffer))))
            else:
                self._release(copy)
        return len(copies)

    def flush_if_idle(self, idle_seconds: float) -> None:
        """Release what the reorder window holds once no new delivery came for a while."""
        if self.buffer and time.monotonic() - self.last_admit >= idle_seconds:
            self.rng.shuffle(self.buffer)
            held, self.buffer = self.buffer, []
            for item in held:
                self._release(item)

    def _release(self, item: Item) -> None:
        low, high = self.settings.delay_min, max(self.settings.delay_min, self.settings.delay_max)
        self.release(item, self.rng.uniform(low, high) if high > 0 else 0.0)
