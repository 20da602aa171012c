"""Settings fail fast and name the variable that is wrong."""

from __future__ import annotations

import pytest

from shababco.config import ConfigError, Settings, load_settings


def test_defaults_need_no_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = Settings(_env_file=None)
    assert settings.embedded_database
    assert (settings.db_pool_size, settings.db_max_overflow) == (20, 10)
    assert settings.shopify_api_version == "2026-07"
    assert (settings.cache_ttl_list, settings.cache_ttl_detail) == (300, 600)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DB_POOL_SIZE", "many"),
        ("DB_STATEMENT_CACHE_SIZE", "-1"),
        ("SHOPIFY_API_VERSION", "latest"),
        ("CACHE_TTL_LIST", "soon"),
        ("CACHE_NAMESPACE", "staging:eu"),
    ],
)
def test_malformed_variable_is_named(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        load_settings()


def test_missing_required_setting_is_named() -> None:
    settings = Settings(_env_file=None, shopify_shop="shop.myshopify.com")
    with pytest.raises(ConfigError, match="SHOPIFY_ACCESS_TOKEN"):
        settings.require("shopify_shop", "shopify_access_token")


def test_secrets_are_not_printed() -> None:
    settings = Settings(_env_file=None, shopify_access_token="shpat_secret_value")
    assert "shpat_secret_value" not in repr(settings)
    assert "shpat_secret_value" not in str(settings.model_dump())


def test_a_blank_cache_namespace_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CACHE_NAMESPACE", " ")
    assert load_settings().cache_namespace is None
    monkeypatch.setenv("CACHE_NAMESPACE", "staging-eu.2")
    assert load_settings().cache_namespace == "staging-eu.2"
