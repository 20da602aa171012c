"""Cache entries (final response bytes, ETag, ready-made headers) and the bounded L1 store."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field

import orjson

from shababco.cache.keys import CacheKey
from shababco.http import DETAIL_CACHE_CONTROL, LIST_CACHE_CONTROL, etag_of

RawHeaders = list[tuple[bytes, bytes]]
ENTRY_OVERHEAD = 512  # bytes of bookkeeping counted per entry besides the body


@dataclass(frozen=True, slots=True)
class Built:
    """A computed response body and what it depends on: one event, or the listings."""

    body: bytes
    event_id: int | None = None


@dataclass(slots=True)
class Entry:
    """A response ready to send, stamped with the change-log position it was built at."""

    body: bytes
    etag: str
    cache_control: str
    event_id: int | None
    stamp: int
    born: float  # wall clock, shared across processes through L2
    expires: float  # this process's monotonic clock
    ok_headers: RawHeaders = field(default_factory=list)
    not_modified_headers: RawHeaders = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.body) + ENTRY_OVERHEAD


def make_entry(
    key: CacheKey,
    built: Built,
    *,
    stamp: int,
    ttl: float,
    etag: str | None = None,
    born: float | None = None,
) -> Entry:
    """An entry with its headers prepared once, for every hit to reuse."""
    now = time.time()
    born = now if born is None else born
    etag = etag or etag_of(built.body)
    cache_control = LIST_CACHE_CONTROL if key.listing else DETAIL_CACHE_CONTROL
    common = [(b"etag", etag.encode()), (b"cache-control", cache_control.encode())]
    return Entry(
        body=built.body,
        etag=etag,
        cache_control=cache_control,
        event_id=built.event_id,
        stamp=stamp,
        born=born,
        expires=time.monotonic() + ttl - max(0.0, now - born),
        ok_headers=[
            (b"content-type", b"application/json"),
            (b"content-length", str(len(built.body)).encode()),
            *common,
            (b"x-cache", b"l1"),
        ],
        not_modified_headers=[*common, (b"x-cache", b"l1")],
    )


def encode_shared(entry: Entry) -> bytes:
    """The L2 value: one JSON line of metadata, then the body as is."""
    meta = {"s": entry.stamp, "e": entry.event_id, "b": entry.born, "t": entry.etag}
    return orjson.dumps(meta) + b"\n" + entry.body


def decode_shared(key: CacheKey, raw: bytes, ttl: float) -> Entry | None:
    """The entry an L2 value holds, None if it is not one of ours."""
    head, separator, body = raw.partition(b"\n")
    if not separator:
        return None
    try:
        meta = orjson.loads(head)
        built = Built(body, None if meta["e"] is None else int(meta["e"]))
        stamp, born, etag = int(meta["s"]), float(meta["b"]), str(meta["t"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    return make_entry(key, built, stamp=stamp, ttl=ttl, etag=etag, born=born)


class LocalCache:
    """L1: entries by key text, least recently used evicted first, bounded by count and bytes."""

    def __init__(self, *, max_entries: int, max_bytes: int) -> None:
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> Entry | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: str, entry: Entry) -> None:
        # One huge response must not push out the whole working set.
        if entry.size > self.max_bytes // 4 or self.max_entries == 0:
            return
        self.discard(key)
        self._entries[key] = entry
        self.bytes += entry.size
        while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self.bytes -= evicted.size

    def discard(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.bytes -= entry.size

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0
