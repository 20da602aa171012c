"""The paths each read of bench.suite rotates, the same shapes for the old and the new API."""

from __future__ import annotations

import itertools
import random
from urllib.parse import quote

from bench.catalog_data import AR_WORDS, CATEGORIES, EN_WORDS

READS = ("list", "detail", "search", "tickets")
FIRST_ID = 8_000_000_000_000  # bench.catalog_data's first product id


def generated_ids(events: int, count: int, rng: random.Random) -> list[str]:
    """Ids of active generated events (bench.catalog_data drafts every 20th)."""
    active = [index for index in range(events) if index % 20]
    return [str(FIRST_ID + index) for index in rng.sample(active, min(count, len(active)))]


def read_paths(read: str, ids: list[str], rng: random.Random) -> list[str]:
    """The paths of one read, shuffled: list shapes, ids, or English and Arabic search words."""
    if read == "list":
        paths = ["/events"] + [f"/events?category={quote(name)}" for name in CATEGORIES]
        paths += [f"/events?page={p}&limit={n}" for p in range(1, 6) for n in (10, 20, 50)]
    elif read == "search":
        paths = [f"/events?search={quote(word)}" for word in EN_WORDS + AR_WORDS]
    elif read == "detail":
        paths = [f"/events/{event_id}" for event_id in ids]
    elif read == "tickets":
        paths = [f"/events/{event_id}/tickets" for event_id in ids]
    else:
        raise ValueError(f"unknown read {read!r}")
    rng.shuffle(paths)
    return paths


def mixed_paths(by_read: dict[str, list[str]]) -> list[str]:
    """Every read's paths interleaved, so a rotation mixes the four reads evenly."""
    cycles = [itertools.cycle(paths) for paths in by_read.values() if paths]
    longest = max((len(paths) for paths in by_read.values()), default=0)
    return [next(cycle) for _ in range(longest) for cycle in cycles]
