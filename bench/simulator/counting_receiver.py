"""A webhook receiver for the benchmark, run as its own process so it has its own event loop.

Answers 200 to every request on keep-alive connections and counts them. Prints its port once
listening; each line read on stdin makes it print the count so far; EOF on stdin stops it.
Run: .venv/bin/python bench/simulator/counting_receiver.py
"""

from __future__ import annotations

import asyncio
import sys
from typing import cast

import httptools
import uvloop

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


class Counter:
    def __init__(self) -> None:
        self.requests = 0


class CountingProtocol(asyncio.Protocol):
    def __init__(self, counter: Counter) -> None:
        self.counter = counter
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.close()

    def on_message_complete(self) -> None:
        self.counter.requests += 1
        assert self.transport is not None
        self.transport.write(OK)


async def main() -> None:
    loop = asyncio.get_running_loop()
    counter = Counter()
    server = await loop.create_server(lambda: CountingProtocol(counter), "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    while await stdin.readline():
        print(counter.requests, flush=True)
    server.close()


if __name__ == "__main__":
    uvloop.install()
    asyncio.run(main())
