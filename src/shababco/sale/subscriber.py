"""One stream's place in the hub: the frames it has yet to send, and the task sending them.

A stream at rest holds no task of its own beyond the server's: its request's task waits in
`receive` for the client to go away (`follow`), and a sending task exists only while frames are
on their way. Ending the response (the event ended, the stream was dropped, shutdown) is what
wakes the waiting request, since the server then answers `receive` with a disconnect.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.types import Receive, Send

from shababco.sale.availability import Frame

log = logging.getLogger(__name__)
KEEPALIVE = Frame(b"", b": keep-alive\n\n")


class Subscriber:
    """The frames one stream has yet to send; `offer` and `close` start a sending task."""

    __slots__ = (
        "closed",
        "event_id",
        "finished",
        "last",
        "pending",
        "quiet",
        "reason",
        "send",
        "sending",
        "turn",
    )

    def __init__(self, event_id: int, last: bytes | None, turn: int) -> None:
        self.event_id, self.turn = event_id, turn
        self.pending: list[Frame] = []
        self.last = last  # the data of the last frame queued or sent: repeats are skipped
        self.send: Send | None = None  # the server's, once the request is answered
        self.sending: asyncio.Task[None] | None = None
        self.closed = self.finished = False  # no more frames; the response's end was sent
        self.quiet = False  # nothing queued since the keep-alive ticker last came by
        self.reason = "client"

    def offer(self, frame: Frame, limit: int) -> bool | None:
        """Queue `frame` (True) unless it repeats the last or the stream is over (False); None
        when the queue is full: this stream is not keeping up."""
        if self.closed or (frame.data == self.last and not frame.final):
            return False
        if len(self.pending) >= limit:
            return None
        self.pending.append(frame)
        self.last, self.quiet = frame.data, False
        self._send_soon()
        return True

    def ping(self) -> bool:
        """A keep-alive comment, unless something is already on its way."""
        if self.pending or self.closed:
            return False
        self.pending.append(KEEPALIVE)
        self._send_soon()
        return True

    def close(self, reason: str) -> None:
        """No more frames after those queued; then the response ends."""
        if not self.closed:
            self.closed, self.reason = True, reason
            self._send_soon()

    def _send_soon(self) -> None:
        if self.send is not None and self.sending is None and not self.finished:
            self.sending = asyncio.create_task(self._send_pending(self.send))

    async def _send_pending(self, send: Send) -> None:
        try:
            while self.pending and not self.finished:
                frame = self.pending.pop(0)
                await send({"type": "http.response.body", "body": frame.wire, "more_body": True})
                if frame.final:
                    self.close("ended")
            if self.closed and not self.finished:
                self.finished = True
                await send({"type": "http.response.body", "body": b""})
        except Exception as exc:  # the stream is broken; its client's leaving ends it
            log.warning("live stream write failed: %r", exc)
            self.closed = self.finished = True
        finally:
            self.sending = None

    async def follow(self, receive: Receive, send: Send) -> None:
        """Send frames as they come, until the client goes away or the response ends."""
        self.send = send
        if self.pending or self.closed:
            self._send_soon()
        try:
            while (await receive())["type"] != "http.disconnect":
                pass  # the request's own messages, if no one read them
        finally:
            self.finished = True  # nothing more to send: the client is gone, or the end was sent
            self.pending.clear()
            self.close("client")
