"""The real app under uvicorn on a free port, for tests that talk HTTP to it."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn
from fastapi import FastAPI

from shababco.app import create_app
from shababco.config import Settings
from shababco.serving.admission import Admission
from shababco.serving.protocol import TimedRequestProtocol


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LiveServer:
    """The real app (or `app`) under uvicorn on a free port, in a thread with its own loop."""

    def __init__(self, settings: Settings | None = None, *, app: FastAPI | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        assert (settings is None) != (app is None), "the real app's settings, or an app"
        self.app = app if app is not None else create_app(settings)
        keepalive = settings.http_keepalive_seconds if settings is not None else 5
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            # As `shababco serve` runs it: intake on its own lane, requests with deadlines.
            loop="shababco.serving.loop:ServeLoop",
            http=TimedRequestProtocol,
            timeout_keep_alive=keepalive,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("API server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def admission_of(live: LiveServer) -> Admission:
    """The admission middleware of a started server's app."""
    layer: Any = live.app.middleware_stack
    while not isinstance(layer, Admission):
        layer = layer.app
    return layer
