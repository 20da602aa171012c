"""`shababco demo`: the simulated store, a fresh embedded mirror, webhooks, sync, then the API.

One demo per data folder: a lock held for the demo's life makes a second one refuse at once,
before it changes anything, and so does an API port already taken. The console says what is
happening while it starts, logs are lines for a person (unless LOG_FORMAT or ACCESS_LOG are
set), and the URLs to try come last, once the API answers.

The store's access token and webhook secret are generated per run and handed to the simulator
and the API through the environment, never on a command line or the screen; they are written
to a 0600 file for whoever wants to call the simulator's APIs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import NoReturn

import httpx
from rich.console import Console
from sqlalchemy import exists, select, text

from shababco.catalog.models import Event, Ticket
from shababco.commands.guard import HOST, demo_lock, free_port, require_free_port
from shababco.commands.store import register_webhooks, sync_store
from shababco.config import get_settings
from shababco.database.migrate import migrated_database
from shababco.logs import configure_logging
from shababco.sale.routes import live_url
from shababco.tables import metadata

SIMULATOR_PORT = 8081
API_VERSION = "2026-07"
READY_WITHIN_SECONDS = 120.0
EXAMPLE_CANDIDATES = 50
# What a person running the demo reads, unless the environment says otherwise.
DEMO_LOGGING = {"LOG_FORMAT": "text", "ACCESS_LOG": "false"}
# Start-up chatter that says nothing to a person watching the demo (failures still show).
QUIET_LOGGERS = ("alembic", "shababco.database.embedded", "shababco.shopify.sync.scheduled")


@dataclass
class DemoStore:
    process: subprocess.Popen[str]
    base_url: str
    token: str
    secret: str


@dataclass
class Example:
    """An event worth opening: it has tickets to show."""

    path: str
    event_id: int


class Steps:
    """One console line per start-up step, with the time it took."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.started = time.monotonic()

    def say(self, line: str) -> None:
        self.console.print(line, soft_wrap=True, markup=False, highlight=False)

    def begin(self, line: str) -> None:
        self.started = time.monotonic()
        self.say(f"… {line}")

    def done(self, line: str) -> None:
        self.say(f"✓ {line} ({time.monotonic() - self.started:.1f} s)")


def start_simulator(*, events: int, flags: Sequence[str] = ()) -> DemoStore:
    """Start `shababco simulator` with fresh secrets and wait until it listens."""
    token, secret = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    port = free_port(SIMULATOR_PORT)
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


def use_demo_logging() -> None:
    """Readable log lines for the demo; LOG_FORMAT and ACCESS_LOG set by the user still win."""
    for name, value in DEMO_LOGGING.items():
        os.environ.setdefault(name, value)
    get_settings.cache_clear()
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


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


async def prepare(*, api_url: str, console: Console, steps: Steps) -> list[Example]:
    """Empty the demo mirror, subscribe the webhooks, sync; returns events with tickets."""
    settings = get_settings()
    steps.begin(f"starting the embedded PostgreSQL in {settings.data_dir}")
    async with migrated_database(settings) as database:
        tables = ", ".join(table.name for table in metadata.sorted_tables)
        async with database.write.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables}"))
    steps.done("database ready and emptied")
    steps.begin("subscribing to the store's webhooks")
    subscriptions = await register_webhooks(settings, address=api_url)
    steps.done(f"subscribed {len(subscriptions)} webhook topics at {api_url}/webhooks/…")
    steps.begin("copying the store into the mirror (initial sync)")
    report = await sync_store(settings, method="bulk", batch_size=250, console=console)
    steps.done(f"synced {report.products} events and {report.orders} orders")
    async with migrated_database(settings) as database, database.read.connect() as conn:
        has_tickets = exists().where(Ticket.event_id == Event.shopify_product_id, Ticket.is_visible)
        rows = await conn.execute(
            select(Event.shopify_product_id, Event.handle)
            .where(Event.status == "active", Event.deleted_at.is_(None), has_tickets)
            .order_by(Event.shopify_product_id)
            .limit(EXAMPLE_CANDIDATES)
        )
        return _examples(list(rows.tuples()))


def _examples(rows: list[tuple[int, str]]) -> list[Example]:
    """An English and an Arabic event, if there are both.

    An Arabic handle is a fine URL, but terminals neither link nor order it well: the Arabic
    event is shown by its id.
    """
    english = [Example(handle, event_id) for event_id, handle in rows if handle.isascii()]
    arabic = [Example(str(event_id), event_id) for event_id, handle in rows if not handle.isascii()]
    return (english[:1] + arabic[:1]) if english and arabic else (english + arabic)[:2]


def urls_to_try(api_url: str, store: DemoStore, examples: list[Example], credentials: Path) -> str:
    lines = [
        "The demo is ready. Try:",
        f"  API docs          {api_url}/docs",
        f"  events            {api_url}/events",
        f"  search            {api_url}/events?search=jazz",
        f"  categories        {api_url}/categories",
        *[f"  an event          {api_url}/events/{example.path}" for example in examples],
        *[
            f"  its tickets       {api_url}/events/{example.event_id}/tickets"
            for example in examples[:1]
        ],
        *[
            f"  watch it live     curl -N {live_url(api_url, example.event_id)}"
            for example in examples[:1]
        ],
        f"  store GraphQL     {store.base_url}/admin/api/{API_VERSION}/graphql.json",
        f"                    (header X-Shopify-Access-Token, in {credentials})",
        f"  store docs        {store.base_url}/_simulator/docs",
        "  change the store  docs/change-the-store.md: changes show in the API within a second",
        "Ctrl-C stops the demo.",
    ]
    return "\n".join(lines)


def announce_when_ready(api_url: str, message: str, steps: Steps) -> threading.Event:
    """Print `message` once the API answers /ready; set the returned event to give up."""
    stop = threading.Event()

    def wait() -> None:
        deadline = time.monotonic() + READY_WITHIN_SECONDS
        with httpx.Client(timeout=2.0, trust_env=False) as http:
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    if http.get(f"{api_url}/ready").status_code == 200:
                        steps.done(f"the API answers at {api_url}")
                        steps.say(message)
                        return
                except httpx.HTTPError:
                    pass
                stop.wait(0.1)

    threading.Thread(target=wait, daemon=True, name="demo-announcer").start()
    return stop


def _interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt


def run_demo(*, api_port: int, events: int, serve: Callable[[], None], console: Console) -> None:
    """Start everything, serve until interrupted, then stop the simulator.

    Raises DemoRefused, having changed nothing, when another demo holds the data folder or
    the API port is taken.
    """
    # Until uvicorn takes the signals over, SIGTERM unwinds like Ctrl-C (stopping the store).
    signal.signal(signal.SIGTERM, _interrupt)
    api_url = f"http://{HOST}:{api_port}"
    data_dir = get_settings().data_dir / "demo"
    with demo_lock(data_dir):
        require_free_port(api_port)
        use_demo_logging()
        steps = Steps(console)
        steps.begin(f"starting the simulated Shopify store with {events} events")
        store = start_simulator(events=events)
        try:
            steps.done(f"store ready at {store.base_url}")
            credentials = configure(store, api_url=api_url, data_dir=data_dir)
            examples = asyncio.run(prepare(api_url=api_url, console=console, steps=steps))
            steps.begin(f"starting the API on {api_url}")
            message = urls_to_try(api_url, store, examples, credentials)
            give_up = announce_when_ready(api_url, message, steps)
            try:
                serve()
            finally:
                give_up.set()
        finally:
            stop_simulator(store)
