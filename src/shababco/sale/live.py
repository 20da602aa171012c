"""The live availability of watched events, pushed to every stream watching them.

One `LiveHub` per process hangs off the response cache's change-log follower (`watch_log`): the
follower reads the log twice a second, and at once when another process rings Redis, so a change
committed anywhere reaches every process within a second. For each change to an event that has
watchers here, the hub reads that event's state once (one statement for every event the change
touched) and hands the same bytes to each watcher's bounded queue. A watcher whose queue is full
is not keeping up: it is dropped (its stream ends; the client reconnects and gets the current
state), never buffered without bound.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from shababco import metrics
from shababco.sale.availability import Frame, availability_frame, ended_frame, states_of
from shababco.sale.subscriber import Subscriber

log = logging.getLogger(__name__)
RETRY_SECONDS = 1.0
KEEPALIVE_TURNS = 15


class LiveHub:
    """Watchers by event id, fed once per change per process, kept alive by one ticker."""

    def __init__(
        self, engine: AsyncEngine, *, queue_limit: int, max_streams: int, keepalive: float
    ) -> None:
        self._engine = engine
        self._queue_limit, self.max_streams, self._keepalive = queue_limit, max_streams, keepalive
        self._watchers: dict[int, dict[Subscriber, None]] = {}
        self._changed: dict[int, int] = {}  # watched event id -> newest seq not yet sent
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._turns = 0
        self.open = 0

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(), name="live-hub"),
            asyncio.create_task(self._keep_alive(), name="live-keepalive"),
        ]

    async def stop(self) -> None:
        self.close_all("shutdown")
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def subscribe(self, event_id: int, last: bytes | None) -> Subscriber:
        self._turns += 1
        subscriber = Subscriber(event_id, last, self._turns % KEEPALIVE_TURNS)
        self._watchers.setdefault(event_id, {})[subscriber] = None
        self.open += 1
        metrics.LIVE_STREAMS_OPEN.inc()
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        watchers = self._watchers.get(subscriber.event_id)
        if watchers is None or watchers.pop(subscriber, False) is False:
            return
        if not watchers:
            del self._watchers[subscriber.event_id]
            self._changed.pop(subscriber.event_id, None)
        self.open -= 1
        metrics.LIVE_STREAMS_OPEN.dec()
        metrics.live_stream_closed(subscriber.reason)

    def changed(self, seq: int, event_ids: Sequence[int]) -> None:
        """A change-log row: note the watched events it touched (the follower calls this)."""
        for event_id in event_ids:
            if event_id in self._watchers:
                self._changed[event_id] = max(seq, self._changed.get(event_id, 0))
                self._wake.set()

    def close_all(self, reason: str) -> None:
        for watchers in self._watchers.values():
            for subscriber in watchers:
                subscriber.close(reason)

    async def _keep_alive(self) -> None:
        """Ping each stream that was quiet for a whole interval. Streams take turns (one turn a
        tick, KEEPALIVE_TURNS ticks an interval), so 10,000 of them are not woken at once."""
        turn = 0
        while True:
            await asyncio.sleep(self._keepalive / KEEPALIVE_TURNS)
            turn = (turn + 1) % KEEPALIVE_TURNS
            pinged = 0
            for watchers in self._watchers.values():
                for subscriber in watchers:
                    if subscriber.turn != turn:
                        continue
                    if subscriber.quiet and subscriber.ping():
                        pinged += 1
                    subscriber.quiet = True
            metrics.live_messages_sent("keepalive", pinged)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._changed = self._changed, {}
            try:
                await self._send(batch)
            except Exception as exc:
                log.warning("live availability unavailable, retrying: %r", exc)
                for event_id, seq in batch.items():
                    if event_id in self._watchers:
                        self._changed[event_id] = max(seq, self._changed.get(event_id, 0))
                await asyncio.sleep(RETRY_SECONDS)
                self._wake.set()

    async def _send(self, batch: dict[int, int]) -> None:
        """Read every changed event once and hand its message to each of its watchers."""
        if not batch:
            return
        async with self._engine.connect() as conn:
            states = await states_of(conn, batch)
        for event_id, (data, final) in states.items():
            seq = batch[event_id]
            frame = ended_frame(seq, data) if final else availability_frame(seq, data)
            metrics.LIVE_MESSAGES_BUILT.inc()
            self._fan_out(event_id, frame)

    def _fan_out(self, event_id: int, frame: Frame) -> None:
        handed = 0
        for subscriber in list(self._watchers.get(event_id, ())):
            queued = subscriber.offer(frame, self._queue_limit)
            if queued is None:
                subscriber.pending.clear()
                subscriber.close("slow")
                self.unsubscribe(subscriber)
            elif queued:
                handed += 1
        metrics.live_messages_sent("ended" if frame.final else "change", handed)


def close_streams_on_exit(hub: LiveHub) -> None:
    """End every stream when the server is told to stop, before it waits for connections.

    The server waits for open responses to finish before it shuts the application down, and a
    stream never finishes on its own; so the stop signal (SIGTERM, SIGINT) ends them first, then
    reaches the server's own handler. Only where handlers can be set (the main thread).
    """
    if threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(signum)
        if not callable(previous):
            continue

        def handler(number: int, frame: FrameType | None, then: Any = previous) -> None:
            loop.call_soon_threadsafe(hub.close_all, "shutdown")
            then(number, frame)

        signal.signal(signum, handler)
