"""Fixtures shared by every test: a fresh PostgreSQL database, settings, a live API server."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shababco.config import Settings
from shababco.database.embedded import EmbeddedPostgres
from shababco.database.engines import async_url
from shababco.database.migrate import upgrade
from shababco.tables import metadata
from tests.support.data import PREVIOUS_WEBHOOK_SECRET, TEST_SHOP, WEBHOOK_SECRET
from tests.support.server import LiveServer
from tests.support.services import (
    ROOT,
    admin_postgres_url,
    check_required_services,
    on_ci,
    postgres_reachable,
)


def pytest_sessionstart(session: pytest.Session) -> None:
    check_required_services()


@pytest.fixture(scope="session")
async def postgres_admin_url() -> AsyncIterator[str]:
    """A server URL with rights to create databases: the local server, else the embedded one."""
    url = async_url(admin_postgres_url())
    if await postgres_reachable(admin_postgres_url()):
        yield url
        return
    if on_ci():
        pytest.fail(f"CI=true but PostgreSQL is not reachable at {admin_postgres_url()}")
    embedded = await asyncio.to_thread(EmbeddedPostgres, ROOT / ".data" / "test")
    yield embedded.url()
    embedded.close()


@pytest.fixture(scope="session")
async def database_url(postgres_admin_url: str) -> AsyncIterator[str]:
    """A fresh database for this test session, migrated to head."""
    name = f"shababco_test_{os.getpid()}"
    admin = create_async_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    engine = create_async_engine(url)
    await upgrade(engine)
    await engine.dispose()
    yield url
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,
        shop_currency="USD",
        shopify_shop=TEST_SHOP,
        shopify_webhook_secret=WEBHOOK_SECRET,
        shopify_webhook_secret_previous=PREVIOUS_WEBHOOK_SECRET,
        # Most tests write to the database directly and read through a shared server: with the
        # response cache on they would see what they wrote seconds ago. The cache has its own.
        cache_ttl_list=0,
        cache_ttl_detail=0,
    )


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def db(engine: AsyncEngine) -> AsyncEngine:
    """The session's engine on empty tables: each test starts from nothing."""
    tables = ", ".join(table.name for table in metadata.sorted_tables)
    for attempt in range(5):
        try:
            async with engine.begin() as conn:
                await conn.execute(text(f"TRUNCATE {tables}"))
            break
        except DBAPIError:  # a live server's inbox worker may hold locks a moment
            if attempt == 4:
                raise
            await asyncio.sleep(0.1)
    return engine


@pytest.fixture(scope="session")
def live_api(settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(settings) as server:
        yield server


@pytest.fixture(scope="module")
def cached_api(settings: Settings) -> Iterator[LiveServer]:
    """The app with its response cache on at the default TTLs and no Redis: L1 plus the change
    log (the shared `live_api` runs with its cache off). One per module that asks for it."""
    update = {"cache_ttl_list": 300, "cache_ttl_detail": 600, "redis_url": None}
    with LiveServer(settings.model_copy(update=update)) as server:
        yield server


@pytest.fixture
def access_logging() -> Iterator[None]:
    """The access logger at INFO, as LOG_LEVEL=info sets it."""
    logger = logging.getLogger("shababco.access")
    level = logger.level
    logger.setLevel(logging.INFO)
    yield
    logger.setLevel(level)


@pytest.fixture
async def api(live_api: LiveServer, db: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_api.url, timeout=10) as client:
        yield client
