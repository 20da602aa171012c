"""REST-shaped order and refund bodies for orders/create, orders/cancelled and refunds/create."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from shababco.simulator.models import LineItem, Order, Refund, RefundLineItem, gid, money, rest_time
from shababco.simulator.store import Store

ZERO = Decimal("0.00")


def money_set(amount: Decimal | None, currency: str) -> dict[str, Any]:
    """Shopify's shop/presentment money pair."""
    value = {"amount": money(amount or ZERO), "currency_code": currency}
    return {"shop_money": value, "presentment_money": dict(value)}


def _refunded(order: Order, line: LineItem) -> int:
    return sum(
        rl.quantity for r in order.refunds for rl in r.line_items if rl.line_item_id == line.id
    )


def line_item_body(order: Order, line: LineItem, currency: str) -> dict[str, Any]:
    """A REST order line item."""
    current = 0 if order.cancelled_at else line.quantity - _refunded(order, line)
    return {
        "id": line.id,
        "admin_graphql_api_id": gid("LineItem", line.id),
        "attributed_staffs": [],
        "current_quantity": current,
        "fulfillable_quantity": current,
        "fulfillment_service": "manual",
        "fulfillment_status": None,
        "gift_card": False,
        "grams": 0,
        "name": f"{line.title} - {line.variant_title}" if line.variant_title else line.title,
        "price": money(line.price),
        "price_set": money_set(line.price, currency),
        "product_exists": line.product_id is not None,
        "product_id": line.product_id,
        "properties": [],
        "quantity": line.quantity,
        "requires_shipping": False,
        "sku": line.sku,
        "taxable": True,
        "title": line.title,
        "total_discount": "0.00",
        "total_discount_set": money_set(ZERO, currency),
        "variant_id": line.variant_id,
        "variant_inventory_management": "shopify",
        "variant_title": line.variant_title,
        "vendor": None,
        "tax_lines": [],
        "duties": [],
        "discount_allocations": [],
    }


def _address(order: Order) -> dict[str, Any]:
    return {
        "first_name": "Guest",
        "address1": "King Fahd Rd 1",
        "phone": "+966500000000",
        "city": "Riyadh",
        "zip": "12211",
        "province": "Riyadh Province",
        "country": "Saudi Arabia",
        "last_name": f"#{order.number}",
        "address2": "",
        "company": None,
        "latitude": 24.7136,
        "longitude": 46.6753,
        "name": f"Guest #{order.number}",
        "country_code": "SA",
        "province_code": "01",
    }


def _customer(order: Order, currency: str) -> dict[str, Any]:
    customer_id = 7_000_000_000_000 + order.number
    consent = {
        "state": "not_subscribed",
        "opt_in_level": "single_opt_in",
        "consent_updated_at": None,
    }
    return {
        "id": customer_id,
        "email": order.email,
        "created_at": rest_time(order.created_at),
        "updated_at": rest_time(order.created_at),
        "first_name": "Guest",
        "last_name": f"#{order.number}",
        "state": "disabled",
        "note": None,
        "verified_email": True,
        "multipass_identifier": None,
        "tax_exempt": False,
        "phone": None,
        "email_marketing_consent": dict(consent),
        "sms_marketing_consent": {**consent, "consent_collected_from": "OTHER"},
        "tags": "",
        "currency": currency,
        "tax_exemptions": [],
        "admin_graphql_api_id": gid("Customer", customer_id),
        "default_address": {
            "id": customer_id,
            "customer_id": customer_id,
            "first_name": "Guest",
            "last_name": f"#{order.number}",
            "company": None,
            "address1": "King Fahd Rd 1",
            "address2": "",
            "city": "Riyadh",
            "province": "Riyadh Province",
            "country": "Saudi Arabia",
            "zip": "12211",
            "phone": "+966500000000",
            "name": f"Guest #{order.number}",
            "province_code": "01",
            "country_code": "SA",
            "country_name": "Saudi Arabia",
            "default": True,
        },
    }


def order_body(store: Store, order: Order) -> dict[str, Any]:
    """The REST Order resource."""
    currency = store.currency
    subtotal = sum((line.price * line.quantity for line in order.line_items), ZERO)
    refunded = sum((line.price * _refunded(order, line) for line in order.line_items), ZERO)
    current = ZERO if order.cancelled_at else subtotal - refunded
    token = hashlib.sha256(str(order.id).encode()).hexdigest()[:32]
    body: dict[str, Any] = {
        "id": order.id,
        "admin_graphql_api_id": gid("Order", order.id),
        "app_id": 1_354_745,
        "browser_ip": None,
        "buyer_accepts_marketing": False,
        "cancel_reason": order.cancel_reason,
        "cancelled_at": rest_time(order.cancelled_at),
        "cart_token": None,
        "checkout_id": None,
        "checkout_token": None,
        "client_details": {
            "accept_language": None,
            "browser_height": None,
            "browser_ip": None,
            "browser_width": None,
            "session_hash": None,
            "user_agent": None,
        },
        "closed_at": None,
        "confirmation_number": token[:9].upper(),
        "confirmed": True,
        "contact_email": order.email,
        "created_at": rest_time(order.created_at),
        "currency": currency,
        "current_subtotal_price": money(current),
        "current_subtotal_price_set": money_set(current, currency),
        "current_total_additional_fees_set": None,
        "current_total_discounts": "0.00",
        "current_total_discounts_set": money_set(ZERO, currency),
        "current_total_duties_set": None,
        "current_total_price": money(current),
        "current_total_price_set": money_set(current, currency),
        "current_total_tax": "0.00",
        "current_total_tax_set": money_set(ZERO, currency),
        "customer_locale": "ar",
        "device_id": None,
        "discount_codes": [],
        "duties_included": False,
        "email": order.email or "",
        "estimated_taxes": False,
        "financial_status": order.financial_status,
        "fulfillment_status": None,
        "landing_site": None,
        "landing_site_ref": None,
        "location_id": None,
        "merchant_business_entity_id": "MTYwMTIzNDU2Nzg5",
        "merchant_of_record_app_id": None,
        "name": order.name,
        "note": order.note,
        "note_attributes": [],
        "number": order.number - 1000,
        "order_number": order.number,
        "order_status_url": f"https://{store.shop_domain}/60123456789/orders/{token}/authenticate?key={token}",
        "original_total_additional_fees_set": None,
        "original_total_duties_set": None,
        "payment_gateway_names": ["manual"],
        "phone": None,
        "po_number": None,
        "presentment_currency": currency,
        "processed_at": rest_time(order.created_at),
        "reference": None,
        "referring_site": None,
        "source_identifier": None,
        "source_name": "shababco-simulator",
        "source_url": None,
        "subtotal_price": money(subtotal),
        "subtotal_price_set": money_set(subtotal, currency),
        "tags": ", ".join(order.tags),
        "tax_exempt": False,
        "tax_lines": [],
        "taxes_included": False,
        "test": False,
        "token": token,
    }
    body |= _order_totals(order, subtotal, currency)
    return body


def _order_totals(order: Order, subtotal: Decimal, currency: str) -> dict[str, Any]:
    rounding = money_set(ZERO, currency)
    return {
        "total_cash_rounding_payment_adjustment_set": rounding,
        "total_cash_rounding_refund_adjustment_set": money_set(ZERO, currency),
        "total_discounts": "0.00",
        "total_discounts_set": money_set(ZERO, currency),
        "total_line_items_price": money(subtotal),
        "total_line_items_price_set": money_set(subtotal, currency),
        "total_outstanding": "0.00",
        "total_price": money(subtotal),
        "total_price_set": money_set(subtotal, currency),
        "total_shipping_price_set": money_set(ZERO, currency),
        "total_tax": "0.00",
        "total_tax_set": money_set(ZERO, currency),
        "total_tip_received": "0.00",
        "total_weight": 0,
        "updated_at": rest_time(order.updated_at),
        "user_id": None,
        "billing_address": _address(order),
        "customer": _customer(order, currency),
        "discount_applications": [],
        "fulfillments": [],
        "line_items": [line_item_body(order, line, currency) for line in order.line_items],
        "payment_terms": None,
        "refunds": [_embedded_refund(order, refund, currency) for refund in order.refunds],
        "shipping_address": _address(order),
        "shipping_lines": [],
    }


def refund_line_body(
    order: Order, line: RefundLineItem, currency: str, *, embedded: bool = True
) -> dict[str, Any]:
    """A refund_line_items[] entry; refunds/create's copy of the line lacks two order-only keys."""
    item = next(li for li in order.line_items if li.id == line.line_item_id)
    line_item = line_item_body(order, item, currency)
    if not embedded:
        del line_item["current_quantity"], line_item["attributed_staffs"]
    subtotal = item.price * line.quantity
    return {
        "id": line.id,
        "quantity": line.quantity,
        "line_item_id": line.line_item_id,
        "location_id": line.location_id,
        "restock_type": line.restock_type,
        "subtotal": float(subtotal),
        "total_tax": 0.0,
        "subtotal_set": money_set(subtotal, currency),
        "total_tax_set": money_set(ZERO, currency),
        "line_item": line_item,
    }


def _transactions(order: Order, refund: Refund, currency: str) -> list[dict[str, Any]]:
    amount = sum(
        (
            next(li.price for li in order.line_items if li.id == rl.line_item_id) * rl.quantity
            for rl in refund.line_items
        ),
        ZERO,
    )
    transaction_id = refund.id + 17
    return [
        {
            "id": transaction_id,
            "order_id": order.id,
            "kind": "refund",
            "gateway": "manual",
            "status": "success",
            "message": None,
            "created_at": rest_time(refund.created_at),
            "test": False,
            "authorization": None,
            "location_id": None,
            "user_id": None,
            "parent_id": None,
            "processed_at": rest_time(refund.created_at),
            "device_id": None,
            "error_code": None,
            "source_name": "shababco-simulator",
            "receipt": {},
            "amount": money(amount),
            "currency": currency,
            "payment_id": f"{order.name}.{len(order.refunds)}",
            "total_unsettled_set": {
                "presentment_money": {"amount": "0.0", "currency": currency},
                "shop_money": {"amount": "0.0", "currency": currency},
            },
            "manual_payment_gateway": True,
            "amount_rounding": None,
            "admin_graphql_api_id": gid("OrderTransaction", transaction_id),
        }
    ]


def refund_body(store: Store, refund: Refund) -> dict[str, Any]:
    """The refunds/create body: the REST Refund resource."""
    order, currency = store.orders[refund.order_id], store.currency
    return {
        "id": refund.id,
        "order_id": order.id,
        "created_at": rest_time(refund.created_at),
        "note": refund.note,
        "user_id": None,
        "processed_at": rest_time(refund.created_at),
        "duties": [],
        "total_duties_set": money_set(ZERO, currency),
        "return": None,
        "restock": refund.restock,
        "additional_fees": [],
        "total_additional_fees_set": money_set(ZERO, currency),
        "refund_shipping_lines": [],
        "admin_graphql_api_id": gid("Refund", refund.id),
        "order_adjustments": [],
        "refund_line_items": [
            refund_line_body(order, line, currency, embedded=False) for line in refund.line_items
        ],
        "transactions": _transactions(order, refund, currency),
    }


def _embedded_refund(order: Order, refund: Refund, currency: str) -> dict[str, Any]:
    return {
        "id": refund.id,
        "admin_graphql_api_id": gid("Refund", refund.id),
        "created_at": rest_time(refund.created_at),
        "note": refund.note,
        "order_id": order.id,
        "processed_at": rest_time(refund.created_at),
        "restock": refund.restock,
        "total_additional_fees_set": money_set(ZERO, currency),
        "total_duties_set": money_set(ZERO, currency),
        "user_id": None,
        "order_adjustments": [],
        "transactions": [_embedded_transaction(t) for t in _transactions(order, refund, currency)],
        "refund_line_items": [
            refund_line_body(order, line, currency) for line in refund.line_items
        ],
        "duties": [],
        "additional_fees": [],
    }


def _embedded_transaction(transaction: dict[str, Any]) -> dict[str, Any]:
    """Transactions inside an order's refunds[] carry fewer fields than in refunds/create."""
    extra = {"total_unsettled_set", "manual_payment_gateway", "amount_rounding"}
    return {key: value for key, value in transaction.items() if key not in extra}
