"""Bulk operations: run a query over the whole store in the background, serve JSONL."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import random
import secrets
from typing import Any

import orjson
from graphql import FieldNode, OperationDefinitionNode, get_named_type

from shababco.simulator.context import BulkWindow, ExecContext, ShopSettings
from shababco.simulator.executor import run
from shababco.simulator.models import BulkOperation
from shababco.simulator.schema import InvalidQuery, admin_schema, parse_and_validate
from shababco.simulator.store import Store

CHUNK_SIZE = 200


class BulkRunner:
    """Runs bulk query operations and keeps their JSONL results for download."""

    def __init__(self, store: Store, shop: ShopSettings, seed: int) -> None:
        self.store, self.shop = store, shop
        self._rng = random.Random(seed ^ 0xB01C)
        self._url_key = secrets.token_bytes(16)
        self._tasks: set[asyncio.Task[None]] = set()

    def check(self, query: str) -> str | None:
        """Return why a bulk query is refused, or None."""
        try:
            document = parse_and_validate(query)
        except InvalidQuery as error:
            return f"Invalid bulk query: {error.errors[0]['message']}"
        operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
        roots = [s for s in operation.selection_set.selections if isinstance(s, FieldNode)]
        root_type = admin_schema().query_type
        if len(roots) != 1 or operation.operation.value != "query" or root_type is None:
            return "Bulk queries must contain exactly one top-level connection field."
        named = get_named_type(root_type.fields[roots[0].name.value].type)
        if not named.name.endswith("Connection"):
            return "Bulk queries must contain at least one connection."
        return None

    def start(self, operation: BulkOperation) -> None:
        """Run the operation in the background."""
        task = asyncio.get_running_loop().create_task(self._run(operation))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def signature(self, operation_id: int) -> str:
        """The signature that makes a result URL valid without an access token."""
        return hmac.new(self._url_key, str(operation_id).encode(), hashlib.sha256).hexdigest()[:32]

    async def _run(self, operation: BulkOperation) -> None:
        operation.status = "RUNNING"
        document = parse_and_validate(operation.query)
        window = BulkWindow(offset=0, size=CHUNK_SIZE)
        ctx = ExecContext(self.store, self.shop, self.shop.api_version, bulk=window)
        roots: list[dict[str, Any]] = []
        children: list[dict[str, Any]] = []
        grouped: list[dict[str, Any]] = []
        while True:
            result = run(document, ctx)
            if result.errors or result.data is None:
                self._finish(operation, "FAILED", b"", 0, 0, "INTERNAL_SERVER_ERROR")
                return
            for node in _root_nodes(result.data):
                lines: list[dict[str, Any]] = []
                _emit(node, None, lines)
                roots.append(lines[0])
                children.extend(lines[1:])
                grouped.extend(lines)
            window.offset += window.size
            if window.offset >= window.total:
                break
            await asyncio.sleep(0)  # let the server answer other requests between chunks
        if operation.group_objects:
            ordered = grouped
        else:  # Shopify no longer promises that children follow their parent.
            self._rng.shuffle(children)
            ordered = roots + children
        payload = b"".join(orjson.dumps(line) + b"\n" for line in ordered)
        self._finish(operation, "COMPLETED", payload, len(ordered), len(roots), None)

    def _finish(
        self,
        operation: BulkOperation,
        status: str,
        payload: bytes,
        objects: int,
        roots: int,
        error: str | None,
    ) -> None:
        operation.status, operation.error_code = status, error
        operation.result, operation.file_size = payload, len(payload) if payload else None
        operation.object_count, operation.root_object_count = objects, roots
        operation.completed_at = self.store.now()
        if status == "COMPLETED" and payload:
            path = f"/_simulator/bulk/{operation.id}.jsonl?signature={self.signature(operation.id)}"
            operation.url = f"{self.shop.base_url}{path}"
        self.store.emit("bulk_operations/finish", operation)


def _root_nodes(data: dict[str, Any]) -> list[dict[str, Any]]:
    connection = next(iter(data.values()))
    return _nodes(connection)


def _is_connection(value: Any) -> bool:
    return isinstance(value, dict) and ("edges" in value or "nodes" in value)


def _nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    if isinstance(connection.get("nodes"), list):
        return list(connection["nodes"])
    return [edge["node"] for edge in connection.get("edges") or [] if edge.get("node") is not None]


def _emit(node: dict[str, Any], parent_id: str | None, lines: list[dict[str, Any]]) -> None:
    """Append `node` as one line (connections cut out) followed by its children's lines."""
    nested: list[tuple[str | None, dict[str, Any]]] = []
    line = _strip(node, node.get("id"), nested)
    if parent_id is not None:
        line["__parentId"] = parent_id
    lines.append(line)
    for owner_id, child in nested:
        _emit(child, owner_id, lines)


def _strip(
    value: dict[str, Any], owner_id: str | None, nested: list[tuple[str | None, dict[str, Any]]]
) -> dict[str, Any]:
    """Copy an object without its connections, collecting their nodes with their owner's id."""
    kept: dict[str, Any] = {}
    for key, item in value.items():
        if _is_connection(item):
            nested.extend((owner_id, child) for child in _nodes(item))
        elif isinstance(item, dict):
            kept[key] = _strip(item, owner_id, nested)  # children belong to the enclosing line
        else:
            kept[key] = item
    return kept
