"""The simulator as a real separate process, and helpers to drive it: GraphQL, the control API,
an export of its store, our own Admin API client pointed at it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
from pydantic import SecretStr

from shababco.shopify.admin.client import ShopifyClient
from tests.support.server import free_port

TOKEN = "test-token"
SECRET = "hush"
API = "/admin/api/2026-07/graphql.json"
SHABABCO = Path(sys.executable).parent / "shababco"


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
