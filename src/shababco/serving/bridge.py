"""The intake lane's application: intake requests on the lane, any other on the main loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

T = TypeVar("T")
WEBHOOKS_PREFIX = "/webhooks/"
HEALTH_PATH = "/health"


def served_on_the_lane(path: str) -> bool:
    return path == HEALTH_PATH or path.startswith(WEBHOOKS_PREFIX)


class LaneRouter:
    """Intake requests go to the intake app on this (the lane's) loop; anything else a client
    sends on a lane connection is answered by the main app on the main loop, as it would be on
    a connection of its own."""

    def __init__(self, intake: ASGIApp, main: ASGIApp, main_loop: asyncio.AbstractEventLoop):
        self.intake, self.main, self.main_loop = intake, main, main_loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" or served_on_the_lane(scope.get("path", "")):
            await self.intake(scope, receive, send)
        else:
            await call_across(self.main_loop, self.main, scope, receive, send)


async def call_across(
    loop: asyncio.AbstractEventLoop, app: ASGIApp, scope: Scope, receive: Receive, send: Send
) -> None:
    """Run `app` on `loop`, another thread's; its `receive` and `send` run back on this one."""
    here = asyncio.get_running_loop()

    async def receive_here() -> Message:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_wait(receive()), here))

    async def send_here(message: Message) -> None:
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_wait(send(message)), here))

    running = asyncio.run_coroutine_threadsafe(_wait(app(scope, receive_here, send_here)), loop)
    try:
        await asyncio.wrap_future(running)
    finally:
        running.cancel()  # a no-op once it is done; else this request was cancelled here


async def _wait(awaitable: Awaitable[T]) -> T:
    return await awaitable
