"""A bounded read load for the overload test: keep-alive connections asking for one path;
and HTTP/1.1 over plain asyncio streams, for many connections from one process.

    python -m tests.support.infra.read_load PORT --connections N --seconds S [--path /events]

Each connection sends its requests a few at a time (pipelined) and counts the answers without
parsing them, so that this process, sharing two cores with the server, asks faster than one
server loop can answer. Prints `ready` once every connection has had an answer, then, when S
seconds have passed (or on SIGTERM), one JSON line: the answers received and the connections
that failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal

import uvloop


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one response (with a Content-Length body); its status."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed before an answer")
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def once(port: int, request: bytes) -> int:
    """Send one request on a new connection; the answer's status."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        return await read_response(reader)
    finally:
        writer.close()


PIPELINED = 4
STATUS_LINE = b"HTTP/1.1 "


async def reader(port: int, path: str, answered: list[int], started: asyncio.Event) -> None:
    request = f"GET {path} HTTP/1.1\r\nHost: load\r\n\r\n".encode()
    stream, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await read_response(stream)
        answered[0] += 1
        started.set()
        writer.write(request * PIPELINED)
        outstanding, tail = PIPELINED, b""
        while chunk := await stream.read(65536):
            # Answers counted by their status lines: a cached read's length changes when a
            # webhook evicts it, and parsing each answer would slow this process down.
            data = tail + chunk
            seen = data.count(STATUS_LINE)
            tail = data[-(len(STATUS_LINE) - 1) :]
            answered[0] += seen
            outstanding -= seen
            if outstanding == 0:
                writer.write(request * PIPELINED)
                outstanding = PIPELINED
        raise ConnectionError("the server closed a read connection")
    finally:
        writer.close()


async def run(port: int, connections: int, seconds: float, path: str) -> dict[str, int]:
    answered = [0]
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    firsts = [asyncio.Event() for _ in range(connections)]
    tasks = [asyncio.create_task(reader(port, path, answered, first)) for first in firsts]
    ending = loop.call_later(seconds, stop.set)
    ready = asyncio.create_task(asyncio.wait([asyncio.create_task(f.wait()) for f in firsts]))
    await asyncio.wait([ready, asyncio.create_task(stop.wait())], return_when="FIRST_COMPLETED")
    if ready.done():
        print("ready", flush=True)
    await stop.wait()
    ending.cancel()
    for task in tasks:
        task.cancel()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    failed = sum(1 for o in outcomes if not isinstance(o, asyncio.CancelledError))
    return {"answers": answered[0], "failed_connections": failed}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--path", default="/events")
    args = parser.parse_args()
    summary = uvloop.run(run(args.port, args.connections, args.seconds, args.path))
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
