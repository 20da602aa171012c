"""`shababco demo` end to end: embedded database, simulator, webhooks, sync, API; clean exit."""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable
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


def _environment(data_dir: Path) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SHOPIFY_", "DATABASE_", "REDIS_", "PUBLIC_BASE_URL", "LOG_"))
        and key != "ACCESS_LOG"
    }
    environment["SHABABCO_DATA_DIR"] = str(data_dir)
    return environment


def _demo(port: int) -> list[str]:
    return [str(SHABABCO), "demo", "--port", str(port), "--events", "12"]


def _refused(data_dir: Path, port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _demo(port),
        capture_output=True,
        text=True,
        env=_environment(data_dir),
        timeout=60,
    )


def _until(check: Callable[[], bool], within: float) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition never met"
        time.sleep(0.2)


@pytest.mark.slow
def test_demo_runs_end_to_end_and_stops_the_simulator(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "demo.log"
    credentials = tmp_path / "demo" / "simulator.env"
    with log.open("wb") as output:
        process = subprocess.Popen(
            _demo(port),
            stdout=output,
            stderr=subprocess.STDOUT,
            env=_environment(tmp_path),
        )
        try:
            items = _wait_for_events(f"http://127.0.0.1:{port}", process, within=120)
            _until(lambda: "Ctrl-C stops the demo" in log.read_text(), within=30)
            written = credentials.read_text()
            second = _refused(tmp_path, free_port())
            assert second.returncode == 2
            assert "another demo" in second.stderr and str(process.pid) in second.stderr
            assert credentials.read_text() == written  # the first demo's store, untouched
            assert httpx.get(f"http://127.0.0.1:{port}/events", timeout=5).json()["items"]
            tickets = re.search(r"its tickets +(\S+)", log.read_text())
            assert tickets is not None
            assert httpx.get(tickets.group(1), timeout=5).json()["items"]
            live = re.search(r"watch it live +curl -N (\S+)", log.read_text())
            assert live is not None
            with httpx.stream("GET", live.group(1), timeout=5) as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                first = next(line for line in stream.iter_lines() if line.startswith("event:"))
            assert first == "event: availability"
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    text = log.read_text()
    assert items and "API docs" in text and f"127.0.0.1:{port}/docs" in text, text
    # Progress while it starts, readable logs, and the URLs last, once the API answers.
    assert "starting the simulated Shopify store" in text and "✓ synced" in text
    assert not [line for line in text.splitlines() if line.startswith("{")], text
    assert text.index("Uvicorn running") < text.index("The demo is ready")
    assert re.search(r"store GraphQL +http://\S+/graphql\.json$", text, re.M), text
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    values = dict(line.split("=", 1) for line in credentials.read_text().splitlines())
    assert values["SHOPIFY_ACCESS_TOKEN"] not in text
    assert values["SHOPIFY_WEBHOOK_SECRET"] not in text
    assert "signature=" not in text  # signed bulk-result URLs are credentials too
    assert not _listening(values["SHOPIFY_SHOP"])  # the simulator stopped with the demo


def test_a_taken_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = _refused(tmp_path, port)
    assert refused.returncode == 2
    assert f"port {port}" in refused.stderr and "taken" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1  # not wrapped at 80 columns
    assert not (tmp_path / "demo" / "simulator.env").exists()
    assert "starting" not in refused.stderr  # no store, no database was started
