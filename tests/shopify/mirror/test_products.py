"""The one normalizer on Shopify's own payload examples and on GraphQL nodes."""

from __future__ import annotations

import copy
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from shababco.shopify.mirror.products import normalize_product
from shababco.shopify.payloads import PayloadError
from tests.support.data import payload
from tests.support.factories import BASE_TIME, make_product, make_variant, metafield

PRODUCT_EXAMPLES = [
    "products_create.shopify-sample.json",
    "products_create.shopify-sample-2023.json",
    "products_update.real-delivery-2024.json",
    "products_update.rest-2026-01-example.json",
]


@pytest.mark.parametrize("name", PRODUCT_EXAMPLES)
def test_every_product_example_normalizes(name: str) -> None:
    product = payload(name)
    records = normalize_product(product, currency="USD")
    fields = records.event.fields
    assert fields["shopify_product_id"] == product["id"]
    assert fields["title"] == product["title"]
    assert fields["tags"] == [t.strip() for t in product["tags"].split(",")]
    assert records.tickets is not None
    assert [t.fields["shopify_variant_id"] for t in records.tickets] == [
        v["id"] for v in product["variants"]
    ]
    for ticket, variant in zip(records.tickets, product["variants"], strict=True):
        assert ticket.fields["price"] == Decimal(variant["price"]).quantize(Decimal("0.01"))
        assert ticket.defaults["ticket_type"] == variant["option1"]
    # None of Shopify's examples carries metafields: nothing may be set (or erased) from them.
    assert "metafields" not in fields and "subtitle" not in fields and "venue" not in fields


def test_ids_above_2_53_are_kept_exactly() -> None:
    records = normalize_product(payload("products_create.shopify-sample.json"), currency="USD")
    assert records.product_id == 788032119674292922
    assert records.tickets is not None
    assert records.tickets[0].fields["shopify_variant_id"] == 642667041472713922


def test_prices_are_strings_without_decimals() -> None:
    records = normalize_product(payload("products_update.real-delivery-2024.json"), currency="USD")
    assert records.tickets is not None
    assert [t.fields["price"] for t in records.tickets] == [
        Decimal("25.00"),
        Decimal("50.00"),
        Decimal("10.00"),
    ]
    assert all(t.fields["compare_at_price"] is None for t in records.tickets)


def test_compare_at_price_and_presentment_currency() -> None:
    sample = normalize_product(payload("products_create.shopify-sample.json"), currency="SAR")
    assert sample.tickets is not None
    assert sample.tickets[0].fields["compare_at_price"] == Decimal("24.99")
    assert sample.event.defaults["currency"] == "SAR"
    rest = normalize_product(payload("products_update.rest-2026-01-example.json"), currency="SAR")
    assert rest.event.fields["currency"] == "USD"


def test_description_text_strips_markup() -> None:
    product = make_product(body_html="<p>Jazz &amp; <b>blues</b></p><script>x()</script>")
    fields = normalize_product(product, currency="USD").event.fields
    assert fields["description_text"] == "Jazz & blues"
    assert fields["description_html"] == product["body_html"]


def test_event_metafields_map_to_columns() -> None:
    product = make_product(subtitle="Under the stars", venue={"name": "Opera", "city": "Cairo"})
    fields = normalize_product(product, currency="USD").event.fields
    assert fields["subtitle"] == "Under the stars"
    assert fields["venue"] == {"name": "Opera", "city": "Cairo"}
    assert fields["start_date"].isoformat() == "2026-01-31T00:00:00+00:00"
    assert fields["metafields"]["event"]["venue"] == {"name": "Opera", "city": "Cairo"}


def test_ticket_metafields_map_to_columns() -> None:
    variant = make_variant(
        title="VIP",
        metafields=[
            metafield("ticket", "type", "vip", "single_line_text_field"),
            metafield("ticket", "features", ["Lounge", "Parking"], "list.single_line_text_field"),
            metafield("ticket", "restrictions", {"min_age": 18}, "json"),
            metafield("ticket", "hidden", True, "boolean"),
            metafield("other", "ignored", "x", "single_line_text_field"),
        ],
    )
    records = normalize_product(make_product(variants=[variant]), currency="USD")
    assert records.tickets is not None
    ticket = records.tickets[0].fields
    assert ticket["ticket_type"] == "vip"
    assert ticket["features"] == ["Lounge", "Parking"]
    assert ticket["restrictions"] == {"min_age": 18}
    assert ticket["is_visible"] is False
    assert "other" not in ticket["metafields"]


def test_malformed_date_metafield_leaves_the_date_empty() -> None:
    product = make_product()
    product["metafields"] = [metafield("event", "start_date", "next friday", "date_time")]
    assert normalize_product(product, currency="USD").event.fields["start_date"] is None


def graphql_node(rest: dict[str, Any]) -> dict[str, Any]:
    """The same product as a GraphQL Admin API node."""
    return {
        "id": f"gid://shopify/Product/{rest['id']}",
        "title": rest["title"],
        "handle": rest["handle"],
        "status": rest["status"].upper(),
        "productType": rest["product_type"],
        "tags": [t.strip() for t in rest["tags"].split(",")],
        "descriptionHtml": rest["body_html"],
        "createdAt": rest["created_at"],
        "updatedAt": rest["updated_at"],
        "images": {
            "nodes": [
                {"url": i["src"], "altText": i["alt"], "width": i["width"], "height": i["height"]}
                for i in rest["images"]
            ]
        },
        "metafields": {"nodes": rest["metafields"]},
        "variants": {
            "edges": [
                {
                    "node": {
                        "id": f"gid://shopify/ProductVariant/{v['id']}",
                        "title": v["title"],
                        "price": v["price"],
                        "compareAtPrice": v["compare_at_price"],
                        "position": v["position"],
                        "sku": v["sku"],
                        "inventoryQuantity": v["inventory_quantity"],
                        "updatedAt": v["updated_at"],
                        "selectedOptions": [{"name": "Ticket", "value": v["option1"]}],
                        "inventoryItem": {
                            "id": f"gid://shopify/InventoryItem/{v['inventory_item_id']}",
                            "inventoryLevels": {
                                "nodes": [
                                    {
                                        "location": {"id": "gid://shopify/Location/7"},
                                        "quantities": [{"name": "available", "quantity": 4}],
                                        "updatedAt": v["updated_at"],
                                    }
                                ]
                            },
                        },
                    }
                }
                for v in rest["variants"]
            ]
        },
    }


def test_graphql_node_and_rest_payload_give_the_same_records() -> None:
    rest = make_product(
        variants=[make_variant(compare_at_price="30.00"), make_variant(title="VIP")]
    )
    from_rest = normalize_product(rest, currency="USD")
    from_graphql = normalize_product(graphql_node(rest), currency="USD")
    assert from_graphql.event.fields == from_rest.event.fields
    assert from_graphql.tickets is not None and from_rest.tickets is not None
    assert [t.fields for t in from_graphql.tickets] == [t.fields for t in from_rest.tickets]
    assert from_graphql.levels is not None
    assert [(lv.location_id, lv.available) for lv in from_graphql.levels] == [(7, 4), (7, 4)]
    assert from_rest.levels is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.pop("id"), "missing id"),
        (lambda p: p.pop("updated_at"), "missing updated_at"),
        (lambda p: p.update(id="abc"), "not a Shopify id"),
        (lambda p: p.update(updated_at="yesterday"), "not an ISO 8601"),
        (lambda p: p.update(status="gone"), "unknown product status"),
        (lambda p: p.update(title=5), "title must be a string"),
        (lambda p: p["variants"][0].update(price="free"), "not an amount"),
        (lambda p: p["variants"][0].update(price="-1"), "non-negative"),
        (lambda p: p.update(variants="none"), "expected a list"),
        (lambda p: p.update(body_html={"html": "<p>"}), "body_html must be a string"),
        (lambda p: p.update(product_type=["a"]), "product_type must be a string"),
        (lambda p: p.update(id="²"), "not a Shopify id"),
        (lambda p: p.update(id=2**63), "out of range"),
        (lambda p: p.update(updated_at="0001-01-01T00:00:00+01:00"), "updated_at is out of range"),
        (lambda p: p["variants"][0].update(sku={"a": 1}), "sku must be a string"),
        (lambda p: p["variants"][0].update(price="1e100000"), "price exceeds"),
        (lambda p: p["variants"][0].update(position=2**31), "variant position is out of range"),
        (lambda p: p["variants"][0].update(inventory_quantity=2**63), "inventory_quantity"),
        (lambda p: p["variants"][0].update(option1=[["deep"]]), "option1 must be a string"),
        (lambda p: p.update(images=[{"src": "x", "width": "wide"}]), "image width"),
        (lambda p: p.update(handle="h" * 3_000), "handle is longer than 255 characters"),
        (lambda p: p.update(title="ت" * 256), "title is longer than 255 characters"),
    ],
)
def test_bad_payloads_are_refused(change: Any, message: str) -> None:
    product = copy.deepcopy(make_product())
    change(product)
    with pytest.raises(PayloadError, match=message):
        normalize_product(product, currency="USD")


def test_what_a_product_carries_is_storable() -> None:
    deep_json = "[" * 5_000 + "]" * 5_000
    variant = make_variant(
        title="VIP\x00",
        metafields=[metafield("ticket", "features", '{"a\\u0000": [NaN]}', "json")],
    )
    variant.update(sku="A\x001", option1="Gold\x00", inventory_quantity=3_000_000_000)
    product = make_product(title="Jazz\x00 Night", variants=[variant], with_metafields=False)
    product.update(body_html="<p>Gift\x00</p>", tags="a\x00, b", product_type="Music\x00")
    product["metafields"] = [
        metafield("event", "subtitle", "Live\x00", "single_line_text_field"),
        metafield("event", "venue", deep_json, "json"),
    ]
    records = normalize_product(product, currency="USD")
    fields = records.event.fields
    assert (fields["title"], fields["category"], fields["tags"]) == (
        "Jazz Night",
        "Music",
        ["a", "b"],
    )
    assert (fields["description_html"], fields["description_text"]) == ("<p>Gift</p>", "Gift")
    assert fields["subtitle"] == "Live"
    # JSON no encoder could write back is kept as the text the merchant wrote.
    assert fields["metafields"]["event"]["venue"] == deep_json
    assert fields["venue"] == {"name": deep_json}
    assert records.tickets is not None
    ticket = records.tickets[0].fields
    assert (ticket["name"], ticket["sku"], ticket["inventory_quantity"]) == (
        "VIP",
        "A1",
        3_000_000_000,
    )
    assert ticket["features"] == ['{"a\\u0000": [NaN]}']
    assert records.tickets[0].defaults["ticket_type"] == "Gold"


def test_the_trigger_time_is_kept_and_orders_records() -> None:
    product = make_product()
    triggered = BASE_TIME + timedelta(seconds=3.25)
    records = normalize_product(product, currency="USD", triggered_at=triggered)
    assert records.event.fields["shopify_triggered_at"] == triggered
    plain = normalize_product(product, currency="USD")
    assert plain.event.fields["shopify_triggered_at"] is None
    assert plain.version < records.version
    undated = {key: value for key, value in product.items() if key != "updated_at"}
    assert (
        normalize_product(undated, currency="USD", triggered_at=triggered).updated_at == triggered
    )


def test_the_shops_currency_among_several_presentment_prices() -> None:
    def presented(code: str, amount: str) -> dict[str, Any]:
        return {"price": {"amount": amount, "currency_code": code}, "compare_at_price": None}

    variant = make_variant(price="100")
    variant["presentment_prices"] = [presented("EUR", "92.00"), presented("SAR", "100.00")]
    product = make_product(variants=[variant])
    assert normalize_product(product, currency="USD").event.fields["currency"] == "SAR"
    variant["presentment_prices"] = [presented("EUR", "100.00"), presented("SAR", "100.00")]
    undecided = normalize_product(make_product(variants=[variant]), currency="USD")
    assert "currency" not in undecided.event.fields
    assert undecided.event.defaults["currency"] == "USD"


def test_graphql_prices_are_in_the_currency_their_source_names() -> None:
    node = graphql_node(make_product())
    assert (
        normalize_product(node, currency="USD", priced_in="SAR").event.fields["currency"] == "SAR"
    )
    node["priceRangeV2"] = {"minVariantPrice": {"amount": "5.0", "currencyCode": "AED"}}
    assert (
        normalize_product(node, currency="USD", priced_in="SAR").event.fields["currency"] == "AED"
    )
    assert "currency" not in normalize_product(make_product(), currency="USD").event.fields
