"""`shababco demo`: the simulated store, a fresh embedded mirror, webhooks, sync, then the API.

The store's access token and webhook secret are generated per run and handed to the simulator
and the API through the environment, never on a command line or the screen; they are written
to a 0600 file for whoever wants to call the simulator's control API.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import NoReturn

from rich.console import Console
from sqlalchemy import select, text

from shababco.catalog.models import Event
from shababco.commands.store import register_webhooks, sync_store
from shababco.config import get_settings
from shababco.database.migrate import migrated_database
from shababco.tables import metadata

SIMULATOR_PORT = 8081
HOST = "127.0.0.1"


@dataclass
class DemoStore:
    process: subprocess.Popen[str]
    base_url: str
    token: str
    secret: str


def _port(preferred: int) -> int:
    """`preferred` if it is free, else any free port."""
    with socket.socket() as sock:
        try:
            sock.bind((HOST, preferred))
        except OSError:
            sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def start_simulator(*, events: int, flags: Sequence[str] = ()) -> DemoStore:
    """Start `shababco simulator` with fresh secrets and wait until it listens."""
    token, secret = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    port = _port(SIMULATOR_PORT)
    command = [sys.executable, "-c", "from shababco.cli import main; main()", "simulator"]
    command += ["--host", HOST, "--port", str(port), "--seed-events", str(events), *flags]
    environment = {**os.environ, "SHOPIFY_ACCESS_TOKEN": token, "SHOPIFY_WEBHOOK_SECRET": secret}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=environment)
    assert process.stdout is not None
    ready = process.stdout.readline()
    if "listening" not in ready:
        process.kill()
        process.wait()
        raise RuntimeError("the simulated store did not start (see its output above)")
    # Nobody reads its stdout again: drain it so that a chatty simulator never blocks.
    threading.Thread(target=process.stdout.read, daemon=True).start()
    return DemoStore(process, f"http://{HOST}:{port}", token, secret)


def stop_simulator(store: DemoStore) -> None:
    store.process.terminate()
    try:
        store.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        store.process.kill()
        store.process.wait()


def configure(store: DemoStore, *, api_url: str, data_dir: Path) -> Path:
    """Point this process's settings at the store and a demo-only embedded database."""
    os.environ |= {
        "SHOPIFY_SHOP": store.base_url,
        "SHOPIFY_ACCESS_TOKEN": store.token,
        "SHOPIFY_WEBHOOK_SECRET": store.secret,
        "PUBLIC_BASE_URL": api_url,
        "SHABABCO_DATA_DIR": str(data_dir),
        "DATABASE_URL": "",  # blank wins over a .env: the demo never touches a real database
        "DATABASE_READ_URL": "",
    }
    get_settings.cache_clear()
    data_dir.mkdir(parents=True, exist_ok=True)
    credentials = data_dir / "simulator.env"
    credentials.touch(mode=0o600)
    credentials.write_text(
        f"SHOPIFY_SHOP={store.base_url}\nSHOPIFY_ACCESS_TOKEN={store.token}\n"
        f"SHOPIFY_WEBHOOK_SECRET={store.secret}\n"
    )
    return credentials


async def prepare(*, api_url: str, console: Console) -> list[str]:
    """Empty the demo mirror, subscribe the webhooks, sync; returns a few event handles."""
    settings = get_settings()
    async with migrated_database(settings) as database:
        tables = ", ".join(table.name for table in metadata.sorted_tables)
        async with database.write.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables}"))
    subscriptions = await register_webhooks(settings, address=api_url)
    console.print(f"subscribed {len(subscriptions)} webhook topics at {api_url}/webhooks/…")
    report = await sync_store(settings, method="bulk", batch_size=250, console=console)
    console.print(f"synced {report.products} events and {report.orders} orders")
    async with migrated_database(settings) as database, database.read.connect() as conn:
        rows = await conn.execute(
            select(Event.handle)
            .where(Event.status == "active", Event.deleted_at.is_(None))
            .order_by(Event.shopify_product_id)
            .limit(2)
        )
        return list(rows.scalars())


def urls_to_try(api_url: str, store: DemoStore, handles: list[str], credentials: Path) -> str:
    lines = [
        f"API docs        {api_url}/docs",
        f"events          {api_url}/events",
        f"search          {api_url}/events?search=jazz",
        f"categories      {api_url}/categories",
        *[f"an event        {api_url}/events/{handle}" for handle in handles],
        f"simulated store {store.base_url}/_simulator/docs (its access token is in {credentials})",
    ]
    return "\n".join(lines)


def _interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt


def run_demo(*, api_port: int, events: int, serve: Callable[[], None], console: Console) -> None:
    """Start everything, serve until interrupted, then stop the simulator."""
    # Until uvicorn takes the signals over, SIGTERM unwinds like Ctrl-C (stopping the store).
    signal.signal(signal.SIGTERM, _interrupt)
    api_url = f"http://{HOST}:{api_port}"
    data_dir = get_settings().data_dir / "demo"
    store = start_simulator(events=events)
    try:
        credentials = configure(store, api_url=api_url, data_dir=data_dir)
        handles = asyncio.run(prepare(api_url=api_url, console=console))
        console.print(urls_to_try(api_url, store, handles, credentials))
        serve()
    finally:
        stop_simulator(store)
