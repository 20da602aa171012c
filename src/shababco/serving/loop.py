"""The event loop `shababco serve` runs: uvloop, whose server is fed by the intake lane, and
whose connections ask the application's door before a request enters it."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvloop

from shababco.serving.lane import Intake, IntakeLane, ProtocolFactory
from shababco.serving.protocol import Door


class ServeLoop(uvloop.Loop):
    """uvloop, except that once the application has attached its intake (`attach_intake`), the
    server uvicorn creates accepts on the intake lane (serving.lane) instead of on this loop;
    and that its connections offer each request to the door the application attached
    (`attach_door`) before the application sees it (serving.protocol)."""

    def __init__(self) -> None:
        super().__init__()
        self.intake: Intake | None = None
        self.door: Door | None = None

    async def create_server(  # type: ignore[override]
        self,
        protocol_factory: ProtocolFactory,
        host: str | None = None,
        port: int | None = None,
        *,
        sock: socket.socket | None = None,
        backlog: int = 100,
        ssl: Any = None,
        **options: Any,
    ) -> asyncio.AbstractServer:
        if self.intake is None or ssl is not None or options:
            uvloop_own: Any = super()
            server: asyncio.AbstractServer = await uvloop_own.create_server(
                protocol_factory, host, port, sock=sock, backlog=backlog, ssl=ssl, **options
            )
            return server
        listener = sock if sock is not None else _bind(host or "", port or 0)
        listener.listen(backlog)
        lane = IntakeLane(listener, self.intake, main_loop=self, main_protocols=protocol_factory)
        return await lane.start()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family)


def attach_intake(intake: Intake) -> bool:
    """Have the running loop's server accept on an intake lane; False if it is not a ServeLoop."""
    loop = asyncio.get_running_loop()
    if not isinstance(loop, ServeLoop):
        return False
    loop.intake = intake
    return True


def attach_door(door: Door) -> bool:
    """Have the running loop's connections offer requests to `door`; False if not a ServeLoop."""
    loop = asyncio.get_running_loop()
    if not isinstance(loop, ServeLoop):
        return False
    loop.door = door
    return True
