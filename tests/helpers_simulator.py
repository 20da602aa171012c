"""The simulator process for tests outside tests/simulator: clients, export, fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
from pydantic import SecretStr

from shababco.shopify.client import ShopifyClient
from tests.simulator.conftest import (
    SECRET,
    TOKEN,
    SimulatorProcess,
    gql,
    spawn_simulator,
    stop_simulator,
)

__all__ = [
    "SECRET",
    "TOKEN",
    "SimulatorProcess",
    "control",
    "export",
    "gql",
    "running_simulator",
    "shopify_client",
]


@contextmanager
def running_simulator(*flags: str, seed_events: int = 30) -> Iterator[SimulatorProcess]:
    simulator = spawn_simulator(*flags, seed_events=seed_events)
    try:
        yield simulator
    finally:
        stop_simulator(simulator)


def shopify_client(simulator: SimulatorProcess, **options: Any) -> ShopifyClient:
    return ShopifyClient(
        shop=simulator.base_url,
        access_token=SecretStr(TOKEN),
        api_version="2026-07",
        **options,
    )


@asynccontextmanager
async def control(simulator: SimulatorProcess) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the simulator with the access token (GraphQL and /_simulator/)."""
    headers = {"X-Shopify-Access-Token": TOKEN}
    async with httpx.AsyncClient(base_url=simulator.base_url, headers=headers, timeout=30) as http:
        yield http


async def export(simulator: SimulatorProcess) -> dict[str, Any]:
    async with control(simulator) as http:
        response = await http.get("/_simulator/export")
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body
