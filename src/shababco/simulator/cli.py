"""`shababco simulator`: run the simulated Shopify store."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING

import typer
import uvicorn
import uvloop

from shababco.simulator.chaos import ChaosSettings
from shababco.simulator.throttle import PLANS

if TYPE_CHECKING:  # the store and its GraphQL engine load only when the simulator runs
    from shababco.simulator.runtime import SimulatorConfig


def parse_range(text: str) -> tuple[float, float]:
    """Parse `2` or `2-3` seconds into a (low, high) pair."""
    low, _, high = text.partition("-")
    try:
        bounds = (float(low), float(high or low))
    except ValueError as error:
        raise typer.BadParameter(f"expected SECONDS or LOW-HIGH, got {text!r}") from error
    if bounds[0] < 0 or bounds[1] < bounds[0]:
        raise typer.BadParameter(f"expected 0 <= LOW <= HIGH, got {text!r}")
    return bounds


def _secret(value: str | None, flag: str, variable: str) -> str:
    """A secret from its flag or environment variable, or a start-up error naming both."""
    secret = value or os.environ.get(variable, "")
    if not secret:
        typer.echo(f"error: missing {flag} (or the {variable} environment variable)", err=True)
        raise typer.Exit(code=2)
    return secret


def simulator_command(
    port: int = typer.Option(8081, help="TCP port to listen on."),
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    access_token: str | None = typer.Option(
        None, help="Admin API access token [env SHOPIFY_ACCESS_TOKEN]."
    ),
    webhook_secret: str | None = typer.Option(
        None, help="Webhook signing secret [env SHOPIFY_WEBHOOK_SECRET]."
    ),
    seed_events: int = typer.Option(50, min=0, help="Events generated at start-up."),
    seed: int = typer.Option(1, help="Random seed: same seed, same store."),
    latency: str = typer.Option("0", help="REST latency in seconds, or a range such as 2-3."),
    plan: str = typer.Option("standard", help="Shop plan: standard, advanced or plus."),
    shop_domain: str = typer.Option("shababco-dev.myshopify.com", help="X-Shopify-Shop-Domain."),
    duplicate_rate: float = typer.Option(
        0.0, min=0, max=1, help="Chance a webhook is delivered twice."
    ),
    reorder_window: int = typer.Option(0, min=0, help="Webhooks shuffled together before sending."),
    drop_rate: float = typer.Option(0.0, min=0, max=1, help="Chance a webhook is never delivered."),
    delay: str = typer.Option("0", help="Delay before the first attempt, seconds or a range."),
    retry_time_scale: float = typer.Option(
        1.0, min=0, help="Multiplier on the 4-hour retry schedule."
    ),
    bucket_size: float | None = typer.Option(None, help="Override the plan's GraphQL bucket size."),
    restore_rate: float | None = typer.Option(
        None, help="Override the plan's restore rate (points/s)."
    ),
    workers: int = typer.Option(32, min=1, help="Concurrent webhook delivery workers."),
) -> None:
    """Run the simulated Shopify store (GraphQL + REST Admin, webhooks, control API)."""
    if plan not in PLANS:
        raise typer.BadParameter(f"plan must be one of {', '.join(PLANS)}", param_hint="--plan")
    delay_low, delay_high = parse_range(delay)
    from shababco.simulator.runtime import SimulatorConfig  # not in every `shababco` process

    config = SimulatorConfig(
        access_token=_secret(access_token, "--access-token", "SHOPIFY_ACCESS_TOKEN"),
        webhook_secret=_secret(webhook_secret, "--webhook-secret", "SHOPIFY_WEBHOOK_SECRET"),
        host=host,
        port=port,
        seed_events=seed_events,
        seed=seed,
        latency=parse_range(latency),
        plan=plan,
        shop_domain=shop_domain,
        retry_time_scale=retry_time_scale,
        chaos=ChaosSettings(duplicate_rate, reorder_window, drop_rate, delay_low, delay_high),
        bucket_size=bucket_size,
        restore_rate=restore_rate,
        workers=workers,
    )
    # Per-delivery client logs would flood the output (and slow delivery down).
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    uvloop.install()  # uvicorn[standard] ships it; it roughly doubles delivery throughput
    asyncio.run(_serve(config))


async def _serve(config: SimulatorConfig) -> None:
    from shababco.simulator.app import create_app  # heavy: only once the flags are valid

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config),
            host=config.host,
            port=config.port,
            log_level="warning",
            access_log=False,
            lifespan="on",
        )
    )
    serving = asyncio.create_task(server.serve())
    while not server.started and not serving.done():  # noqa: ASYNC110 - uvicorn only offers a flag
        await asyncio.sleep(0.02)
    if server.started:
        print(f"simulator listening on {config.base_url}", flush=True)
    await serving
