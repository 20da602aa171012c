"""Shopify's real Admin GraphQL schema, and validation with Shopify-shaped errors."""

from __future__ import annotations

import gzip
import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    build_client_schema,
    parse,
    validate,
)

SCHEMA_VERSION = "2026-07"
SCHEMA_PACKAGE = "shababco.data.shopify"
SCHEMA_FILE = f"admin_{SCHEMA_VERSION}.json.gz"

# graphql-core phrasing -> graphql-ruby (Shopify) phrasing, error code and extensions.
_REWRITES: list[tuple[re.Pattern[str], str, str, dict[str, str]]] = [
    (
        re.compile(r"Cannot query field '(?P<field>\w+)' on type '(?P<type>\w+)'\..*", re.S),
        "Field '{field}' doesn't exist on type '{type}'",
        "undefinedField",
        {"typeName": "{type}", "fieldName": "{field}"},
    ),
    (
        re.compile(
            r"Unknown argument '(?P<arg>\w+)' on field '(?P<type>\w+)\.(?P<field>\w+)'\..*", re.S
        ),
        "Field '{field}' doesn't accept argument '{arg}'",
        "argumentNotAccepted",
        {"name": "{field}", "typeName": "Field", "argumentName": "{arg}"},
    ),
    (
        re.compile(
            r"Field '(?P<field>\w+)' argument '(?P<arg>\w+)' of type .* is required.*", re.S
        ),
        "Field '{field}' is missing required arguments: {arg}",
        "missingRequiredArguments",
        {"className": "Field", "name": "{field}", "arguments": "{arg}"},
    ),
]


@lru_cache(maxsize=1)
def admin_schema() -> GraphQLSchema:
    """Load Shopify's introspection JSON once and build a schema graphql-core can validate with."""
    raw = resources.files(SCHEMA_PACKAGE).joinpath(SCHEMA_FILE).read_bytes()
    schema = build_client_schema(json.loads(gzip.decompress(raw))["data"])
    # Shopify's schema breaks one schema-level rule (deprecated fields implementing
    # non-deprecated interface fields); queries still validate normally without it.
    schema._validation_errors = []
    return schema


class InvalidQuery(Exception):
    """A request that does not parse or validate; carries Shopify-shaped errors."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"] if errors else "invalid query")
        self.errors = errors


@lru_cache(maxsize=512)
def parse_and_validate(query: str) -> DocumentNode:
    """Parse and validate a query against the real schema (cached by query text)."""
    try:
        document = parse(query)
    except GraphQLError as error:
        raise InvalidQuery([shopify_error(error, "parseError")]) from error
    errors = validate(admin_schema(), document)
    if errors:
        raise InvalidQuery([shopify_error(error) for error in errors])
    return document


def shopify_error(error: GraphQLError, default_code: str = "validationError") -> dict[str, Any]:
    """Format a graphql-core error the way Shopify's graphql-ruby server words it."""
    message, extensions = error.message, {"code": default_code}
    for pattern, template, code, details in _REWRITES:
        match = pattern.fullmatch(error.message)
        if match:
            found = match.groupdict()
            message = template.format(**found)
            extensions = {"code": code}
            extensions |= {key: value.format(**found) for key, value in details.items()}
            break
    formatted: dict[str, Any] = {"message": message, "extensions": extensions}
    if error.locations:
        formatted["locations"] = [
            {"line": loc.line, "column": loc.column} for loc in error.locations
        ]
    return formatted
