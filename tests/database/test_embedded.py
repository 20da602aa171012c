"""The embedded PostgreSQL: survives a killed owner, stops with the last handle."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from shababco.database.embedded import EmbeddedPostgres

ATTACH = """
import sys, time
from pathlib import Path
from shababco.database.embedded import EmbeddedPostgres
server = EmbeddedPostgres(Path(sys.argv[1]))
print(server.url(), flush=True)
time.sleep(600)
"""


def servers_on(pgdata: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if process.info["name"] == "postgres" and str(pgdata) in " ".join(cmdline):
            found.append(process)
    return found


@pytest.mark.slow
def test_killed_owner_is_pruned_and_last_close_stops_the_server(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    owner = subprocess.Popen(
        [sys.executable, "-c", ATTACH, str(data_dir)], stdout=subprocess.PIPE, text=True
    )
    assert owner.stdout is not None
    assert owner.stdout.readline().startswith("postgresql+asyncpg://postgres@/shababco?host=")
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    owner.stdout.close()
    pgdata = data_dir / "postgres"
    assert owner.pid in json.loads((pgdata / ".handle_pids.json").read_text())
    assert servers_on(pgdata), "the server outlives a SIGKILLed owner"

    server = EmbeddedPostgres(data_dir)  # prunes the dead owner, attaches to the running server
    assert json.loads((pgdata / ".handle_pids.json").read_text()) == [os.getpid()]
    server.close()
    deadline = time.monotonic() + 10
    while servers_on(pgdata) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not servers_on(pgdata), "closing the last handle stops the server"
