"""The shared cache is namespaced by the deployment's identity, never by the database's name."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shababco.cache.changes import ChangeFeed
from shababco.cache.core import Compute, ResponseCache
from shababco.cache.identity import deployment_identity, namespace
from shababco.cache.store import Built
from shababco.catalog.keys import cache_key
from shababco.config import Settings
from shababco.database.migrate import upgrade
from tests.support.services import on_ci, redis_reachable, redis_url
from tests.support.webhook_client import eventually


@pytest.fixture
def shared_redis() -> str:
    if not redis_reachable(redis_url()):
        if on_ci():
            pytest.fail(f"CI=true but Redis is not reachable at {redis_url()}")
        pytest.skip("no Redis")
    return redis_url()


@pytest.fixture
async def other_database(postgres_admin_url: str) -> AsyncIterator[AsyncEngine]:
    """The server's own `postgres` database: never migrated, so with no identity."""
    engine = create_async_engine(postgres_admin_url)
    yield engine
    await engine.dispose()


async def test_the_identity_is_stable_and_follows_the_deployment_row(
    db: AsyncEngine, database_url: str
) -> None:
    identity = await deployment_identity(db)
    another_pool = create_async_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        assert await deployment_identity(another_pool) == identity
    finally:
        await another_pool.dispose()
    async with db.begin() as conn:
        original = await conn.scalar(text("SELECT id FROM deployment"))
        await conn.execute(text("UPDATE deployment SET id = gen_random_uuid()"))
    try:
        assert await deployment_identity(db) != identity  # a database created anew
    finally:
        async with db.begin() as conn:
            await conn.execute(text("UPDATE deployment SET id = :id"), {"id": original})
    assert await deployment_identity(db) == identity


async def test_a_change_log_created_anew_is_another_epoch(postgres_admin_url: str) -> None:
    """A dump restored over the database (`pg_restore --clean`) creates the change log anew,
    with sequence numbers from the past: entries stamped since must not look fresh."""
    name = f"shababco_epoch_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_async_engine(make_url(postgres_admin_url).set(database=name))
    try:
        await upgrade(engine)
        before = await deployment_identity(engine)
        async with engine.begin() as conn:
            await conn.execute(text("ALTER TABLE cache_changes RENAME TO cache_changes_old"))
            await conn.execute(
                text("CREATE TABLE cache_changes (LIKE cache_changes_old INCLUDING ALL)")
            )
        assert await deployment_identity(engine) != before
    finally:
        await engine.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()


def test_the_namespace_puts_the_setting_first() -> None:
    assert namespace(None, "0123abcd") == "0123abcd"
    assert namespace("staging", "0123abcd") == "staging:0123abcd"


def _counting(computed: Counter[str], name: str) -> Compute:
    async def compute() -> Built:
        computed[name] += 1
        return Built(b'{"items": []}', 7)

    return compute


async def test_caches_under_other_namespaces_share_no_entry(
    db: AsyncEngine, settings: Settings, shared_redis: str
) -> None:
    run = uuid.uuid4().hex[:8]
    update = {"redis_url": shared_redis, "cache_ttl_detail": 300}
    names = {"a": f"a{run}", "b": f"b{run}", "a again": f"a{run}"}
    caches = {
        label: ResponseCache(settings.model_copy(update=update | {"cache_namespace": name}))
        for label, name in names.items()
    }
    key = cache_key("/events/7", b"")
    assert key is not None
    computed: Counter[str] = Counter()
    try:
        for cache in caches.values():
            await cache.start(db, ChangeFeed(db))

        async def all_up() -> bool:
            return all(cache.status == "ok" for cache in caches.values())

        await eventually(all_up, within=10)
        sources = {}
        for label, cache in caches.items():
            _, sources[label] = await cache.fetch(key, _counting(computed, label))
    finally:
        for cache in caches.values():
            await cache.stop()
    assert sources == {"a": "miss", "b": "miss", "a again": "l2"}
    assert computed == Counter(a=1, b=1)


async def test_without_an_identity_the_shared_tier_stays_off(
    other_database: AsyncEngine, settings: Settings, shared_redis: str
) -> None:
    cache = ResponseCache(settings.model_copy(update={"redis_url": shared_redis}))
    await cache.start(other_database, ChangeFeed())
    try:
        assert cache.shared is None and cache.status == "degraded"
        key = cache_key("/events/7", b"")
        assert key is not None
        computed: Counter[str] = Counter()
        _, source = await cache.fetch(key, _counting(computed, "alone"))
        assert source == "miss" and computed == Counter(alone=1)
    finally:
        await cache.stop()
