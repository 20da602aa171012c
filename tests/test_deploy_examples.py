"""The example load balancer configuration (deploy/haproxy/haproxy.cfg), run as it is.

Two `shababco serve` processes behind HAProxy with the example's settings, moved to free ports:
overload is queued and refused at the balancer, in the API's own 503; reads through it all
succeed, and keep succeeding when one process is killed outright.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.infra.processes import ServeProcess, start_all, wait_until
from tests.support.server import free_port
from tests.support.services import ROOT, on_ci
from tests.support.webhook_client import eventually

EXAMPLE = ROOT / "deploy" / "haproxy" / "haproxy.cfg"


@pytest.fixture(scope="module")
def haproxy() -> str:
    binary = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")
    if binary is None:
        if on_ci():
            pytest.fail("CI=true but haproxy is not installed (see .ci/run)")
        pytest.skip("haproxy is not installed")
    return binary


@pytest.fixture(scope="module")
def processes(database_url: str) -> Iterator[list[ServeProcess]]:
    started = [ServeProcess(database_url) for _ in range(2)]
    start_all(started)
    yield started
    for process in started:
        process.stop()


@pytest.fixture(scope="module")
def balancer(haproxy: str, processes: list[ServeProcess]) -> Iterator[str]:
    port, folder = free_port(), Path(tempfile.mkdtemp(prefix="shababco-haproxy-"))
    config = EXAMPLE.read_text().replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    for number, process in enumerate(processes, start=1):
        config = config.replace(f"127.0.0.1:800{number}", f"127.0.0.1:{process.port}")
    (folder / "haproxy.cfg").write_text(config)
    log = folder / "haproxy.log"
    check = subprocess.run([haproxy, "-c", "-f", str(folder / "haproxy.cfg")], capture_output=True)
    assert check.returncode == 0, check.stderr.decode()
    with log.open("ab") as out:
        running = subprocess.Popen(
            [haproxy, "-db", "-f", str(folder / "haproxy.cfg")], stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(f"{url}/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(answers, "haproxy", log)
        yield url
    finally:
        running.terminate()
        running.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


async def _read_many(url: str, count: int) -> Counter[int]:
    paths = ["/events", "/categories", "/events?sort=title", "/events/nothing-here", "/health"]
    seen: Counter[int] = Counter()
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        for n in range(count):
            seen[(await client.get(paths[n % len(paths)])).status_code] += 1
    return seen


def requests_per_process() -> int:
    """The most requests the example sends one process at once (its `maxconn`)."""
    found = re.search(r"^\s*default-server .*\bmaxconn (\d+)", EXAMPLE.read_text(), re.M)
    assert found is not None, "the example bounds the requests each process is sent"
    return int(found.group(1))


async def test_overload_is_refused_at_the_balancer_in_the_apis_shape(
    balancer: str, processes: list[ServeProcess], engine: AsyncEngine
) -> None:
    """Every process holding all the reads the balancer sends it at once (blocked on a lock):
    one more waits in the balancer's queue, and is the first answered, with the API's 503."""
    held = requests_per_process() * len(processes)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with (
        engine.connect() as lock,
        httpx.AsyncClient(base_url=balancer, timeout=60, limits=limits) as api,
    ):
        transaction = await lock.begin()
        await lock.execute(text("LOCK TABLE events IN ACCESS EXCLUSIVE MODE"))
        # Distinct searches: none is answered from a cache, none shares another's query.
        reads = [
            asyncio.create_task(api.get("/events", params={"search": f"held{n}"}))
            for n in range(held + 1)
        ]
        first = next(asyncio.as_completed(reads))
        refused = await first
        await transaction.rollback()
        statuses = Counter([(await read).status_code for read in reads])
    assert refused.status_code == 503
    assert refused.headers["content-type"] == "application/json"
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["cache-control"] == "no-store"
    assert refused.headers["x-request-id"]
    assert orjson.loads(refused.content)["error"]["code"] == "overloaded"
    assert statuses == Counter({200: held, 503: 1})


async def test_reads_through_the_balancer_survive_a_killed_process(
    balancer: str, processes: list[ServeProcess]
) -> None:
    async def both_serve() -> bool:
        async with httpx.AsyncClient(timeout=2) as client:
            answers = [await client.get(f"{p.url}/ready") for p in processes]
        return all(answer.status_code == 200 for answer in answers)

    await eventually(both_serve, within=10)
    assert await _read_many(balancer, 100) == Counter({200: 80, 404: 20})
    processes[0].kill()
    assert await _read_many(balancer, 100) == Counter({200: 80, 404: 20})
