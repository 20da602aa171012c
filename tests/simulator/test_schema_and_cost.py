"""Schema validation against Shopify's real schema, and Shopify's documented cost examples."""

from __future__ import annotations

import pytest
from graphql import OperationDefinitionNode
from graphql.execution.values import get_variable_values

from shababco.simulator.cost import CostWalker
from shababco.simulator.executor import is_supported
from shababco.simulator.schema import InvalidQuery, admin_schema, parse_and_validate


def requested_cost(query: str, **variables: object) -> int:
    document = parse_and_validate(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    coerced = get_variable_values(admin_schema(), operation.variable_definitions or (), variables)
    assert not isinstance(coerced, list)
    walker = CostWalker(admin_schema(), {}, coerced, is_supported)
    return walker.operation_cost(operation)


def test_valid_query_passes_validation() -> None:
    parse_and_validate(
        "{ products(first: 5, sortKey: UPDATED_AT) { nodes { id title updatedAt } } }"
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ('{ product(id: "gid://shopify/Product/1") { titel } }', "titel"),
        (
            "{ products(first: 1) { nodes { variants(first: 1) { nodes { priceV3 } } } } }",
            "priceV3",
        ),
        ("{ productz(first: 1) { nodes { id } } }", "productz"),
    ],
)
def test_invalid_query_names_the_field(query: str, field: str) -> None:
    with pytest.raises(InvalidQuery) as raised:
        parse_and_validate(query)
    error = raised.value.errors[0]
    assert field in error["message"]
    assert error["extensions"]["code"] == "undefinedField"
    assert error["locations"][0]["line"] == 1


def test_shop_object_costs_one_point() -> None:
    # Shopify's example: an object costs 1, its scalar fields 0.
    assert requested_cost("{ shop { id name currencyCode myshopifyDomain } }") == 1


def test_connection_costs_two_plus_first_times_node() -> None:
    assert requested_cost("{ products(first: 50) { edges { node { id title } } } }") == 52


def test_nested_connection_example_costs_82() -> None:
    # products(first: 10) with variants(first: 5): 2 + 10 * (1 + 2 + 5 * 1) = 82.
    query = (
        "{ products(first: 10) { edges { node { title"
        " variants(first: 5) { edges { node { price } } } } } } }"
    )
    assert requested_cost(query) == 82


def test_variables_size_connections() -> None:
    query = "query($n: Int!) { products(first: $n) { nodes { id } } }"
    assert requested_cost(query, n=250) == 252


def test_mutation_costs_ten() -> None:
    query = (
        'mutation { productDelete(input: {id: "gid://shopify/Product/1"}) { deletedProductId } }'
    )
    assert requested_cost(query) == 10


def test_interface_costs_the_dearest_fragment() -> None:
    query = """{ nodes(ids: ["gid://shopify/Product/1", "gid://shopify/Product/2"]) {
        ... on Product { title variants(first: 3) { nodes { id } } }
        ... on Location { name } } }"""
    assert requested_cost(query) == 2 * (1 + 2 + 3)
