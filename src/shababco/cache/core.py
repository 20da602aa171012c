"""ResponseCache: L1 + L2 lookups, single-flight fills, and learning changes from the log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from shababco import metrics
from shababco.cache import changelog
from shababco.cache.changes import ChangeFeed, Changes
from shababco.cache.freshness import Generations
from shababco.cache.identity import deployment_identity, namespace
from shababco.cache.keys import CacheKey
from shababco.cache.shared import LOCK_MILLISECONDS, SharedCache
from shababco.cache.store import Built, Entry, LocalCache, decode_shared, encode_shared, make_entry
from shababco.config import Settings

log = logging.getLogger(__name__)
Compute = Callable[[], Awaitable[Built]]
# Told of every change the follower learns, in log order: (seq, event ids). Called inside the
# follower's loop, so it must only note the change and return.
LogWatcher = Callable[[int, Sequence[int]], None]
POLL_SECONDS = 0.5
FORGET_MARGIN_SECONDS = 60.0
FORGET_EVERY_SECONDS = 30.0
# TTLs stay below the change log's retention, so a reader never misses a change to a live entry.
MAX_TTL_SECONDS = changelog.RETENTION.total_seconds() - 2 * FORGET_MARGIN_SECONDS
WAIT_SECONDS = (0.005, 0.05)  # polling L2 while another process fills: first and longest pause
Fetched = tuple[Entry, str]


class _Abandoned(Exception):
    """The request filling a key was cancelled (its client left): a waiter fills instead."""


class ResponseCache:
    """Final response bytes by key, in this process (L1) and in Redis (L2) when configured."""

    def __init__(self, settings: Settings) -> None:
        self.ttl_list = min(settings.cache_ttl_list, MAX_TTL_SECONDS)
        self.ttl_detail = min(settings.cache_ttl_detail, MAX_TTL_SECONDS)
        self.local = LocalCache(
            max_entries=settings.cache_l1_max_entries, max_bytes=settings.cache_l1_max_bytes
        )
        self.generations = Generations()
        self.redis_url = settings.redis_url
        self.namespace = settings.cache_namespace
        self._identity_failed = False
        self.shared: SharedCache | None = None
        self._flights: dict[str, asyncio.Future[Fetched]] = {}
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._engine: AsyncEngine | None = None
        self._forget_at = 0.0
        self._watchers: list[LogWatcher] = []

    @property
    def status(self) -> str:
        """`disabled` without Redis, `ok` when Redis serves and signals, else `degraded`."""
        if self.redis_url is None:
            return "disabled"
        return "ok" if self.shared is not None and self.shared.healthy else "degraded"

    async def start(self, engine: AsyncEngine, changes: ChangeFeed) -> None:
        """Read the log's position, follow it, and hear of this process's own writes."""
        self._engine = engine
        self._wake, self._stop = asyncio.Event(), asyncio.Event()
        changes.subscribe(self._on_change)
        await self._open_shared()
        with contextlib.suppress(Exception):
            await self._poll()  # the poller retries if PostgreSQL is not there yet
        self._tasks.append(asyncio.create_task(self._follow_log(), name="cache-log"))

    async def _open_shared(self) -> None:
        """Connect L2 under the deployment's identity, once it can be read (Redis configured).

        Until then there is no L2 at all: an entry is never read or written under a name that
        might be another deployment's.
        """
        if self.redis_url is None or self.shared is not None or self._engine is None:
            return
        try:
            identity = await deployment_identity(self._engine)
        except Exception as exc:
            if not self._identity_failed:
                log.warning("shared cache off until the deployment is identified: %r", exc)
            self._identity_failed = True
            return
        self._identity_failed = False
        self.shared = SharedCache(self.redis_url, namespace=namespace(self.namespace, identity))
        shared_run = self.shared.run(self._stop, self._ring)
        self._tasks.append(asyncio.create_task(shared_run, name="cache-redis"))

    async def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def watch_log(self, watcher: LogWatcher) -> None:
        """Tell `watcher` of each change this process learns from the log, as the cache does."""
        self._watchers.append(watcher)

    def ttl(self, key: CacheKey) -> float:
        return self.ttl_list if key.listing else self.ttl_detail

    def hit(self, key: CacheKey) -> Entry | None:
        """The fresh L1 entry for `key`, if any: the whole cost of a hit."""
        entry = self._fresh(key)
        if entry is not None:
            metrics.cache_hit("l1", key.endpoint)
        return entry

    def _fresh(self, key: CacheKey) -> Entry | None:
        entry = self.local.get(key.text) if key.storable else None
        if entry is None or not self.generations.fresh(entry.stamp, entry.event_id):
            return None
        return None if entry.expires < time.monotonic() else entry

    def holds(self, key: CacheKey) -> bool:
        """Whether `hit(key)` would answer now; counted nowhere."""
        return self._fresh(key) is not None

    async def fetch(self, key: CacheKey, compute: Compute) -> Fetched:
        """The entry for `key` and where it came from: l1, l2, wait (joined a fill) or miss.

        Concurrent misses on a key in this process make one fill: the first request runs it
        itself (a task started per miss had cost as much CPU as the query), the others wait for
        its outcome, an error included.
        """
        entry = self.hit(key)
        if entry is not None:
            return entry, "l1"
        metrics.cache_miss("l1", key.endpoint)
        if not key.storable:
            return make_entry(key, await compute(), stamp=-1, ttl=0), "miss"
        while (flight := self._flights.get(key.text)) is not None:
            try:
                joined, _ = await asyncio.shield(flight)  # a waiter's cancellation stays its own
            except _Abandoned:
                continue  # the filler's client left: the first waiter to wake fills
            return joined, "wait"
        self._flights[key.text] = asyncio.get_running_loop().create_future()
        try:
            fetched = await self._fill(key, compute)
        except BaseException as exc:
            self._land(key.text, exc)
            raise
        self._land(key.text, fetched)
        return fetched

    def _land(self, text: str, outcome: Fetched | BaseException) -> None:
        """End a fill: its waiters get its entry or its error (`_Abandoned` if it was cancelled).

        The future is no local of `fetch`: an error's traceback holds fetch's frame, and a future
        there holding the error would make a cycle that only a full collection frees.
        """
        flight = self._flights.pop(text)
        if isinstance(outcome, tuple):
            flight.set_result(outcome)
            return
        flight.set_exception(outcome if isinstance(outcome, Exception) else _Abandoned())
        flight.exception()  # retrieved: a failed fill nobody waited for logs nothing

    async def _fill(self, key: CacheKey, compute: Compute) -> Fetched:
        ttl = self.ttl(key)
        if ttl <= 0 or not self.generations.ready:
            return make_entry(key, await compute(), stamp=-1, ttl=0), "miss"
        shared = self.shared if self.shared is not None and self.shared.up else None
        if shared is None:
            return await self._compute(key, compute, ttl), "miss"
        entry = await self._from_shared(shared, key, ttl)
        if entry is not None:
            return entry, "l2"
        metrics.cache_miss("l2", key.endpoint)
        locked = await shared.lock(key.digest)
        try:
            if locked:
                # Another process may have filled it, lock taken and released, since the read.
                entry = await self._from_shared(shared, key, ttl)
            elif locked is False:
                entry = await self._await_filler(shared, key, ttl)
            if entry is not None:
                return entry, "l2"
            entry = await self._compute(key, compute, ttl)
            await shared.put(key.digest, encode_shared(entry), ttl)
        finally:
            if locked:
                await shared.unlock(key.digest)
        return entry, "miss"

    async def _compute(self, key: CacheKey, compute: Compute, ttl: float) -> Entry:
        stamp = self.generations.horizon  # taken before the query: see Generations
        entry = make_entry(key, await compute(), stamp=stamp, ttl=ttl)
        self.local.put(key.text, entry)
        metrics.cache_fill(key.endpoint)
        return entry

    def _accept(self, key: CacheKey, raw: bytes | None, ttl: float) -> Entry | None:
        entry = decode_shared(key, raw, ttl) if raw is not None else None
        if entry is None or not self.generations.fresh(entry.stamp, entry.event_id):
            return None
        self.local.put(key.text, entry)
        metrics.cache_hit("l2", key.endpoint)
        return entry

    async def _from_shared(self, shared: SharedCache, key: CacheKey, ttl: float) -> Entry | None:
        return self._accept(key, await shared.get(key.digest), ttl)

    async def _await_filler(self, shared: SharedCache, key: CacheKey, ttl: float) -> Entry | None:
        """Poll L2 while another process fills; None if it vanished or gave up."""
        pause, waited = WAIT_SECONDS[0], 0.0
        while waited < LOCK_MILLISECONDS / 1000:
            await asyncio.sleep(pause)
            waited += pause
            raw, locked = await shared.peek(key.digest)
            entry = self._accept(key, raw, ttl)
            if entry is not None or not locked:
                return entry
            pause = min(pause * 2, WAIT_SECONDS[1])
        return None

    async def _on_change(self, changes: Changes) -> None:
        """A write of this process committed: look at the log now, and ring the others."""
        if changes.seq is None:
            self.local.clear()  # unrecorded: at least this process forgets
            return
        self._wake.set()
        if self.shared is not None and self.shared.up:
            await self.shared.ring(changes.seq)

    def _ring(self, data: bytes | None) -> None:
        try:
            seq = int(data) if data is not None else None
        except ValueError:
            seq = None
        if seq is None or seq > self.generations.horizon:
            self._wake.set()

    async def _follow_log(self) -> None:
        failing = False
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
            self._wake.clear()
            await self._open_shared()
            try:
                await self._poll()
            except Exception as exc:
                if not failing:
                    log.warning("cannot read the change log: %r", exc)
                failing = True
            else:
                failing = False

    async def _poll(self) -> None:
        """Learn every change recorded since the last look."""
        generations, engine = self.generations, self._engine
        assert engine is not None, "start() first"
        async with engine.connect() as conn:
            if not generations.ready:
                generations.start(await changelog.latest_seq(conn))
                return
            while rows := await changelog.changes_since(conn, generations.horizon):
                for row in rows:
                    generations.learn(row.seq, row.event_ids, listings=row.listings)
                    self._tell_watchers(row.seq, row.event_ids)
                if len(rows) < changelog.PAGE:
                    break
        if time.monotonic() > self._forget_at:
            self._forget_at = time.monotonic() + FORGET_EVERY_SECONDS
            lifetime = max(self.ttl_list, self.ttl_detail)
            generations.forget_older_than(lifetime + FORGET_MARGIN_SECONDS)

    def _tell_watchers(self, seq: int, event_ids: Sequence[int]) -> None:
        for watcher in self._watchers:
            try:
                watcher(seq, event_ids)
            except Exception:
                log.exception("change-log watcher failed")  # the cache itself follows on
