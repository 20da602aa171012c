"""Under a read load that saturates one `serve` worker, webhooks and /health on new connections
are still answered: every one sent during the load is acknowledged before the load ends."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid

import pytest

from tests.support.factories import make_product
from tests.support.infra.processes import ServeProcess
from tests.support.infra.read_load import once
from tests.support.services import ROOT
from tests.support.webhook_client import shopify_headers

READ_CONNECTIONS = 1000
LOAD_SECONDS = 30.0
# New connections arrive faster than a saturated loop used to accept them (one per iteration:
# a few a second), for a third less than the load lasts.
ARRIVALS_PER_SECOND = 10
SENDING_SECONDS = 20


def webhook_request(port: int) -> bytes:
    body = json.dumps(make_product()).encode()
    headers = shopify_headers(
        "products/create", body, **{"X-Shopify-Webhook-Id": str(uuid.uuid4())}
    )
    head = f"POST /webhooks/products/create HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


@pytest.mark.slow
async def test_intake_is_answered_while_reads_saturate_the_worker(database_url: str) -> None:
    server = ServeProcess(database_url, ACCESS_LOG="false")
    server.start()
    command = ["-m", "tests.support.infra.read_load", str(server.port)]
    command += ["--connections", str(READ_CONNECTIONS), "--seconds", str(LOAD_SECONDS)]
    load = await asyncio.create_subprocess_exec(
        sys.executable, *command, cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert load.stdout is not None
        assert await load.stdout.readline() == b"ready\n"
        health = f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode()
        sent = []
        for _ in range(ARRIVALS_PER_SECOND * SENDING_SECONDS):
            sent.append(asyncio.create_task(once(server.port, webhook_request(server.port))))
            sent.append(asyncio.create_task(once(server.port, health)))
            await asyncio.sleep(1 / ARRIVALS_PER_SECOND)
        answers = await asyncio.gather(*sent)
        still_loading = load.returncode is None
    finally:
        if load.returncode is None:
            load.terminate()
        output = (await asyncio.wait_for(load.communicate(), 30))[0].decode()
        server.stop()
    assert still_loading, "the read load ended before every webhook was acknowledged"
    assert answers == [200] * len(sent)
    summary = json.loads(output.splitlines()[-1])
    assert summary["failed_connections"] == 0
    assert summary["answers"] > READ_CONNECTIONS  # the reads were answered too
