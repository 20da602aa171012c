"""Fixtures: the simulator as a real separate process, a webhook receiver, a GraphQL helper."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from tests.simulator.receiver import Receiver

TOKEN = "test-token"
SECRET = "hush"
API = "/admin/api/2026-07/graphql.json"
SHABABCO = Path(sys.executable).parent / "shababco"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SimulatorProcess:
    base_url: str
    process: subprocess.Popen[str]
    log: IO[str]


def spawn_simulator(*flags: str, seed_events: int = 60) -> SimulatorProcess:
    """Start `shababco simulator` on a free port and wait for its ready line."""
    port = free_port()
    command = [
        str(SHABABCO),
        "simulator",
        "--port",
        str(port),
        "--access-token",
        TOKEN,
        "--webhook-secret",
        SECRET,
        "--seed-events",
        str(seed_events),
        *flags,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPIFY_")}
    # A file, not a pipe: nobody drains pipes while tests run. Closed by stop_simulator.
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    assert process.stdout is not None
    line = process.stdout.readline()  # the ready line, printed once the port is bound
    if "listening" not in line:
        process.kill()
        process.wait()
        process.stdout.close()
        log.seek(0)
        message = f"simulator did not start: {line!r} {log.read()}"
        log.close()
        raise RuntimeError(message)
    return SimulatorProcess(f"http://127.0.0.1:{port}", process, log)


def stop_simulator(simulator: SimulatorProcess) -> None:
    simulator.process.terminate()
    try:
        simulator.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        simulator.process.kill()
    if simulator.process.stdout is not None:
        simulator.process.stdout.close()
    simulator.log.close()


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


async def gql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    """POST a GraphQL request; fail on HTTP errors; return the JSON body."""
    response = await client.post(API, json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


SUBSCRIBE = """
mutation($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
    webhookSubscription { id topic uri format metafieldNamespaces }
    userErrors { field message }
  }
}"""


async def subscribe(
    client: httpx.AsyncClient, topic: str, uri: str, namespaces: list[str] | None = None
) -> str:
    body = await gql(
        client,
        SUBSCRIBE,
        topic=topic,
        sub={"uri": uri, "format": "JSON", "metafieldNamespaces": namespaces or []},
    )
    payload = body["data"]["webhookSubscriptionCreate"]
    assert payload["userErrors"] == [], payload
    return str(payload["webhookSubscription"]["id"])


async def unsubscribe(client: httpx.AsyncClient, subscription_id: str) -> None:
    await gql(
        client,
        "mutation($id: ID!) { webhookSubscriptionDelete(id: $id)"
        " { deletedWebhookSubscriptionId } }",
        id=subscription_id,
    )


async def idle(client: httpx.AsyncClient, within: float = 20) -> None:
    response = await client.post("/_simulator/deliveries/wait-idle", params={"timeout": within})
    assert response.json()["idle"], response.json()
