"""One GraphQL Admin request: validate, price, throttle, execute, answer like Shopify."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from graphql import FragmentDefinitionNode, GraphQLError, get_operation_ast
from graphql.execution.values import get_variable_values

from shababco.simulator.context import ExecContext
from shababco.simulator.cost import CostWalker, actual_cost
from shababco.simulator.executor import is_supported, run
from shababco.simulator.gids import invalid_id_errors
from shababco.simulator.schema import InvalidQuery, admin_schema, parse_and_validate, shopify_error
from shababco.simulator.throttle import SINGLE_QUERY_MAX_COST, CostBucket

RATE_LIMIT_DOCS = "https://shopify.dev/api/usage/rate-limits"
MISSING_QUERY = {"errors": {"query": "Required parameter missing or invalid"}}


@dataclass
class GraphQLRequest:
    query: str
    variables: dict[str, Any]
    operation_name: str | None


def read_request(body: bytes, content_type: str) -> GraphQLRequest | None:
    """Read a JSON or application/graphql request body; None if there is no query."""
    if content_type.startswith("application/graphql"):
        text = body.decode("utf-8", "replace")
        return GraphQLRequest(text, {}, None) if text.strip() else None
    try:
        payload = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return None
    variables = payload.get("variables") or {}
    return GraphQLRequest(
        payload["query"],
        variables if isinstance(variables, dict) else {},
        payload.get("operationName"),
    )


def execute_request(
    request: GraphQLRequest, ctx: ExecContext, bucket: CostBucket
) -> dict[str, Any]:
    """Answer one request; the HTTP status is always 200 here, as on Shopify."""
    try:
        document = parse_and_validate(request.query)
    except InvalidQuery as error:
        return _answer({"errors": error.errors}, bucket, 0, 0)
    operation = get_operation_ast(document, request.operation_name)
    if operation is None:
        return _answer(
            {
                "errors": [
                    {
                        "message": "An operation name is required",
                        "extensions": {"code": "operationNameRequired"},
                    }
                ]
            },
            bucket,
            0,
            0,
        )
    coerced = get_variable_values(
        admin_schema(), operation.variable_definitions or (), request.variables
    )
    if isinstance(coerced, list):
        return _answer(
            {"errors": [shopify_error(e, "variableMismatch") for e in coerced]}, bucket, 0, 0
        )
    invalid_ids = invalid_id_errors(admin_schema(), document, operation, coerced.coerced)
    if invalid_ids:
        return _answer({"errors": invalid_ids}, bucket, 0, 0)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    walker = CostWalker(admin_schema(), fragments, coerced, is_supported)
    try:
        requested = walker.operation_cost(operation)
    except GraphQLError as error:
        return _answer(
            {"errors": [shopify_error(error, "argumentLiteralsIncompatible")]}, bucket, 0, 0
        )
    if walker.unsupported:
        return _answer(
            {"errors": [_unsupported(u) for u in walker.unsupported]}, bucket, requested, 0
        )
    if requested > SINGLE_QUERY_MAX_COST:
        return _answer({"errors": [_max_cost(requested)]}, bucket, requested, None)
    if not bucket.try_spend(requested):
        throttled = {
            "message": "Throttled",
            "extensions": {"code": "THROTTLED", "documentation": RATE_LIMIT_DOCS},
        }
        return _answer({"errors": [throttled]}, bucket, requested, None)
    result = run(document, ctx, request.variables, request.operation_name)
    spent = actual_cost(walker, operation, result.data) if result.data is not None else 0
    bucket.refund(max(0, requested - spent))
    body: dict[str, Any] = {}
    if result.errors:
        body["errors"] = [error.formatted for error in result.errors]
    body["data"] = result.data
    return _answer(body, bucket, requested, spent)


def _answer(
    body: dict[str, Any], bucket: CostBucket, requested: int, actual: int | None
) -> dict[str, Any]:
    body["extensions"] = {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": bucket.status(),
        }
    }
    return body


def _unsupported(unsupported: Any) -> dict[str, Any]:
    name = f"{unsupported.type_name}.{unsupported.field_name}"
    return {
        "message": f"Field '{name}' is not supported by the simulator",
        "locations": [{"line": unsupported.line, "column": unsupported.column}],
        "extensions": {
            "code": "UNSUPPORTED_BY_SIMULATOR",
            "typeName": unsupported.type_name,
            "fieldName": unsupported.field_name,
        },
    }


def _max_cost(requested: int) -> dict[str, Any]:
    message = (
        f"Query cost is {requested}, which exceeds the single query max cost limit "
        f"({SINGLE_QUERY_MAX_COST}).\n\n"
        f"See {RATE_LIMIT_DOCS} for more information on how the\ncost of a query is calculated.\n\n"
        "To query larger amounts of data with fewer limits, "
        "bulk operations should be used instead.\n"
        "See https://shopify.dev/docs/api/usage/bulk-operations/queries for usage details.\n"
    )
    extensions = {
        "code": "MAX_COST_EXCEEDED",
        "cost": requested,
        "maxCost": SINGLE_QUERY_MAX_COST,
        "documentation": RATE_LIMIT_DOCS,
    }
    return {"message": message, "extensions": extensions}
