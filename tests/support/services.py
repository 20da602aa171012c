"""Finding the PostgreSQL and Redis the tests run against.

On CI (CI=true) both must be reachable at their configured addresses: a missing service fails the
run instead of skipping tests. Elsewhere PostgreSQL falls back to the embedded server.
"""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

import asyncpg

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def on_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def admin_postgres_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_POSTGRES)


def redis_url() -> str:
    return os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS)


async def postgres_reachable(url: str) -> bool:
    try:
        connection = await asyncpg.connect(url, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await connection.close()
    return True


def redis_reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or 6379), 2
        ) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def check_required_services() -> None:
    """On CI, raise naming each service that is not reachable."""
    if not on_ci():
        return
    missing = []
    if not asyncio.run(postgres_reachable(admin_postgres_url())):
        missing.append(f"PostgreSQL at {admin_postgres_url()}")
    if not redis_reachable(redis_url()):
        missing.append(f"Redis at {redis_url()}")
    if missing:
        raise RuntimeError("CI=true but required services are down: " + ", ".join(missing))
