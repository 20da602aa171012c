"""The intake lane: a thread with an event loop of its own that accepts every connection of the
served port, answers webhooks and `/health` there, and hands every other connection to the main
loop (the reads)."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import uvicorn
import uvloop
from starlette.types import ASGIApp

from shababco.serving.accept import Acceptor, adopt
from shababco.serving.bridge import LaneRouter
from shababco.serving.protocol import TimedRequestProtocol

log = logging.getLogger(__name__)
LANE_GRACEFUL_SHUTDOWN_SECONDS = 10
ProtocolFactory = Callable[[], asyncio.Protocol]


@dataclass(frozen=True)
class Intake:
    """What the application gives the lane."""

    app: ASGIApp  # webhooks and /health, on the lane's loop (its lifespan runs there too)
    main_app: ASGIApp  # anything else a client asks on a lane connection, on the main loop
    keepalive: float
    request_timeout: float


class Listening(asyncio.AbstractServer):
    """What `create_server` returns for a listener the lane accepts on."""

    def __init__(
        self,
        listener: socket.socket,
        loop: asyncio.AbstractEventLoop,
        *,
        close: Callable[[], None],
        closed: Callable[[], Awaitable[None]],
    ) -> None:
        self.listener, self.loop = listener, loop
        self._close, self._closed = close, closed
        self.serving = True

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        return (self.listener,)

    def close(self) -> None:
        self.serving = False
        self._close()

    async def wait_closed(self) -> None:
        await self._closed()

    def is_serving(self) -> bool:
        return self.serving

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self.loop

    async def start_serving(self) -> None:
        """It serves from the start."""

    async def serve_forever(self) -> None:
        await self.wait_closed()


class IntakeLane:
    """A uvicorn server of its own, for the intake app, in a thread: its `create_server` starts
    an `Acceptor` on the served socket, which keeps intake connections there and hands every
    other to the main loop's protocol factory."""

    def __init__(
        self,
        listener: socket.socket,
        intake: Intake,
        *,
        main_loop: asyncio.AbstractEventLoop,
        main_protocols: ProtocolFactory,
    ) -> None:
        self.listener, self.intake = listener, intake
        self.main_loop, self.main_protocols = main_loop, main_protocols
        self.lane_tasks: set[asyncio.Task[object]] = set()
        self.main_tasks: set[asyncio.Task[object]] = set()
        self.stopping = False
        config = uvicorn.Config(
            LaneRouter(intake.app, intake.main_app, main_loop),
            http=TimedRequestProtocol,
            lifespan="on",
            log_config=None,
            access_log=False,
            proxy_headers=False,
            timeout_keep_alive=int(intake.keepalive),
            timeout_graceful_shutdown=LANE_GRACEFUL_SHUTDOWN_SECONDS,
        )
        self.server = uvicorn.Server(config)
        self.loop = _LaneLoop(self)
        self.acceptor: Acceptor | None = None
        self.started: Future[None] = Future()
        self.thread = threading.Thread(target=self._run, name="intake-lane", daemon=True)

    async def start(self) -> Listening:
        """Start the lane; what the main loop's `create_server` returns."""
        self.thread.start()
        await asyncio.wrap_future(self.started)
        return Listening(self.listener, self.main_loop, close=self.stop, closed=self._finished)

    async def _finished(self) -> None:
        await asyncio.to_thread(self.thread.join)

    def stop(self) -> None:
        """Accept no more; the lane ends once its requests are answered (`finished`)."""
        self.stopping = True
        self.server.should_exit = True
        if self.acceptor is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.acceptor.stop)

    def listen(self, protocols: ProtocolFactory) -> Listening:
        """Start accepting (the lane's `create_server`, in the lane's thread)."""
        self.acceptor = Acceptor(
            self.loop,
            self.listener,
            lane=lambda sock, deadline: self._adopt(
                self.loop, protocols, sock, deadline, self.lane_tasks
            ),
            main=self._hand_to_main,
            idle_timeout=self.intake.keepalive,
            request_timeout=self.intake.request_timeout,
        )
        self.acceptor.start()
        self.started.set_result(None)
        return Listening(self.listener, self.loop, close=self.acceptor.stop, closed=_nothing)

    def _adopt(
        self,
        loop: asyncio.AbstractEventLoop,
        protocols: ProtocolFactory,
        sock: socket.socket,
        deadline: float,
        tasks: set[asyncio.Task[object]],
    ) -> None:
        if self.stopping:
            sock.close()
            return
        timeout = self.intake.request_timeout
        adopt(loop, protocols, sock, deadline=deadline, request_timeout=timeout, tasks=tasks)

    def _hand_to_main(self, sock: socket.socket, deadline: float) -> None:
        try:
            self.main_loop.call_soon_threadsafe(
                self._adopt, self.main_loop, self.main_protocols, sock, deadline, self.main_tasks
            )
        except RuntimeError:  # the main loop is closed: the process is ending
            sock.close()

    def _run(self) -> None:
        try:
            self.loop.run_until_complete(self.server.serve(sockets=[self.listener]))
        except BaseException:  # uvicorn ends a failed start-up with SystemExit
            log.exception("the intake lane failed")
        finally:
            self.loop.close()
            if not self.started.done():
                self.started.set_exception(RuntimeError("the intake lane did not start"))
            elif not self.stopping:
                log.critical("the intake lane stopped: this process accepts no connection")


async def _nothing() -> None:
    """The lane's own server has nothing to wait for once its acceptor has stopped."""


class _LaneLoop(uvloop.Loop):
    """The lane's loop, whose server accepts through the lane's `Acceptor`."""

    def __init__(self, lane: IntakeLane) -> None:
        super().__init__()
        self.lane = lane

    async def create_server(  # type: ignore[override]
        self, protocol_factory: ProtocolFactory, *args: Any, **kwargs: Any
    ) -> Listening:
        return self.lane.listen(protocol_factory)
