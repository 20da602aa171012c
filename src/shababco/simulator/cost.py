"""Shopify's calculated query cost: requested (static) and actual (from the response).

Rules (shopify.dev, "GraphQL Admin API rate limits"): scalars and enums cost 0, objects 1,
connections 2 plus `first`/`last` times the cost of one node, interfaces and unions the most
expensive possible selection, and every mutation field 10.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
)
from graphql.execution.values import VariableValues, get_argument_values

MUTATION_COST = 10
CONNECTION_COST = 2
OBJECT_COST = 1

Supported = Callable[[str, str], bool]
Parent = GraphQLObjectType | GraphQLInterfaceType


@dataclass
class Unsupported:
    type_name: str
    field_name: str
    line: int
    column: int


@dataclass
class CostWalker:
    """Walks one operation, computing its requested cost and noting unsupported fields."""

    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: VariableValues
    is_supported: Supported
    unsupported: list[Unsupported] = field(default_factory=list)

    def operation_cost(self, operation: OperationDefinitionNode) -> int:
        """Requested cost of a whole operation."""
        root = self.schema.get_root_type(operation.operation)
        assert root is not None
        if operation.operation == OperationType.MUTATION:
            self.selection_cost(root, operation.selection_set)  # only to find unsupported fields
            return MUTATION_COST * sum(1 for _ in self.fields(root, operation.selection_set))
        return self.selection_cost(root, operation.selection_set)

    def fields(self, parent: Parent, selection_set: SelectionSetNode) -> Iterator[FieldNode]:
        """Yield the fields selected directly on `parent`, expanding fragments on it."""
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection
            else:
                yield from self._fragment_fields(parent, selection, same_type_only=True)

    def selection_cost(self, parent: Parent, selection_set: SelectionSetNode | None) -> int:
        """Cost of a selection set: its own fields plus the dearest type-specific fragment."""
        if selection_set is None:
            return 0
        total = sum(self.field_cost(parent, node) for node in self.fields(parent, selection_set))
        branches = [0]
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                continue
            condition = self._condition(selection)
            if condition is not None and condition is not parent:
                branches.append(
                    sum(
                        self.field_cost(condition, node)
                        for node in self._fragment_fields(
                            condition, selection, same_type_only=False
                        )
                    )
                )
        return total + max(branches)

    def field_cost(self, parent: Parent, node: FieldNode) -> int:
        """Requested cost of one field with its subselection."""
        name = node.name.value
        if name.startswith("__"):
            return 0
        definition = parent.fields[name]
        if not self.is_supported(parent.name, name):
            loc = (
                node.loc.source.get_location(node.loc.start)
                if node.loc and node.loc.source
                else None
            )
            self.unsupported.append(
                Unsupported(parent.name, name, loc.line if loc else 0, loc.column if loc else 0)
            )
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        assert isinstance(named, GraphQLObjectType | GraphQLInterfaceType)
        args = get_argument_values(definition, node, self.variables)
        if is_connection(named, definition):
            size = args.get("first") or args.get("last") or 0
            return CONNECTION_COST + size * self.node_cost(named, node.selection_set)
        each = OBJECT_COST + self.selection_cost(named, node.selection_set)
        if isinstance(get_nullable_type(definition.type), GraphQLList) and "ids" in args:
            return each * len(args["ids"])
        return each

    def node_cost(self, connection: Parent, selection_set: SelectionSetNode | None) -> int:
        """Cost of one node of a connection, whether selected via edges.node or nodes."""
        costs = [0]
        for node in self.fields(connection, selection_set) if selection_set else []:
            name = node.name.value
            if name == "nodes":
                node_type = named_object(connection.fields["nodes"])
                costs.append(OBJECT_COST + self.selection_cost(node_type, node.selection_set))
            elif name == "edges" and node.selection_set:
                edge_type = named_object(connection.fields["edges"])
                for inner in self.fields(edge_type, node.selection_set):
                    if inner.name.value == "node":
                        node_type = named_object(edge_type.fields["node"])
                        costs.append(
                            OBJECT_COST + self.selection_cost(node_type, inner.selection_set)
                        )
            elif name != "pageInfo" and not name.startswith("__"):
                self.field_cost(connection, node)
        return max(costs)

    def _condition(self, selection: Any) -> Parent | None:
        if isinstance(selection, InlineFragmentNode):
            if selection.type_condition is None:
                return None
            found = self.schema.get_type(selection.type_condition.name.value)
        else:
            fragment = self.fragments[selection.name.value]
            found = self.schema.get_type(fragment.type_condition.name.value)
        return found if isinstance(found, GraphQLObjectType | GraphQLInterfaceType) else None

    def _fragment_fields(
        self, parent: Parent, selection: Any, *, same_type_only: bool
    ) -> Iterator[FieldNode]:
        condition = self._condition(selection)
        if same_type_only and condition is not None and condition is not parent:
            return
        fragment_set = (
            selection.selection_set
            if isinstance(selection, InlineFragmentNode)
            else self.fragments[selection.name.value].selection_set
        )
        target = condition or parent
        yield from self.fields(target, fragment_set)


def is_connection(named: GraphQLNamedType, definition: GraphQLField) -> bool:
    """True for Relay connection fields sized by first/last."""
    return named.name.endswith("Connection") and (
        "first" in definition.args or "last" in definition.args
    )


def named_object(definition: GraphQLField) -> Parent:
    """The object or interface type a field returns."""
    named = get_named_type(definition.type)
    assert isinstance(named, GraphQLObjectType | GraphQLInterfaceType)
    return named


def actual_cost(walker: CostWalker, operation: OperationDefinitionNode, data: Any) -> int:
    """Cost of what was actually returned: connections counted by the nodes they hold."""
    root = walker.schema.get_root_type(operation.operation)
    assert root is not None
    if operation.operation == OperationType.MUTATION:
        return MUTATION_COST * sum(1 for _ in walker.fields(root, operation.selection_set))
    return _actual_selection(walker, root, operation.selection_set, data)


def _actual_selection(
    walker: CostWalker, parent: Parent, selection_set: SelectionSetNode | None, data: Any
) -> int:
    if selection_set is None or not isinstance(data, dict):
        return 0
    total = 0
    for node in _all_fields(walker, parent, selection_set):
        name = node.name.value
        if name.startswith("__") or name not in parent.fields:
            continue
        key = node.alias.value if node.alias else name
        if key in data:
            total += _actual_field(walker, parent.fields[name], node, data[key])
    return total


def _all_fields(
    walker: CostWalker, parent: Parent, selection_set: SelectionSetNode
) -> Iterator[FieldNode]:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode | FragmentSpreadNode):
            yield from walker._fragment_fields(parent, selection, same_type_only=False)


def _actual_field(walker: CostWalker, definition: GraphQLField, node: FieldNode, value: Any) -> int:
    named = get_named_type(definition.type)
    if is_leaf_type(named):
        return 0
    assert isinstance(named, GraphQLObjectType | GraphQLInterfaceType)
    if is_connection(named, definition):
        items = _connection_items(value)
        node_type = named_object(named.fields["nodes"]) if "nodes" in named.fields else named
        return CONNECTION_COST + sum(
            OBJECT_COST + _actual_selection(walker, node_type, _node_selection(node), item)
            for item in items
        )
    if isinstance(value, list):
        return sum(
            OBJECT_COST + _actual_selection(walker, named, node.selection_set, item)
            for item in value
        )
    return OBJECT_COST + _actual_selection(walker, named, node.selection_set, value)


def _connection_items(value: Any) -> list[Any]:
    if not isinstance(value, dict):
        return []
    if isinstance(value.get("nodes"), list):
        return list(value["nodes"])
    return [edge.get("node") for edge in value.get("edges") or [] if isinstance(edge, dict)]


def _node_selection(node: FieldNode) -> SelectionSetNode | None:
    """The selection applied to each node, whether written as nodes{} or edges{node{}}."""
    for child in node.selection_set.selections if node.selection_set else []:
        if isinstance(child, FieldNode) and child.name.value == "nodes":
            return child.selection_set
        if isinstance(child, FieldNode) and child.name.value == "edges" and child.selection_set:
            for inner in child.selection_set.selections:
                if isinstance(inner, FieldNode) and inner.name.value == "node":
                    return inner.selection_set
    return None
