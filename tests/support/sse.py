"""Reading a Server-Sent Events stream over httpx, message by message, as EventSource does."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.webhook_client import VISIBLE_WITHIN


@dataclass(frozen=True)
class Message:
    """One dispatched message, or a comment (`event` is `comment`, its text in `data`)."""

    event: str
    data: str
    id: str | None = None

    @property
    def json(self) -> Any:
        return json.loads(self.data)


class EndOfStream(Exception):
    """The server ended the stream."""


class EventStreamReader:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines: AsyncIterator[str] = response.aiter_lines()

    async def next(self, *, comments: bool = False, within: float = VISIBLE_WITHIN) -> Message:
        """The next message (comments skipped unless asked for); EndOfStream when it ended."""
        return await asyncio.wait_for(self._next(comments), within)

    async def _next(self, comments: bool) -> Message:
        fields: dict[str, list[str]] = {}
        comment: str | None = None
        async for line in self._lines:
            if line == "":
                if "data" in fields:
                    event = fields.get("event", ["message"])[-1]
                    identifier = fields["id"][-1] if "id" in fields else None
                    return Message(event, "\n".join(fields["data"]), identifier)
                if comment is not None and comments:
                    return Message("comment", comment)
                fields, comment = {}, None
                continue
            if line.startswith(":"):
                comment = line[1:].strip()
                continue
            name, _, value = line.partition(":")
            fields.setdefault(name, []).append(value.removeprefix(" "))
        raise EndOfStream


async def ended(reader: EventStreamReader, within: float = VISIBLE_WITHIN) -> bool:
    """Whether the stream ends (after any keep-alive comments) within `within` seconds."""
    try:
        while True:
            await reader.next(comments=True, within=within)
    except EndOfStream:
        return True
