"""The simulator driven by Shopify's own Python client (ShopifyAPI), as a merchant's tool would.

ShopifyAPI's session only names `*.myshopify.com` hosts: the session is activated as usual,
then its site is pointed at the simulator's address.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pyactiveresource.connection import ResourceNotFound

import shopify
from tests.support.simulator import TOKEN, SimulatorProcess, spawn_simulator, stop_simulator

VERSION = "2026-07"
EVENTS = 23
BUCKET = 600
PRODUCT_IDS = """query Ids($after: String) {
  products(first: 10, after: $after) { pageInfo { hasNextPage endCursor } nodes { id } }
}"""
# A query that can never be afforded at once: 250 products with 250 variants each.
TOO_COSTLY = "{ products(first: 250) { nodes { variants(first: 250) { nodes { id } } } } }"
# About half the bucket: twice in a row cannot be paid for.
COSTLY = "{ products(first: 60) { nodes { variants(first: 4) { nodes { id } } } } }"


@pytest.fixture(scope="module")
def store() -> Iterator[SimulatorProcess]:
    flags = ("--seed", "5", "--bucket-size", str(BUCKET), "--restore-rate", "10")
    process = spawn_simulator(*flags, seed_events=EVENTS)
    session = shopify.Session("shababco-dev.myshopify.com", VERSION, TOKEN)
    shopify.ShopifyResource.activate_session(session)
    shopify.ShopifyResource.set_site(f"{process.base_url}/admin/api/{VERSION}")
    yield process
    shopify.ShopifyResource.clear_session()
    stop_simulator(process)


def graphql(query: str, **variables: Any) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(shopify.GraphQL().execute(query, variables or None))
    return answer


def test_a_query_answers_with_its_cost(store: SimulatorProcess) -> None:
    answer = graphql("{ shop { name currencyCode } }")
    assert answer["data"]["shop"]["currencyCode"] == "SAR"
    cost = answer["extensions"]["cost"]
    assert cost["requestedQueryCost"] >= 1
    assert cost["throttleStatus"]["maximumAvailable"] == BUCKET


def test_cursor_pagination_visits_every_product_once(store: SimulatorProcess) -> None:
    seen: list[str] = []
    after = None
    while True:
        page = graphql(PRODUCT_IDS, after=after)["data"]["products"]
        seen += [node["id"] for node in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == EVENTS


def test_a_mutation_changes_the_store_and_a_blank_title_is_refused(
    store: SimulatorProcess,
) -> None:
    product_id = graphql("{ products(first: 1) { nodes { id } } }")["data"]["products"]["nodes"]
    update = """mutation Rename($product: ProductUpdateInput!) {
      productUpdate(product: $product) { product { title } userErrors { field message } }
    }"""
    gid = product_id[0]["id"]
    renamed = graphql(update, product={"id": gid, "title": "Renamed"})["data"]["productUpdate"]
    assert renamed == {"product": {"title": "Renamed"}, "userErrors": []}
    for blank in ("", "   "):
        refused = graphql(update, product={"id": gid, "title": blank})["data"]["productUpdate"]
        assert refused == {
            "product": None,
            "userErrors": [{"field": ["title"], "message": "Title can't be blank"}],
        }
    title = graphql("query P($id: ID!) { product(id: $id) { title } }", id=gid)
    assert title["data"]["product"]["title"] == "Renamed"


def test_an_invalid_global_id_is_an_error_not_a_null(store: SimulatorProcess) -> None:
    literal = graphql('{ product(id: "not-a-gid") { id } }')
    assert "data" not in literal
    assert literal["errors"][0]["message"] == "Invalid global id 'not-a-gid'"
    assert literal["errors"][0]["extensions"]["code"] == "argumentLiteralsIncompatible"
    variable = graphql("query P($id: ID!) { product(id: $id) { id } }", id="12")
    assert variable["errors"][0]["message"] == "Variable $id of type ID! was provided invalid value"
    problem = variable["errors"][0]["extensions"]["problems"][0]
    assert problem["explanation"] == "Invalid global id `12`"
    missing = graphql('{ product(id: "gid://shopify/Product/1") { id } }')
    assert missing["data"] == {"product": None}


def test_an_unknown_field_is_named_as_graphql_ruby_does(store: SimulatorProcess) -> None:
    answer = graphql("{ shop { name colour } }")
    assert answer["errors"][0]["message"] == "Field 'colour' doesn't exist on type 'Shop'"
    assert answer["errors"][0]["extensions"] == {
        "code": "undefinedField",
        "typeName": "Shop",
        "fieldName": "colour",
    }


def test_cost_limits_max_cost_exceeded_then_throttled(store: SimulatorProcess) -> None:
    too_costly = graphql(TOO_COSTLY)
    assert too_costly["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    codes = []
    for _ in range(10):
        answer = graphql(COSTLY)
        codes += [error["extensions"]["code"] for error in answer.get("errors", [])]
        if "THROTTLED" in codes:
            break
    assert codes == ["THROTTLED"]
    assert answer["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] < BUCKET


def test_rest_products_by_ids_with_fields(store: SimulatorProcess) -> None:
    every = shopify.Product.find(limit=250)
    wanted = sorted(product.id for product in every)[:3]
    found = shopify.Product.find(ids=",".join(map(str, wanted)), fields="id,title")
    assert sorted(product.id for product in found) == wanted
    assert all(set(product.attributes) == {"id", "title"} for product in found)
    one = shopify.Product.find(wanted[0], fields="id,handle")
    assert set(one.attributes) == {"id", "handle"}


def test_rest_pages_count_and_shop(store: SimulatorProcess) -> None:
    page = shopify.Product.find(limit=10)
    ids = [product.id for product in page]
    while page.has_next_page():
        page = page.next_page()
        ids += [product.id for product in page]
    assert len(ids) == len(set(ids)) == EVENTS == shopify.Product.count()
    shop = shopify.Shop.current()
    assert shop.currency == "SAR"
    assert shop.myshopify_domain == "shababco-dev.myshopify.com"


def test_what_rest_does_not_serve_is_not_found(store: SimulatorProcess) -> None:
    product = shopify.Product.find(limit=1)[0]
    product.title = "Changed over REST"
    with pytest.raises(ResourceNotFound):
        product.save()
    for resource in (shopify.Variant, shopify.Order, shopify.Webhook):
        with pytest.raises(ResourceNotFound):
            resource.find()
    assert shopify.Product.find(product.id).title != "Changed over REST"
