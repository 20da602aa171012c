"""Fixtures: one simulator process for the session, a client for it, a webhook receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.support.receiver import Receiver
from tests.support.simulator import TOKEN, SimulatorProcess, spawn_simulator, stop_simulator


@pytest.fixture(scope="session")
def simulator() -> Iterator[SimulatorProcess]:
    """One simulator process for the session, with a fast retry schedule."""
    process = spawn_simulator("--retry-time-scale", "0.0005", "--seed", "7", "--plan", "plus")
    yield process
    stop_simulator(process)


@pytest.fixture(scope="session")
async def client(simulator: SimulatorProcess) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"X-Shopify-Access-Token": TOKEN}
    async with httpx.AsyncClient(base_url=simulator.base_url, headers=headers, timeout=30) as http:
        yield http


@pytest.fixture(scope="session")
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.start()
    yield server
    await server.stop()
