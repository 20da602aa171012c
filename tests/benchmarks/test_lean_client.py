"""The benchmarks' keep-alive GET client (bench.tools.lean_client) against a real server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from bench.tools.lean_client import LeanClient


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections: ClassVar[set[int]] = set()

    def do_GET(self) -> None:
        _Handler.connections.add(self.client_address[1])
        if self.path.startswith("/chunked"):
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"ab", b"cd"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        body = ("x" * 100_000 if self.path == "/big" else self.path).encode()
        self.send_response(404 if self.path == "/missing" else 200)
        self.send_header("Content-Length", str(len(body)))
        if self.path == "/close":
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def server() -> Iterator[int]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Handler.connections.clear()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def test_requests_share_one_connection_and_bodies_arrive_whole(server: int) -> None:
    with LeanClient("127.0.0.1", server) as client:
        assert client.get("/events?page=2") == (200, b"/events?page=2")
        assert client.get("/big") == (200, b"x" * 100_000)
        assert client.get("/chunked") == (200, b"abcd")
        assert client.get("/missing") == (404, b"/missing")
    assert len(_Handler.connections) == 1


def test_a_closed_connection_is_reopened(server: int) -> None:
    with LeanClient("127.0.0.1", server) as client:
        assert client.get("/close") == (200, b"/close")
        assert client.get("/after") == (200, b"/after")
    assert len(_Handler.connections) == 2
