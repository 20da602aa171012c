"""Execute validated operations against the store through the resolver tables."""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLAbstractType,
    GraphQLError,
    GraphQLResolveInfo,
    execute_sync,
)

from shababco.simulator.connections import Connection, Edge
from shababco.simulator.context import ExecContext, Resolver
from shababco.simulator.models import (
    BulkOperation,
    Location,
    Metafield,
    Order,
    Product,
    Refund,
    Variant,
    WebhookSubscription,
)
from shababco.simulator.mutations_admin import ADMIN_MUTATIONS
from shababco.simulator.mutations_catalog import CATALOG_MUTATIONS
from shababco.simulator.mutations_orders import ORDER_MUTATIONS
from shababco.simulator.refs import ImageRef, InventoryItemRef, LevelRef, MediaImageRef
from shababco.simulator.resolvers_admin import ADMIN_TYPES, DICT_TYPES
from shababco.simulator.resolvers_catalog import CATALOG_TYPES
from shababco.simulator.schema import admin_schema

RESOLVERS: dict[str, dict[str, Resolver]] = {
    **CATALOG_TYPES,
    **ADMIN_TYPES,
    "Mutation": {**CATALOG_MUTATIONS, **ORDER_MUTATIONS, **ADMIN_MUTATIONS},
}
CONNECTION_FIELDS = {"edges", "nodes", "pageInfo"}
EDGE_FIELDS = {"node", "cursor"}
TYPENAMES: dict[type, str] = {
    Product: "Product",
    Variant: "ProductVariant",
    InventoryItemRef: "InventoryItem",
    LevelRef: "InventoryLevel",
    Location: "Location",
    Metafield: "Metafield",
    MediaImageRef: "MediaImage",
    ImageRef: "Image",
    Order: "Order",
    Refund: "Refund",
    WebhookSubscription: "WebhookSubscription",
    BulkOperation: "BulkOperation",
}


def is_supported(type_name: str, field_name: str) -> bool:
    """True if the simulator executes `type_name.field_name` (interfaces: any implementation)."""
    if field_name.startswith("__"):
        return True
    if type_name.endswith("Connection"):
        return field_name in CONNECTION_FIELDS
    if type_name.endswith("Edge"):
        return field_name in EDGE_FIELDS
    if type_name in RESOLVERS:
        return field_name in RESOLVERS[type_name]
    if type_name in DICT_TYPES:
        return field_name in DICT_TYPES[type_name]
    if type_name in {"Node", "Media", "HasMetafields", "LegacyInteroperability"}:
        return any(field_name in RESOLVERS.get(name, {}) for name in TYPENAMES.values())
    return False


def resolve_field(source: Any, info: GraphQLResolveInfo[Any], **args: Any) -> Any:
    """The one field resolver: dispatch by parent type and field name."""
    type_name, field_name = info.parent_type.name, info.field_name
    table = RESOLVERS.get(type_name)
    if table is not None and field_name in table:
        return table[field_name](source, args, info.context)
    if isinstance(source, Connection):
        return source.page_info() if field_name == "pageInfo" else getattr(source, field_name)
    if isinstance(source, Edge):
        return getattr(source, field_name)
    if isinstance(source, dict) and field_name in DICT_TYPES.get(type_name, ()):
        return source.get(field_name)
    raise GraphQLError(f"Field '{type_name}.{field_name}' is not supported by the simulator")


def resolve_type(
    value: Any, info: GraphQLResolveInfo[Any], abstract_type: GraphQLAbstractType
) -> str | None:
    """Name the concrete type of a value returned where an interface or union is expected."""
    return TYPENAMES.get(type(value))


def run(
    document: DocumentNode,
    ctx: ExecContext,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
) -> ExecutionResult:
    """Execute one operation synchronously (all resolvers are synchronous)."""
    return execute_sync(
        admin_schema(),
        document,
        context_value=ctx,
        variable_values=variables,
        operation_name=operation_name,
        field_resolver=resolve_field,
        type_resolver=resolve_type,
    )
