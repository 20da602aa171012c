"""Webhook subscription and bulk operation mutations."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from shababco.simulator.context import ExecContext, Resolver
from shababco.simulator.models import BulkOperation, WebhookSubscription, gid, parse_gid
from shababco.simulator.userrors import user_error


def webhook_subscription_create(_: Any, args: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    """webhookSubscriptionCreate with `uri` (or the deprecated `callbackUrl`)."""
    data, topic = args["webhookSubscription"], args["topic"]
    uri = data.get("uri") or data.get("callbackUrl") or ""
    if urlsplit(uri).scheme not in {"http", "https"} or not urlsplit(uri).netloc:
        return _subscription_error(["webhookSubscription", "callbackUrl"], "Address is invalid")
    if (data.get("format") or "JSON") != "JSON":
        return _subscription_error(
            ["webhookSubscription", "format"], "The simulator only delivers JSON"
        )
    if any(s.topic == topic and s.uri == uri for s in ctx.store.subscriptions.values()):
        return _subscription_error(
            ["webhookSubscription", "callbackUrl"], "Address for this topic has already been taken"
        )
    moment = ctx.store.now()
    subscription = WebhookSubscription(
        id=ctx.store.ids.next("subscription"),
        topic=topic,
        uri=uri,
        format="JSON",
        metafield_namespaces=list(data.get("metafieldNamespaces") or []),
        include_fields=list(data.get("includeFields") or []),
        filter=data.get("filter"),
        api_version=ctx.api_version,
        created_at=moment,
        updated_at=moment,
        name=data.get("name"),
    )
    ctx.store.subscriptions[subscription.id] = subscription
    return {"webhookSubscription": subscription, "userErrors": []}


def _subscription_error(field: list[str], message: str) -> dict[str, Any]:
    return {"webhookSubscription": None, "userErrors": [user_error(field, message)]}


def webhook_subscription_delete(_: Any, args: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    """webhookSubscriptionDelete."""
    number = parse_gid(args["id"], "WebhookSubscription")
    if number is None or ctx.store.subscriptions.pop(number, None) is None:
        error = user_error(["id"], "Webhook subscription does not exist")
        return {"deletedWebhookSubscriptionId": None, "userErrors": [error]}
    return {"deletedWebhookSubscriptionId": gid("WebhookSubscription", number), "userErrors": []}


def bulk_operation_run_query(_: Any, args: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    """bulkOperationRunQuery: one running query operation at a time, run in the background."""
    running = [
        op for op in ctx.store.bulk_operations.values() if op.status in {"CREATED", "RUNNING"}
    ]
    if running:
        message = (
            "A bulk query operation for this app and shop is already in progress: "
            f"{gid('BulkOperation', running[0].id)}."
        )
        return {
            "bulkOperation": None,
            "userErrors": [{**user_error(["query"], message), "code": "OPERATION_IN_PROGRESS"}],
        }
    runner = ctx.extras["bulk_runner"]
    problem = runner.check(args["query"])
    if problem:
        return {
            "bulkOperation": None,
            "userErrors": [{**user_error(["query"], problem), "code": "INVALID"}],
        }
    operation = BulkOperation(
        ctx.store.ids.next("bulk"), args["query"], bool(args.get("groupObjects")), ctx.store.now()
    )
    ctx.store.bulk_operations[operation.id] = operation
    runner.start(operation)
    return {"bulkOperation": operation, "userErrors": []}


ADMIN_MUTATIONS: dict[str, Resolver] = {
    "webhookSubscriptionCreate": webhook_subscription_create,
    "webhookSubscriptionDelete": webhook_subscription_delete,
    "bulkOperationRunQuery": bulk_operation_run_query,
}
