"""`POST /checkout` over real HTTP: every check, and Shopify's cart permalink when they pass."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from shababco.cache.changelog import latest_seq
from shababco.catalog.models import Ticket
from shababco.config import Settings
from tests.support.data import TEST_SHOP, load_products
from tests.support.factories import make_product, make_variant, metafield
from tests.support.server import LiveServer

STOREFRONT = f"https://{TEST_SHOP}"


def _limited(quantity: int, limit: Any, kind: str = "number_integer") -> dict[str, Any]:
    fields = [metafield("ticket", "max_per_order", limit, kind)]
    return make_variant(quantity=quantity, metafields=fields)


async def _products(db: AsyncEngine, *products: dict[str, Any]) -> None:
    await load_products(db, *products)


def _line(variant: dict[str, Any], quantity: Any) -> dict[str, Any]:
    return {"ticket_id": str(variant["id"]), "quantity": quantity}


async def _checkout(api: httpx.AsyncClient, *lines: dict[str, Any]) -> httpx.Response:
    return await api.post("/checkout", json={"items": list(lines)})


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["cache-control"] == "no-store"
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code and error["message"]
    return error


async def test_an_order_that_passes_gets_the_cart_permalink(
    api: httpx.AsyncClient, db: AsyncEngine
) -> None:
    adult, child = make_variant(quantity=10, price="25"), make_variant(quantity=4, price="12.5")
    other = make_variant(quantity=1)
    product = make_product(variants=[adult, child])
    await _products(db, product, make_product(variants=[other]))
    response = await _checkout(
        api, _line(adult, 2), _line(child, 4), _line(adult, 1), _line(other, 1)
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["url"] == f"{STOREFRONT}/cart/{adult['id']}:3,{child['id']}:4,{other['id']}:1"
    assert body["items"][:2] == [
        {
            "ticket_id": str(adult["id"]),
            "event_id": str(product["id"]),
            "name": "General admission",
            "price": "25.00",
            "quantity": 3,
            "available": 10,
        },
        {
            "ticket_id": str(child["id"]),
            "event_id": str(product["id"]),
            "name": "General admission",
            "price": "12.50",
            "quantity": 4,
            "available": 4,
        },
    ]


async def test_nothing_is_reserved_or_written(api: httpx.AsyncClient, db: AsyncEngine) -> None:
    variant = make_variant(quantity=3)
    await _products(db, make_product(variants=[variant]))
    async with db.connect() as conn:
        seq = await latest_seq(conn)
    for _ in range(2):
        assert (await _checkout(api, _line(variant, 3))).status_code == 200
    async with db.connect() as conn:
        query = select(Ticket.available).where(Ticket.shopify_variant_id == variant["id"])
        assert await conn.scalar(query) == 3
        assert await latest_seq(conn) == seq


async def test_short_lines_answer_409_with_each_shortfall(
    api: httpx.AsyncClient, db: AsyncEngine
) -> None:
    plenty, few, none = make_variant(quantity=9), make_variant(quantity=5), make_variant(quantity=0)
    await _products(db, make_product(variants=[plenty, few, none]))
    response = await _checkout(api, _line(plenty, 2), _line(few, 3), _line(none, 1), _line(few, 3))
    error = _error(response, 409, "unavailable")
    assert error["details"] == [
        {"ticket_id": str(few["id"]), "requested": 6, "available": 5},
        {"ticket_id": str(none["id"]), "requested": 1, "available": 0},
    ]


async def test_unknown_hidden_or_unlisted_tickets_answer_404(
    api: httpx.AsyncClient, db: AsyncEngine
) -> None:
    visible = make_variant(quantity=5)
    hidden = make_variant(quantity=5, metafields=[metafield("ticket", "hidden", True, "boolean")])
    of_draft, of_unlisted, of_deleted = (make_variant(quantity=5) for _ in range(3))
    gone = make_product(variants=[of_deleted])
    await _products(
        db,
        make_product(variants=[visible, hidden]),
        make_product(variants=[of_draft], status="draft"),
        make_product(variants=[of_unlisted], status="unlisted"),
        gone,
    )
    async with db.begin() as conn:
        await conn.exec_driver_sql(
            "UPDATE events SET deleted_at = now() WHERE shopify_product_id = $1", (gone["id"],)
        )
    unknown = {"id": 1234567890123}
    for missing in (hidden, of_draft, of_unlisted, of_deleted, unknown):
        response = await _checkout(api, _line(visible, 1), _line(missing, 1))
        error = _error(response, 404, "not_found")
        assert error["details"] == [{"ticket_id": str(missing["id"])}]
    assert (await _checkout(api, _line(visible, 1))).status_code == 200


async def test_quantities_over_the_order_limit_answer_422(
    api: httpx.AsyncClient, db: AsyncEngine
) -> None:
    two = _limited(50, 2)
    twenty = _limited(50, "20", "single_line_text_field")
    nonsense = _limited(50, "lots", "single_line_text_field")
    default = make_variant(quantity=50)
    await _products(db, make_product(variants=[two, twenty, nonsense, default]))
    assert (await _checkout(api, _line(two, 2), _line(twenty, 20))).status_code == 200
    assert (await _checkout(api, _line(nonsense, 10), _line(default, 10))).status_code == 200
    response = await _checkout(
        api, _line(two, 2), _line(two, 1), _line(twenty, 21), _line(nonsense, 11), _line(default, 9)
    )
    error = _error(response, 422, "over_limit")
    assert error["details"] == [
        {"ticket_id": str(two["id"]), "requested": 3, "max_per_order": 2},
        {"ticket_id": str(twenty["id"]), "requested": 21, "max_per_order": 20},
        {"ticket_id": str(nonsense["id"]), "requested": 11, "max_per_order": 10},
    ]


async def test_an_unknown_ticket_is_named_before_any_other_problem(
    api: httpx.AsyncClient, db: AsyncEngine
) -> None:
    variant = make_variant(quantity=1)
    await _products(db, make_product(variants=[variant]))
    response = await _checkout(api, _line(variant, 50), {"ticket_id": "77", "quantity": 1})
    assert _error(response, 404, "not_found")["details"] == [{"ticket_id": "77"}]
    assert _error(await _checkout(api, _line(variant, 11)), 422, "over_limit")
    assert _error(await _checkout(api, _line(variant, 2)), 409, "unavailable")


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b"{}",
        b'{"items": []}',
        b'{"items": {}}',
        b'{"items": [{"ticket_id": "1"}]}',
        b'{"items": [{"quantity": 1}]}',
        b'{"items": [{"ticket_id": "1", "quantity": 0}]}',
        b'{"items": [{"ticket_id": "1", "quantity": -2}]}',
        b'{"items": [{"ticket_id": "1", "quantity": "2"}]}',
        b'{"items": [{"ticket_id": "1", "quantity": 1.5}]}',
        b'{"items": [{"ticket_id": "1", "quantity": true}]}',
        b'{"items": [{"ticket_id": 1, "quantity": 1}]}',
        b'{"items": [{"ticket_id": "abc", "quantity": 1}]}',
        b'{"items": [{"ticket_id": "99999999999999999999", "quantity": 1}]}',
        json.dumps({"items": [{"ticket_id": "1", "quantity": 1}] * 101}).encode(),
    ],
)
async def test_a_malformed_order_answers_422(api: httpx.AsyncClient, body: bytes) -> None:
    response = await api.post(
        "/checkout", content=body, headers={"Content-Type": "application/json"}
    )
    _error(response, 422, "invalid_parameter")


async def test_an_oversized_order_answers_413(api: httpx.AsyncClient) -> None:
    body = b'{"items": [' + b" " * 70_000 + b"]}"
    response = await api.post(
        "/checkout", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


@pytest.fixture(scope="module")
def storefront_api(settings: Settings) -> Iterator[LiveServer]:
    update = {"shop_storefront_url": "https://tickets.example.com/", "checkout_max_per_line": 3}
    with LiveServer(settings.model_copy(update=update)) as server:
        yield server


@pytest.fixture
async def configured(
    storefront_api: LiveServer, db: AsyncEngine
) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=storefront_api.url, timeout=10) as client:
        yield client


async def test_the_storefront_and_the_default_limit_are_settings(
    configured: httpx.AsyncClient, db: AsyncEngine
) -> None:
    variant, generous = make_variant(quantity=9), _limited(9, 5)
    await _products(db, make_product(variants=[variant, generous]))
    response = await _checkout(configured, _line(variant, 3), _line(generous, 5))
    assert response.status_code == 200, response.text
    expected = f"https://tickets.example.com/cart/{variant['id']}:3,{generous['id']}:5"
    assert response.json()["url"] == expected
    error = _error(await _checkout(configured, _line(variant, 4)), 422, "over_limit")
    assert error["details"][0]["max_per_order"] == 3


async def test_without_a_storefront_checkout_answers_503(
    settings: Settings, db: AsyncEngine
) -> None:
    variant = make_variant(quantity=9)
    await _products(db, make_product(variants=[variant]))
    with LiveServer(settings.model_copy(update={"shopify_shop": None})) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            response = await _checkout(client, _line(variant, 1))
    assert "SHOP_STOREFRONT_URL" in _error(response, 503, "checkout_unavailable")["message"]


def test_the_storefront_defaults_to_the_shop_domain_over_https() -> None:
    def storefront(**values: Any) -> str | None:
        return Settings(_env_file=None, **values).storefront_url

    assert storefront(shopify_shop="a.myshopify.com") == "https://a.myshopify.com"
    assert storefront(shopify_shop="https://b.myshopify.com/") == "https://b.myshopify.com"
    assert storefront(shopify_shop="http://127.0.0.1:8081") is None
    local = {"shopify_shop": "http://127.0.0.1:8081", "shopify_shop_domain": "c.myshopify.com"}
    assert storefront(**local) == "https://c.myshopify.com"
    assert storefront(shop_storefront_url="https://x.example/") == "https://x.example"
    for bad in ("ftp://x.example", "x.example", "https://x.example/?a=1"):
        with pytest.raises(ValueError, match="http"):
            Settings(_env_file=None, shop_storefront_url=bad)
