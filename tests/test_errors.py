"""The app's error boundary: a bug is a 500 in the error shape, logged once with its request id,
and its connection keeps serving (a tiny app with the real middlewares, under uvicorn)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import Any

import h11
import httpx
import orjson
import pytest
from fastapi import FastAPI
from fastapi.responses import Response

from shababco import metrics
from shababco.errors import ApiError, install_error_handlers
from shababco.http import HeadAsGet
from shababco.logs import JsonFormatter
from shababco.telemetry import TelemetryMiddleware
from tests.support.server import LiveServer


class Bug(Exception):
    pass


def tiny_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(HeadAsGet)
    app.add_middleware(TelemetryMiddleware)
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> Response:
        raise Bug("an unexpected failure")

    @app.get("/missing")
    async def missing() -> Response:
        raise ApiError(404, "not_found", "nothing here")

    @app.get("/ok")
    async def ok() -> Response:
        return Response(b'{"ok":true}', media_type="application/json")

    return app


class Lines(logging.Handler):
    """Every log line, formatted as it is emitted (in the request's context)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []
        self.formatter = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(orjson.loads(self.format(record)))


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(app=tiny_app()) as served:
        yield served
    _forget_requests_to(["/boom", "/missing", "/ok"])


def _forget_requests_to(endpoints: list[str]) -> None:
    """Drop this app's samples from the process's request metrics, which other tests read."""
    for family in metrics.API_REQUESTS.collect():
        for sample in family.samples:
            labels = sample.labels
            if labels.get("endpoint") in endpoints:
                with contextlib.suppress(KeyError):
                    metrics.API_REQUESTS.remove(
                        labels["endpoint"], labels["method"], labels["status"]
                    )
    for endpoint in endpoints:
        with contextlib.suppress(KeyError):
            metrics.API_RESPONSE_TIME.remove(endpoint)


@pytest.fixture
def logged() -> Iterator[list[dict[str, Any]]]:
    handler = Lines()
    loggers = [
        logging.getLogger(),
        logging.getLogger("uvicorn"),
        logging.getLogger("uvicorn.error"),
    ]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler.lines
    for logger in loggers:
        logger.removeHandler(handler)


async def test_a_bug_is_a_500_in_the_error_shape_with_the_request_id(
    server: LiveServer, logged: list[dict[str, Any]]
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get("/boom", headers={"X-Request-ID": "trace-42"})
    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "internal_error", "message": "internal server error"}
    }
    assert response.headers["x-request-id"] == "trace-42"
    assert response.headers["cache-control"] == "no-store"
    assert "an unexpected failure" not in response.text
    tracebacks = [line for line in logged if "exception" in line]
    assert len(tracebacks) == 1, logged
    assert tracebacks[0]["request_id"] == "trace-42"
    assert "Bug: an unexpected failure" in tracebacks[0]["exception"]


def _pipelined(port: int, *paths: str, method: str = "GET") -> list[tuple[int, bytes]]:
    """Send the requests at once on one connection; the answers, in order."""
    wire = "".join(f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n\r\n" for path in paths)
    answers: list[tuple[int, bytes]] = []
    reader = h11.Connection(h11.CLIENT)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(wire.encode())
        for path in paths:
            # The reader follows the requests already sent, to parse their answers.
            reader.send(h11.Request(method=method, target=path, headers=[("Host", "localhost")]))
            reader.send(h11.EndOfMessage())
            status, body = 0, b""
            while True:
                event = reader.next_event()
                if event is h11.NEED_DATA:
                    reader.receive_data(sock.recv(65536))
                elif isinstance(event, h11.Response):
                    status = event.status_code
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage):
                    break
                elif isinstance(event, h11.ConnectionClosed):
                    raise AssertionError(f"connection closed before answering {path}")
            answers.append((status, body))
            reader.start_next_cycle()
    return answers


@pytest.mark.parametrize("first", ["/boom", "/missing", "/nowhere"])
async def test_an_error_keeps_the_connection(server: LiveServer, first: str) -> None:
    answers = await asyncio.to_thread(_pipelined, server.port, first, "/ok")
    assert [status for status, _ in answers][1:] == [200]
    assert answers[1][1] == b'{"ok":true}'
    assert orjson.loads(answers[0][1])["error"]["code"]


async def test_head_of_an_error_has_no_body(server: LiveServer) -> None:
    answers = await asyncio.to_thread(_pipelined, server.port, "/boom", "/ok", method="HEAD")
    assert answers == [(500, b""), (200, b"")]


async def test_a_wrong_method_names_head_among_the_allowed(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post("/ok")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert response.json()["error"]["code"] == "method_not_allowed"
