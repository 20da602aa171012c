"""`shababco webhooks`: the mirrored topics, idempotent registration, list and delete."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from shababco.cli import app
from shababco.config import Settings, get_settings
from shababco.shopify.webhooks.subscriptions import (
    TOPICS,
    delete_subscription,
    list_subscriptions,
    register_subscriptions,
    webhook_uri,
)
from shababco.shopify.webhooks.topics import topic_path
from tests.support.server import LiveServer
from tests.support.simulator import TOKEN, SimulatorProcess, running_simulator, shopify_client
from tests.support.webhook_client import eventually

ADDRESS = "https://events.example.com"


@pytest.fixture(scope="module")
def store() -> Iterator[SimulatorProcess]:
    with running_simulator(seed_events=1) as simulator:
        yield simulator


def test_topics_map_to_the_api_routes() -> None:
    assert [topic_path(t) for t in TOPICS] == [
        "products/create",
        "products/update",
        "products/delete",
        "orders/create",
        "orders/cancelled",
        "inventory_levels/update",
        "refunds/create",
    ]
    assert webhook_uri(ADDRESS + "/", "PRODUCTS_UPDATE") == f"{ADDRESS}/webhooks/products/update"


async def test_registering_twice_leaves_one_subscription_per_topic(
    store: SimulatorProcess,
) -> None:
    async with shopify_client(store) as client:
        first = await register_subscriptions(client, address=ADDRESS)
        second = await register_subscriptions(client, address=ADDRESS)
        listed = await list_subscriptions(client)
    assert all(s.created for s in first) and not any(s.created for s in second)
    assert [s.id for s in first] == [s.id for s in second]
    mine = [s for s in listed if s.uri.startswith(ADDRESS)]
    assert sorted(s.topic for s in mine) == sorted(TOPICS)
    assert {s.uri for s in mine} == {webhook_uri(ADDRESS, t) for t in TOPICS}
    assert all(s.metafield_namespaces == ("event", "ticket") for s in mine)


def test_the_cli_registers_lists_and_deletes(
    store: SimulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPIFY_SHOP", store.base_url)
    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://api.example.org")
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        for _ in range(2):
            registered = runner.invoke(app, ["webhooks", "register"])
            assert registered.exit_code == 0, registered.output
        listed = runner.invoke(app, ["webhooks", "list"])
        assert listed.output.count("https://api.example.org/webhooks/") == len(TOPICS)
        assert TOKEN not in registered.output + listed.output
        deleted = runner.invoke(app, ["webhooks", "delete", "--all"])
        assert deleted.exit_code == 0 and "deleted" in deleted.output
        assert "api.example.org" not in runner.invoke(app, ["webhooks", "list"]).output
        refused = runner.invoke(app, ["webhooks", "delete"])
        assert refused.exit_code == 2
    finally:
        get_settings.cache_clear()


async def test_serve_subscribes_every_missing_topic_when_it_starts(
    store: SimulatorProcess, settings: Settings, db: AsyncEngine
) -> None:
    address = "https://started.example.com"
    configured = settings.model_copy(
        update={
            "shopify_shop": store.base_url,
            "shopify_access_token": SecretStr(TOKEN),
            "public_base_url": address,
            "reconcile_interval_seconds": 0,  # only the start-up check
        }
    )
    async with shopify_client(store) as client:
        await register_subscriptions(client, address=address)
        for subscription in await list_subscriptions(client):
            if subscription.uri.startswith(address) and subscription.topic != "PRODUCTS_UPDATE":
                await delete_subscription(client, subscription_id=subscription.id)

        async def subscribed() -> bool:
            listed = await list_subscriptions(client)
            return sorted(s.topic for s in listed if s.uri.startswith(address)) == sorted(TOPICS)

        assert not await subscribed()
        with LiveServer(configured):
            await eventually(subscribed, within=30)
