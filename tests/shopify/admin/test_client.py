"""The GraphQL client: pacing, throttling, cost errors, retries, secrecy; every query valid."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from graphql import (
    FieldNode,
    GraphQLSchema,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    parse,
    validate,
)
from pydantic import SecretStr

from shababco.shopify.admin import documents as queries
from shababco.shopify.admin.client import (
    GraphQLErrors,
    QueryCostError,
    ShopifyAuthError,
    ShopifyClient,
    ShopifyError,
    admin_endpoint,
)
from shababco.simulator.cost import CostWalker
from shababco.simulator.executor import is_supported
from shababco.simulator.schema import admin_schema
from shababco.simulator.throttle import SINGLE_QUERY_MAX_COST

TOKEN = "shpat_very_secret_token_value"
Handler = Callable[[httpx.Request], httpx.Response]


def answer(data: Any = None, *, errors: Any = None, available: float = 1000, requested: int = 10):
    body: dict[str, Any] = {
        "extensions": {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": None if errors else requested,
                "throttleStatus": {
                    "maximumAvailable": 1000,
                    "currentlyAvailable": available,
                    "restoreRate": 50,
                },
            }
        }
    }
    if errors is not None:
        body["errors"] = errors
    if data is not None or errors is None:
        body["data"] = data
    return httpx.Response(200, json=body)


def scripted(*responses: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    pending = list(responses)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = pending.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return handle, seen


def client_for(handler: Handler, sleeps: list[float]) -> ShopifyClient:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    return ShopifyClient(
        shop="shababco-dev.myshopify.com",
        access_token=SecretStr(TOKEN),
        api_version="2026-07",
        transport=httpx.MockTransport(handler),
        sleep=sleep,
    )


def test_shop_domain_or_base_url() -> None:
    assert admin_endpoint("name.myshopify.com", "2026-07") == (
        "https://name.myshopify.com/admin/api/2026-07/graphql.json"
    )
    assert admin_endpoint("http://127.0.0.1:8081/", "2026-07") == (
        "http://127.0.0.1:8081/admin/api/2026-07/graphql.json"
    )


async def test_throttled_waits_what_shopify_says_then_retries() -> None:
    handler, seen = scripted(
        answer(
            errors=[{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
            available=100,
            requested=600,
        ),
        answer({"shop": {"name": "x"}}),
    )
    sleeps: list[float] = []
    async with client_for(handler, sleeps) as client:
        assert await client.query("{ shop { name } }") == {"shop": {"name": "x"}}
    assert len(seen) == 2
    assert sleeps[-1] == pytest.approx((600 - 100) / 50)
    assert seen[0].headers["X-Shopify-Access-Token"] == TOKEN


async def test_paces_before_a_query_the_bucket_cannot_pay() -> None:
    handler, _ = scripted(answer({"a": 1}, available=0, requested=500), answer({"a": 1}))
    sleeps: list[float] = []
    async with client_for(handler, sleeps) as client:
        await client.query("{ a }")
        await client.query("{ a }")  # expected to cost 500 again: wait for 500 points at 50/s
    assert sleeps and sleeps[0] == pytest.approx(10, rel=0.05)


async def test_max_cost_exceeded_is_a_clear_error() -> None:
    error = {"message": "too much", "extensions": {"code": "MAX_COST_EXCEEDED"}}
    handler, seen = scripted(answer(errors=[error], requested=1200))
    async with client_for(handler, []) as client:
        with pytest.raises(QueryCostError, match="1200"):
            await client.query("{ a }")
    assert len(seen) == 1


async def test_transient_failures_are_retried_with_backoff() -> None:
    internal = {"message": "oops", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
    handler, seen = scripted(
        httpx.Response(502, text="bad gateway"),
        httpx.ConnectError("refused"),
        answer(errors=[internal]),
        httpx.Response(429, headers={"Retry-After": "2"}),
        answer({"a": 1}),
    )
    sleeps: list[float] = []
    async with client_for(handler, sleeps) as client:
        assert await client.query("{ a }") == {"a": 1}
    assert len(seen) == 5
    for attempt, slept in enumerate(sleeps[:3]):  # exponential, with ±50 % jitter
        assert 0.25 * 2**attempt <= slept <= 0.75 * 2**attempt
    assert sleeps[3] >= 2  # Retry-After


async def test_gives_up_after_repeated_failures() -> None:
    handler, seen = scripted(*[httpx.Response(503) for _ in range(6)])
    async with client_for(handler, []) as client:
        with pytest.raises(ShopifyError, match="failed 6 times"):
            await client.query("{ a }")
    assert len(seen) == 6


async def test_other_graphql_errors_are_raised() -> None:
    handler, _ = scripted(answer(errors=[{"message": "Field 'x' doesn't exist"}]))
    async with client_for(handler, []) as client:
        with pytest.raises(GraphQLErrors, match="doesn't exist"):
            await client.query("{ x }")


async def test_the_token_is_never_logged_or_shown(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    handler, _ = scripted(
        httpx.Response(500), answer({"a": 1}), httpx.Response(401, json={"errors": "no"})
    )
    async with client_for(handler, []) as client:
        await client.query("{ a }")
        with pytest.raises(ShopifyAuthError) as refused:
            await client.query("{ a }")
        shown = f"{client!r} {refused.value} {refused.value!r} {caplog.text}"
    assert caplog.records  # the retry was logged
    assert TOKEN not in shown


def _operation(document: str) -> OperationDefinitionNode:
    return next(d for d in parse(document).definitions if isinstance(d, OperationDefinitionNode))


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return admin_schema()  # built from Shopify's 2026-07 introspection JSON


ALL = {**queries.ALL_DOCUMENTS, **queries.BULK_DOCUMENTS}
SIZES: dict[str, dict[str, Any]] = {
    "PRODUCTS_PAGE": {"first": queries.PRODUCTS_PAGE_SIZE, "sortKey": "ID"},
    "PRODUCTS_BY_ID": {"ids": ["gid://shopify/Product/1"] * queries.PRODUCTS_BY_ID_BATCH},
    "PRODUCT_IDS": {"first": queries.PRODUCT_IDS_PAGE_SIZE},
    "ORDERS_PAGE": {"first": queries.ORDERS_PAGE_SIZE},
    "SUBSCRIPTIONS_PAGE": {"first": queries.SUBSCRIPTIONS_PAGE_SIZE},
}


def test_every_document_is_covered() -> None:
    documents = {
        name
        for name, value in vars(queries).items()
        if name.isupper() and not name.startswith("_") and isinstance(value, str) and "{" in value
    }
    assert documents == set(ALL) and set(SIZES) <= set(ALL)


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_document_validates_against_shopify_schema(schema: GraphQLSchema, name: str) -> None:
    assert validate(schema, parse(ALL[name])) == []


@pytest.mark.parametrize("name", sorted(queries.ALL_DOCUMENTS))
def test_every_query_costs_less_than_the_maximum(schema: GraphQLSchema, name: str) -> None:
    from graphql.execution.values import get_variable_values

    operation = _operation(ALL[name])
    definitions = operation.variable_definitions or ()
    declared = {v.variable.name.value for v in definitions}
    example: dict[str, Any] = {
        "id": "gid://shopify/Product/1",
        "query": "updated_at:>'2026-01-01T00:00:00Z'",
        "topic": "PRODUCTS_CREATE",
        "subscription": {"uri": "https://x"},
        **SIZES.get(name, {}),
    }
    variables = {key: value for key, value in example.items() if key in declared}
    coerced = get_variable_values(schema, definitions, variables)
    assert not isinstance(coerced, list), coerced
    walker = CostWalker(schema, {}, coerced, is_supported)
    assert walker.operation_cost(operation) <= SINGLE_QUERY_MAX_COST
    assert walker.unsupported == []  # the simulator serves every field we ask for


def _connections(selection: SelectionSetNode | None, parent: Any, depth: int) -> list[int]:
    """Depths of the connection fields under a selection (Shopify's bulk limits)."""
    found: list[int] = []
    for node in selection.selections if selection else []:
        if not isinstance(node, FieldNode) or node.name.value not in parent.fields:
            continue
        named = get_named_type(parent.fields[node.name.value].type)
        inner = depth
        if named.name.endswith("Connection"):
            found.append(depth)
            inner = depth + 1
        if hasattr(named, "fields"):
            found += _connections(node.selection_set, named, inner)
    return found


@pytest.mark.parametrize("name", sorted(queries.BULK_DOCUMENTS))
def test_bulk_queries_respect_shopify_bulk_limits(schema: GraphQLSchema, name: str) -> None:
    operation = _operation(ALL[name])
    depths = _connections(operation.selection_set, schema.query_type, 0)
    assert len(depths) <= 5 and max(depths) <= 2, depths


def test_documents_round_trip_as_json() -> None:
    for document in ALL.values():
        assert json.loads(json.dumps({"query": document}))["query"] == document
