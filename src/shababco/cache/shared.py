"""L2 in Redis: entries, per-key fill locks and the change doorbell. Never raises.

Every call has a short socket timeout and no retries; a failure marks Redis down and the cache
stops asking it (reads go to L1 and PostgreSQL) until a background ping succeeds again, with
backoff. Keys of one response share a hash tag (`{digest}`), so they sit in one Cluster slot.
Keys and the channel carry the deployment's namespace (`cache.identity`), so deployments sharing a
Redis never read each other's entries or hear each other's doorbell.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
T = TypeVar("T")
TIMEOUT_SECONDS = 0.1
LOCK_MILLISECONDS = 2000
HEALTH_SECONDS = 1.0
BACKOFF_SECONDS = (0.1, 2.0)
FAILURES = (RedisError, OSError, TimeoutError)
Doorbell = Callable[[bytes | None], None]


def _client(url: str, *, socket_timeout: float | None) -> Redis:
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=64,
        timeout=TIMEOUT_SECONDS,
        socket_timeout=socket_timeout,
        socket_connect_timeout=TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), 0),
    )
    return Redis.from_pool(pool)  # owned: closing the client disconnects the pool


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


class SharedCache:
    def __init__(self, url: str, *, namespace: str) -> None:
        self._prefix, self._channel = f"shababco:{namespace}:c1", f"shababco:{namespace}:changes"
        self._redis = _client(url, socket_timeout=TIMEOUT_SECONDS)
        # Waits for messages with a timeout of its own: no socket timeout.
        self._subscriber = _client(url, socket_timeout=None)
        self.up = False
        self.subscribed = False

    @property
    def healthy(self) -> bool:
        return self.up and self.subscribed

    async def _call(self, operation: Awaitable[T]) -> T | None:
        try:
            return await operation
        except FAILURES as exc:
            self._down(exc)
            return None

    def _down(self, exc: BaseException) -> None:
        if self.up:
            log.warning("redis unavailable, serving from L1 and PostgreSQL: %r", exc)
        self.up = False

    def _value(self, digest: str) -> str:
        return f"{self._prefix}:{{{digest}}}"

    def _lock(self, digest: str) -> str:
        return f"{self._prefix}:{{{digest}}}:lock"

    async def get(self, digest: str) -> bytes | None:
        value: Any = await self._call(self._redis.get(self._value(digest)))
        return value if isinstance(value, bytes) else None

    async def put(self, digest: str, value: bytes, ttl_seconds: float) -> None:
        px = max(1, int(ttl_seconds * 1000))
        await self._call(self._redis.set(self._value(digest), value, px=px))

    async def lock(self, digest: str) -> bool | None:
        """Take the key's fill lock: True taken, False held by another, None Redis down."""
        taken = await self._call(
            self._redis.set(self._lock(digest), b"1", nx=True, px=LOCK_MILLISECONDS)
        )
        return None if not self.up else bool(taken)

    async def unlock(self, digest: str) -> None:
        # Unconditional: a filler that outlived its lock costs one extra fill elsewhere, no more.
        await self._call(self._redis.delete(self._lock(digest)))

    async def peek(self, digest: str) -> tuple[bytes | None, bool]:
        """The key's value and whether its fill lock is still held (False when Redis is down)."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.get(self._value(digest))
        pipe.exists(self._lock(digest))
        replies: Any = await self._call(pipe.execute())
        if not replies:
            return None, False
        value, locked = replies
        return (value if isinstance(value, bytes) else None), bool(locked)

    async def ring(self, seq: int) -> None:
        """Tell every process a change was recorded at `seq`."""
        await self._call(self._redis.publish(self._channel, str(seq)))

    async def run(self, stop: asyncio.Event, doorbell: Doorbell) -> None:
        """Keep the connection and the subscription alive until `stop`."""
        try:
            await asyncio.gather(self._watch(stop), self._listen(stop, doorbell))
        finally:
            await self._redis.aclose()
            await self._subscriber.aclose()

    async def _watch(self, stop: asyncio.Event) -> None:
        delay = BACKOFF_SECONDS[0]
        while not stop.is_set():
            try:
                await self._redis.ping()
            except FAILURES as exc:
                self._down(exc)
                delay = min(delay * 2, BACKOFF_SECONDS[1])
            else:
                if not self.up:
                    log.info("redis reachable")
                self.up, delay = True, BACKOFF_SECONDS[0]
            await _pause(stop, HEALTH_SECONDS if self.up else delay)

    async def _listen(self, stop: asyncio.Event, doorbell: Doorbell) -> None:
        delay = BACKOFF_SECONDS[0]
        while not stop.is_set():
            pubsub = self._subscriber.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                self.subscribed, delay = True, BACKOFF_SECONDS[0]
                doorbell(None)  # rings missed while unsubscribed: look at the log now
                while not stop.is_set():
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
                    if message is not None:
                        doorbell(message["data"])
            except FAILURES as exc:
                self._down(exc)
            finally:
                self.subscribed = False
                with contextlib.suppress(*FAILURES):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await _pause(stop, delay)
            delay = min(delay * 2, BACKOFF_SECONDS[1])
