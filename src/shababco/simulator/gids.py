"""Global ids in a request's arguments, refused before anything runs, as Shopify does.

A variable holding a malformed id is answered like graphql-ruby's variable coercion error; an
id written in the query itself like its literal coercion error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    ArgumentNode,
    GraphQLInputType,
    GraphQLSchema,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    VariableNode,
    Visitor,
    get_nullable_type,
    is_input_object_type,
    is_list_type,
    type_from_ast,
    value_from_ast,
    visit,
)
from graphql.language import DocumentNode

GLOBAL_ID = re.compile(r"^gid://shopify/[A-Za-z]+/[^/\s]+$")


def invalid_id_errors(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """Shopify-shaped errors for every malformed global id; empty when all are well formed."""
    errors = list(_variable_errors(schema, operation, variables))
    return errors or _literal_errors(schema, document, variables)


def _bad_ids(value: Any, kind: Any, path: list[str | int]) -> Iterator[tuple[list[str | int], Any]]:
    """(path, value) of each ID in `value` that is not a global id."""
    kind = get_nullable_type(kind)
    if value is None:
        return
    if is_list_type(kind):
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            yield from _bad_ids(item, kind.of_type, [*path, index])
    elif is_input_object_type(kind) and isinstance(value, Mapping):
        for name, field in kind.fields.items():
            if name in value:
                yield from _bad_ids(value[name], field.type, [*path, name])
    elif getattr(kind, "name", None) == "ID" and not GLOBAL_ID.match(str(value)):
        yield path, value


def _variable_errors(
    schema: GraphQLSchema, operation: OperationDefinitionNode, variables: Mapping[str, Any]
) -> Iterator[dict[str, Any]]:
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        kind = type_from_ast(schema, definition.type)
        problems = [
            {"path": path, "explanation": f"Invalid global id `{value}`"}
            for path, value in _bad_ids(variables.get(name), kind, [])
        ]
        if problems:
            yield {
                "message": f"Variable ${name} of type {kind} was provided invalid value",
                "locations": [_location(definition)],
                "extensions": {"value": variables.get(name), "problems": problems},
            }


def _literal_errors(
    schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any]
) -> list[dict[str, Any]]:
    type_info = TypeInfo(schema)
    errors: list[dict[str, Any]] = []

    class Arguments(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
            argument = type_info.get_argument()
            if argument is None or isinstance(node.value, VariableNode):
                return
            kind: GraphQLInputType = argument.type
            value = value_from_ast(node.value, kind, dict(variables))
            for _path, bad in _bad_ids(value, kind, []):
                errors.append(
                    {
                        "message": f"Invalid global id '{bad}'",
                        "locations": [_location(node)],
                        "extensions": {
                            "code": "argumentLiteralsIncompatible",
                            "typeName": "CoercionError",
                        },
                    }
                )

    visit(document, TypeInfoVisitor(type_info, Arguments()))
    return errors


def _location(node: Any) -> dict[str, int]:
    start = node.loc.source.get_location(node.loc.start) if node.loc else None
    return {"line": start.line, "column": start.column} if start else {"line": 1, "column": 1}
