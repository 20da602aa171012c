"""`shababco demo` end to end: embedded database, simulator, webhooks, sync, API; clean exit."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.server import free_port

SHABABCO = Path(sys.executable).parent / "shababco"


def _listening(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as sock:
        return sock.connect_ex((host, int(port))) == 0


def _wait_for_events(api: str, process: subprocess.Popen[bytes], within: float) -> list[object]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and process.poll() is None:
        try:
            response = httpx.get(f"{api}/events", timeout=2)
            if response.status_code == 200 and response.json()["items"]:
                items: list[object] = response.json()["items"]
                return items
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError("the demo API never listed events")


@pytest.mark.slow
def test_demo_runs_end_to_end_and_stops_the_simulator(tmp_path: Path) -> None:
    port = free_port()
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SHOPIFY_", "DATABASE_", "REDIS_", "PUBLIC_BASE_URL"))
    }
    environment["SHABABCO_DATA_DIR"] = str(tmp_path)
    log = tmp_path / "demo.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(SHABABCO), "demo", "--port", str(port), "--events", "12"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environment,
        )
        try:
            items = _wait_for_events(f"http://127.0.0.1:{port}", process, within=120)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    text = log.read_text()
    assert items and "API docs" in text and f"127.0.0.1:{port}/docs" in text, text
    credentials = tmp_path / "demo" / "simulator.env"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    values = dict(line.split("=", 1) for line in credentials.read_text().splitlines())
    assert values["SHOPIFY_ACCESS_TOKEN"] not in text
    assert values["SHOPIFY_WEBHOOK_SECRET"] not in text
    assert "signature=" not in text  # signed bulk-result URLs are credentials too
    assert not _listening(values["SHOPIFY_SHOP"])  # the simulator stopped with the demo
