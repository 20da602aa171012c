"""The service on the real parts of a production deployment, on this machine.

A PostgreSQL primary, a streaming replica applying changes 1.5 s late, PgBouncer in transaction
mode in front of both, one Redis, and `shababco serve` processes configured as an operator would:
`DATABASE_URL` and `DATABASE_READ_URL` through the pooler, `DB_STATEMENT_CACHE_SIZE=0`. Waits are
on conditions; the bounds they are given are the ones the deployment guide promises.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from shababco.config import Settings
from shababco.database.engines import create_engine
from shababco.database.migrate import upgrade
from tests.support.data import TEST_SHOP
from tests.support.factories import make_product
from tests.support.infra.processes import RedisServer, ServeProcess, start_all
from tests.support.infra.topology import REPLICA_DELAY_MS, Topology, missing_tools
from tests.support.services import admin_postgres_url, on_ci
from tests.support.simulator import SHABABCO, TOKEN, spawn_simulator, stop_simulator
from tests.support.webhook_client import VISIBLE_WITHIN, deliver, eventually

POOLED = {"DB_STATEMENT_CACHE_SIZE": "0", "DB_POOL_SIZE": "10", "DB_MAX_OVERFLOW": "5"}
RECONCILE_INTERVAL = 5  # seconds; the lease is renewed every half second
# The promise: a change shows everywhere within the replica's lag plus the cache's 1 s.
FRESH_WITHIN = REPLICA_DELAY_MS / 1000 + VISIBLE_WITHIN


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    missing = missing_tools() + ([] if shutil.which("redis-server") else ["redis-server"])
    if missing:
        if on_ci():
            pytest.fail(f"CI=true but the topology lacks {', '.join(missing)} (see .ci/run)")
        pytest.skip(f"missing {', '.join(missing)}")
    server = RedisServer(shutil.which("redis-server") or "redis-server")
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.folder, ignore_errors=True)


async def _migrate_through_the_pooler(url: str) -> None:
    engine = create_engine(url, Settings(_env_file=None, db_statement_cache_size=0))
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
async def topology(redis_server: RedisServer) -> AsyncIterator[Topology]:
    topology = Topology(f"shababco_topology_{os.getpid()}")
    try:
        topology.start_primary()
        topology.start_pooler()
        await topology.create_database()
        await _migrate_through_the_pooler(topology.pooled_url)
        topology.start_replica()
        await topology.wait_for(topology.pooled_replica_url)
        yield topology
    finally:
        topology.close()


@pytest.fixture(scope="module")
def deployment(topology: Topology, redis_server: RedisServer) -> Iterator[list[ServeProcess]]:
    """Two processes of one deployment: writes through the pooler, reads from the replica."""
    env = POOLED | {"DATABASE_READ_URL": topology.pooled_replica_url}
    processes = [
        ServeProcess(topology.pooled_url, redis_server.url, workers=1, **env) for _ in range(2)
    ]
    start_all(processes)
    yield processes
    for process in processes:
        process.stop()


@pytest.fixture
async def clients(deployment: list[ServeProcess]) -> AsyncIterator[list[httpx.AsyncClient]]:
    limits = httpx.Limits(max_connections=50, max_keepalive_connections=50)
    opened = [httpx.AsyncClient(base_url=p.url, timeout=20, limits=limits) for p in deployment]
    await eventually(lambda: _cache_states(opened, {"ok"}), within=VISIBLE_WITHIN)
    yield opened
    for client in opened:
        await client.aclose()


async def _cache_states(clients: list[httpx.AsyncClient], states: set[str]) -> bool:
    return {(await client.get("/ready")).json()["cache"] for client in clients} == states


async def _title(client: httpx.AsyncClient, event_id: int) -> str | None:
    response = await client.get(f"/events/{event_id}")
    return str(response.json()["title"]) if response.status_code == 200 else None


async def _titled_everywhere(clients: list[httpx.AsyncClient], event_id: int, title: str) -> None:
    async def everywhere() -> bool:
        return all([await _title(client, event_id) == title for client in clients])

    await eventually(everywhere, within=FRESH_WITHIN)


async def _in_batches(calls: list[Any], size: int = 16) -> list[httpx.Response]:
    answers: list[httpx.Response] = []
    for start in range(0, len(calls), size):
        answers += await asyncio.gather(*(call() for call in calls[start : start + size]))
    return answers


async def test_webhooks_and_reads_through_the_pooler_never_fail(
    topology: Topology, clients: list[httpx.AsyncClient]
) -> None:
    products = [make_product(title=f"Pooled {n}", category=f"Kind {n % 7}") for n in range(300)]
    writes = [
        lambda n=n, p=p: deliver(clients[n % 2], "products/create", p)
        for n, p in enumerate(products)
    ]
    searches = [
        lambda n=n: clients[n % 2].get(f"/events?limit={n % 100 + 1}&search=pooled {n}")
        for n in range(200)
    ]
    mixed = [call for pair in zip(writes, searches, strict=False) for call in pair]
    answers = await _in_batches(mixed + writes[len(searches) :])
    assert Counter(answer.status_code for answer in answers) == {200: len(answers)}

    primary = await asyncpg.connect(topology.primary_url)
    try:

        async def applied() -> bool:
            return not await primary.fetchval(
                "SELECT count(*) FROM webhook_inbox WHERE processed_at IS NULL"
            )

        await eventually(applied, within=60)
        failed = await primary.fetchval(
            "SELECT count(*) FROM webhook_inbox WHERE attempts > 1 OR last_error IS NOT NULL"
        )
        events = await primary.fetchval("SELECT count(*) FROM events")
    finally:
        await primary.close()
    assert failed == 0  # every delivery applied at its first attempt
    replica = await asyncpg.connect(topology.replica_url)
    try:

        async def replicated() -> bool:
            return bool(await replica.fetchval("SELECT count(*) FROM events") == events)

        await eventually(replicated, within=FRESH_WITHIN)
    finally:
        await replica.close()

    reads = [
        lambda n=n, p=p: clients[n % 2].get(f"/events/{p['id']}{'/tickets' if n % 3 else ''}")
        for n, p in enumerate(products)
    ] + [lambda n=n: clients[n % 2].get(f"/events?page={n + 1}&limit=3") for n in range(100)]
    answers = await _in_batches(reads)
    assert Counter(answer.status_code for answer in answers) == {200: len(answers)}


async def test_a_change_shows_in_both_processes_despite_the_replicas_lag_and_never_reverts(
    topology: Topology, clients: list[httpx.AsyncClient]
) -> None:
    replica = await asyncpg.connect(topology.replica_url)
    try:
        assert await replica.fetchval("SHOW recovery_min_apply_delay") == f"{REPLICA_DELAY_MS}ms"
    finally:
        await replica.close()
    product = make_product(title="Before")
    await deliver(clients[0], "products/create", product)
    await _titled_everywhere(clients, product["id"], "Before")
    renamed = {**product, "title": "After", "updated_at": "2026-05-01T00:00:00Z"}
    assert (await deliver(clients[0], "products/update", renamed)).status_code == 200

    seen = [False, False]

    async def watch(index: int) -> None:
        """Read until this process shows the change, then 100 times more: never the old."""
        after = 0
        while after < 100:
            title = await _title(clients[index], product["id"])
            if seen[index]:
                assert title == "After", f"process {index} went back to {title!r}"
                after += 1
            seen[index] = title == "After"
            await asyncio.sleep(0.005)

    try:
        await asyncio.wait_for(asyncio.gather(watch(0), watch(1)), timeout=FRESH_WITHIN + 30)
    except TimeoutError:
        raise AssertionError(f"the change did not show everywhere: seen {seen}") from None


async def test_two_deployments_with_same_named_databases_share_no_entries(
    topology: Topology, redis_server: RedisServer, clients: list[httpx.AsyncClient]
) -> None:
    """Production's database restored from a backup as staging's, on another server, named as
    production's processes know theirs (the name in DATABASE_READ_URL, whose server follows
    the change log), both deployments on one Redis: each serves only its own data."""
    product = make_product(title="Shared origin")
    await deliver(clients[0], "products/create", product)
    await _titled_everywhere(clients, product["id"], "Shared origin")
    staging_url = await _restored_copy(topology)
    staging = ServeProcess(staging_url, redis_server.url)
    try:
        start_all([staging])
        async with httpx.AsyncClient(base_url=staging.url, timeout=20) as staging_client:
            await eventually(lambda: _cache_states([staging_client], {"ok"}), within=15)
            renamed = {**product, "title": "Production only", "updated_at": "2026-05-01T00:00:00Z"}
            await deliver(clients[0], "products/update", renamed)
            await _titled_everywhere(clients, product["id"], "Production only")
            for _ in range(3):  # production's entry is in Redis, stamped past staging's log
                assert await _title(staging_client, product["id"]) == "Shared origin"
            staged = {**product, "title": "Staging only", "updated_at": "2026-06-01T00:00:00Z"}
            await deliver(staging_client, "products/update", staged)
            await _titled_everywhere([staging_client], product["id"], "Staging only")
            for _ in range(3):
                for client in clients:
                    assert await _title(client, product["id"]) == "Production only"
    finally:
        staging.stop()
        await _drop(staging_url)
    redis = Redis.from_url(redis_server.url)
    try:
        keys = [key.decode() async for key in redis.scan_iter("shababco:*")]
    finally:
        await redis.aclose()
    assert len({key.split(":")[1] for key in keys}) == 2, keys  # one namespace per deployment


async def _restored_copy(topology: Topology) -> str:
    """The topology's database dumped and restored on the machine's PostgreSQL, under the name
    production reads it by."""
    admin, name = admin_postgres_url(), topology.pooled_replica_url.rsplit("/", 1)[1]
    url = admin.rsplit("/", 1)[0] + f"/{name}"
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    dump = await asyncio.create_subprocess_exec(
        str(topology.bin / "pg_dump"), "-Fc", "-d", topology.primary_url,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    restore = await asyncio.create_subprocess_exec(
        str(topology.bin / "pg_restore"), "--no-owner", "-d", url, stdin=asyncio.subprocess.PIPE
    )
    assert dump.stdout is not None and restore.stdin is not None
    restore.stdin.write(await dump.stdout.read())
    restore.stdin.close()
    assert (await dump.wait(), await restore.wait()) == (0, 0)
    return url


async def _drop(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    connection = await asyncpg.connect(admin_postgres_url())
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def test_a_killed_reconcile_leader_is_replaced_within_one_interval(
    topology: Topology,
) -> None:
    """The initial sync, then two processes reconciling, all through the pooler; the leader
    killed outright (its lease is never handed back) is replaced within one interval."""
    name = f"{topology.name}_leader"
    await topology.create_database(name)
    await _migrate_through_the_pooler(topology.url(topology.pooler_port, name))
    store = spawn_simulator(seed_events=3)
    env = POOLED | {
        "SHOPIFY_SHOP": store.base_url,
        "SHOPIFY_SHOP_DOMAIN": TEST_SHOP,
        "SHOPIFY_ACCESS_TOKEN": TOKEN,
        "RECONCILE_INTERVAL_SECONDS": str(RECONCILE_INTERVAL),
    }
    pooled = topology.url(topology.pooler_port, name)
    processes = [ServeProcess(pooled, workers=1, **env) for _ in range(2)]
    primary = await asyncpg.connect(topology.url(topology.primary_port, name))
    try:
        synced = await asyncio.create_subprocess_exec(
            str(SHABABCO), "sync", env=processes[0].env, cwd=processes[0].folder,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, errors = await synced.communicate()
        assert synced.returncode == 0, errors.decode()[-2000:]
        assert await primary.fetchval("SELECT count(*) FROM events") == 3
        start_all(processes)
        async with httpx.AsyncClient(timeout=10) as client:

            async def roles() -> list[str]:
                return [(await client.get(f"{p.url}/ready")).json()["reconcile"] for p in processes]

            async def one_leader() -> bool:
                return sorted(await roles()) == ["leader", "standby"]

            async def reconciled_since(moment: Any) -> bool:
                finished = await primary.fetchval(
                    "SELECT (value->>'finished_at')::timestamptz FROM sync_state"
                    " WHERE name = 'reconcile'"
                )
                return finished is not None and (moment is None or finished > moment)

            await eventually(one_leader, within=3 * RECONCILE_INTERVAL)
            await eventually(lambda: reconciled_since(None), within=3 * RECONCILE_INTERVAL)
            leader, survivor = (0, 1) if (await roles())[0] == "leader" else (1, 0)
            processes[leader].kill()
            killed_at = await primary.fetchval("SELECT now()")
            ready = f"{processes[survivor].url}/ready"

            async def survivor_leads() -> bool:
                return bool((await client.get(ready)).json()["reconcile"] == "leader")

            await eventually(survivor_leads, within=RECONCILE_INTERVAL)
            holder = await primary.fetchval("SELECT holder FROM leases WHERE name = 'reconcile'")
            assert holder.split(":")[1] == str(processes[survivor].process.pid)  # type: ignore[union-attr]
            await eventually(lambda: reconciled_since(killed_at), within=3 * RECONCILE_INTERVAL)
    finally:
        await primary.close()
        for process in processes:
            process.stop()
        stop_simulator(store)
