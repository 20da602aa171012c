"""The `shababco` command."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
import uvicorn
from rich.console import Console

from shababco.config import ConfigError, Settings, get_settings
from shababco.database.migrate import migrated_database
from shababco.logs import configure_logging, logging_config, register_secrets
from shababco.metrics import MULTIPROC_DIR_ENV
from shababco.simulator.cli import simulator_command

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Shababco events API.")
db_app = typer.Typer(no_args_is_help=True, help="Database migrations.")
app.add_typer(db_app, name="db")
webhooks_app = typer.Typer(
    no_args_is_help=True,
    help="Webhook subscriptions in the store, and deliveries the mirror could not apply.",
)
app.add_typer(webhooks_app, name="webhooks")
app.command("simulator")(simulator_command)
# Lines are never wrapped: piped output stays one line per message, URLs whole.
console = Console(stderr=True, soft_wrap=True)
WORKER_HEALTHCHECK_SECONDS = 30
T = TypeVar("T")

if TYPE_CHECKING:
    from shababco.shopify.webhooks.subscriptions import Subscription


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="TCP port."),
    workers: int = typer.Option(1, min=1, max=64, help="Worker processes."),
) -> None:
    """Run the API (migrating the embedded database first when there is no DATABASE_URL)."""
    try:
        settings = get_settings()
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    with _metrics_directory(workers):
        uvicorn.run(
            "shababco.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=settings.log_level,
            log_config=logging_config(settings.log_level, settings.log_format),
            access_log=False,  # ours carries the route template and the request id
            proxy_headers=False,
            # Webhooks and /health are accepted and answered on a thread of their own, so that
            # read load cannot delay them (shababco.serving).
            loop="shababco.serving.loop:ServeLoop",
            http="shababco.serving.protocol:TimedRequestProtocol",
            timeout_keep_alive=settings.http_keepalive_seconds,
            backlog=settings.http_backlog,
            # A spawned worker re-imports the whole CLI before it can answer the supervisor's
            # ping: on a busy host that takes over uvicorn's 5 s, and it kills healthy workers.
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        )


@contextmanager
def _metrics_directory(workers: int) -> Iterator[None]:
    """Several workers share their metrics through files: a fresh folder for this run.

    A folder given in PROMETHEUS_MULTIPROC_DIR is emptied of the last run's samples instead.
    """
    given = os.environ.get(MULTIPROC_DIR_ENV)
    if given:
        for stale in Path(given).glob("*.db"):
            stale.unlink()
        yield
        return
    if workers == 1:
        yield
        return
    folder = tempfile.mkdtemp(prefix="shababco-metrics-")
    os.environ[MULTIPROC_DIR_ENV] = folder
    try:
        yield
    finally:
        del os.environ[MULTIPROC_DIR_ENV]
        shutil.rmtree(folder, ignore_errors=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply Alembic migrations up to REVISION (default: head)."""

    async def run() -> None:
        async with migrated_database(get_settings(), pool=False, revision=revision):
            pass

    try:
        asyncio.run(run())
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    console.print(f"database upgraded to {revision}")


@app.command("import")
def import_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
) -> None:
    """Load REST-shaped products (a JSON list, or one per line) through the normalizer."""
    from shababco.commands.importer import ImportFileError, import_file

    async def run() -> None:
        settings = get_settings()
        async with migrated_database(settings, pool=False) as database:
            report = await import_file(database.write, file, currency=settings.shop_currency)
        console.print(
            f"imported {file.name}: {report.read} products read, {report.applied} applied, "
            f"{report.skipped_as_older} older than the mirror"
        )

    try:
        asyncio.run(run())
    except (ConfigError, ImportFileError) as exc:
        raise _fail(str(exc)) from None


@app.command()
def demo(
    port: int = typer.Option(8000, help="TCP port of the API."),
    events: int = typer.Option(200, min=1, help="Demo events in the simulated store."),
) -> None:
    """The embedded default end to end: simulated store, webhooks, initial sync, the API."""
    from shababco.commands.demo import run_demo
    from shababco.commands.guard import DemoRefused

    try:
        run_demo(
            api_port=port,
            events=events,
            serve=lambda: serve(host="127.0.0.1", port=port, workers=1),
            console=console,
        )
    except DemoRefused as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:
        console.print("demo stopped")


@app.command()
def sync(
    method: str = typer.Option("bulk", help="bulk (a bulk operation) or pages (paged queries)."),
    batch_size: int = typer.Option(250, min=1, max=5000, help="Products per transaction."),
) -> None:
    """Initial full sync from the store (resumes an interrupted run of the same method)."""
    from shababco.commands.store import sync_store

    if method not in ("bulk", "pages"):
        raise _fail("--method must be bulk or pages")
    report = _run_store_command(
        lambda settings: sync_store(settings, method=method, batch_size=batch_size, console=console)
    )
    resumed = f" (resumed after {report.resumed_after})" if report.resumed_after else ""
    skipped = f"skipped {report.skipped} (see the log), " if report.skipped else ""
    console.print(
        f"synced {report.products} products{resumed}, removed {report.deleted}, {skipped}"
        f"{report.levels} inventory levels, {report.orders} orders in {report.seconds:.1f}s"
    )


@app.command()
def reconcile() -> None:
    """One reconciliation pass: repair what webhooks missed, and report it."""
    from shababco.commands.store import reconcile_store
    from shababco.shopify.sync.reconcile import report_lines

    report = _run_store_command(reconcile_store)
    if report is None:
        raise _fail("another process is reconciling right now")
    for line in report_lines(report):
        console.print(line)


@webhooks_app.command("register")
def webhooks_register(
    address: str | None = typer.Option(
        None, help="The API's public base URL [default: PUBLIC_BASE_URL]."
    ),
) -> None:
    """Subscribe every topic at ADDRESS/webhooks/{topic} (existing ones are kept)."""
    from shababco.commands.store import register_webhooks

    def run(settings: Settings) -> Coroutine[Any, Any, list[Subscription]]:
        base = address or settings.public_base_url
        if not base:
            raise ConfigError("PUBLIC_BASE_URL is required (or pass --address)")
        return register_webhooks(settings, address=base)

    for subscription in _run_store_command(run):
        state = "created" if subscription.created else "kept"
        console.print(f"{state:8} {subscription.topic:24} {subscription.uri}  {subscription.id}")


@webhooks_app.command("list")
def webhooks_list() -> None:
    """List the store's webhook subscriptions."""
    from shababco.commands.store import list_webhooks

    for subscription in _run_store_command(list_webhooks):
        namespaces = ",".join(subscription.metafield_namespaces)
        console.print(
            f"{subscription.id}  {subscription.topic:24} {subscription.uri}  {namespaces}"
        )


@webhooks_app.command("delete")
def webhooks_delete(
    subscription_id: list[str] = typer.Option([], "--id", help="A subscription id (repeatable)."),
    every: bool = typer.Option(False, "--all", help="Delete every subscription."),
) -> None:
    """Delete subscriptions by id, or all of them."""
    from shababco.commands.store import delete_webhooks

    if not subscription_id and not every:
        raise _fail("pass --id ID (repeatable) or --all")
    deleted = _run_store_command(
        lambda settings: delete_webhooks(settings, ids=subscription_id, every=every)
    )
    console.print(f"deleted {len(deleted)} subscriptions")


@webhooks_app.command("failed")
def webhooks_failed() -> None:
    """List quarantined deliveries: webhook id, topic, received at, reason (one per line)."""
    from shababco.commands.inbox import failed_deliveries, failed_line

    deliveries = _run_database_command(failed_deliveries)
    for delivery in deliveries:
        typer.echo(failed_line(delivery))
    console.print(f"{len(deliveries)} quarantined deliveries")


@webhooks_app.command("retry")
def webhooks_retry(
    webhook_ids: list[str] = typer.Argument(None, metavar="[ID]...", show_default=False),
    every: bool = typer.Option(False, "--all", help="Retry every quarantined delivery."),
) -> None:
    """Apply quarantined deliveries again now, by webhook id or all of them."""
    from shababco.commands.inbox import outcome_line, retry_deliveries

    named = _chosen(webhook_ids, every)
    outcomes = _run_database_command(lambda settings: retry_deliveries(settings, named))
    for outcome in outcomes:
        typer.echo(outcome_line(outcome))
    missing = sorted(set(named or ()) - {outcome.webhook_id for outcome in outcomes})
    for webhook_id in missing:
        console.print(f"{webhook_id}: no quarantined delivery has this id")
    if missing or any(outcome.outcome != "applied" for outcome in outcomes):
        raise typer.Exit(code=1)


@webhooks_app.command("discard")
def webhooks_discard(
    webhook_ids: list[str] = typer.Argument(None, metavar="[ID]...", show_default=False),
    every: bool = typer.Option(False, "--all", help="Discard every quarantined delivery."),
) -> None:
    """Delete quarantined deliveries for good, by webhook id or all of them."""
    from shababco.commands.inbox import discard_deliveries

    named = _chosen(webhook_ids, every)
    discarded = _run_database_command(lambda settings: discard_deliveries(settings, named))
    console.print(f"discarded {len(discarded)} quarantined deliveries")


def _chosen(webhook_ids: list[str] | None, every: bool) -> list[str] | None:
    """The webhook ids named, or None for `--all`; one or the other is required."""
    if bool(webhook_ids) == every:
        raise _fail("pass webhook ids or --all")
    return None if every else list(webhook_ids or ())


def _run_database_command(body: Callable[[Settings], Coroutine[Any, Any, T]]) -> T:
    """Run a command on the database; configuration errors end it with a clear message."""
    try:
        settings = get_settings()
        register_secrets(settings.secret_values())
        return asyncio.run(body(settings))
    except ConfigError as exc:
        raise _fail(str(exc)) from None


def _run_store_command(body: Callable[[Settings], Coroutine[Any, Any, T]]) -> T:
    """Run a store command; configuration and Shopify errors end it with a clear message."""
    from shababco.shopify.admin.client import ShopifyError

    try:
        settings = get_settings()
        register_secrets(settings.secret_values())
        return asyncio.run(body(settings))
    except (ConfigError, ShopifyError) as exc:
        raise _fail(str(exc)) from None


def main() -> None:
    try:
        settings = get_settings()
        configure_logging(settings.log_level, settings.log_format)
        register_secrets(settings.secret_values())
    except ConfigError:
        configure_logging()  # the command itself reports what is wrong
    app()
