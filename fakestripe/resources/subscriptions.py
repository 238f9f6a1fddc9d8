"""Subscriptions: /v1/subscriptions (their life on the clock is in billing_cycle)."""

from typing import Any

from fakestripe import errors
from fakestripe.clock import add_interval, day_of_month
from fakestripe.params import LIST, boolean, emptyable, enum, integer, metadata, string, timestamp
from fakestripe.resources import (
    billing_cycle,
    invoices,
    payment_intents,
    payment_methods,
    subscription_items,
)
from fakestripe.resources.common import merge_metadata
from fakestripe.routing import route
from fakestripe.snapshot import snapshot

ITEM = {
    "id": string,
    "price": string,
    "price_data": {
        "currency": string,
        "product": string,
        "unit_amount": integer,
        "recurring": {"interval": enum("day", "week", "month", "year"), "interval_count": integer},
        "tax_behavior": enum("exclusive", "inclusive", "unspecified"),
    },
    "quantity": integer,
    "metadata": metadata,
    "deleted": boolean,
}


PAYMENT_SETTINGS = {
    "save_default_payment_method": enum("on_subscription", "off"),
    "payment_method_types": [string],
}


PAUSE = {"behavior": enum("keep_as_draft", "mark_uncollectible", "void"), "resumes_at": integer}


COMMON = {
    "metadata": metadata,
    "description": string,
    "default_payment_method": string,
    "payment_behavior": enum(
        "allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete"
    ),
    "proration_behavior": enum("always_invoice", "create_prorations", "none"),
    "cancel_at_period_end": boolean,
    "cancel_at": emptyable(integer),
    "off_session": boolean,
    "payment_settings": PAYMENT_SETTINGS,
    "collection_method": enum("charge_automatically"),
}


CREATE = {
    **COMMON,
    "customer": string,
    # A new subscription's items have no id to name and none to delete yet.
    "items": [{key: spec for key, spec in ITEM.items() if key not in ("id", "deleted")}],
    "currency": string,
}


UPDATE = {
    **COMMON,
    "items": [ITEM],
    "pause_collection": emptyable(PAUSE),
    "cancellation_details": {"comment": string, "feedback": string},
    "proration_date": timestamp,
}


def shape(em: Any, customer: dict[str, Any], cur: str) -> dict[str, Any]:
    now = em.now()
    return {
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"enabled": False, "liability": None, "disabled_reason": None},
        "billing_cycle_anchor": now,
        "billing_cycle_anchor_config": None,
        "cancel_at": None,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "created": now,
        "currency": cur,
        "customer": customer["id"],
        "days_until_due": None,
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "ended_at": None,
        "id": em.new_id("sub"),
        "invoice_settings": {
            "account_tax_ids": None,
            "issuer": {"type": "self"},
            "custom_fields": None,
            "description": None,
            "footer": None,
        },
        "items": {"data": [], "has_more": False, "object": "list", "url": ""},
        "latest_invoice": None,
        "livemode": False,
        "metadata": {},
        "next_pending_invoice_item_invoice": None,
        "object": "subscription",
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": now,
        "status": "incomplete",
        "test_clock": None,
        "transfer_data": None,
        "trial_end": None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": None,
        "cancel_at_period_end": False,
        "billing_thresholds": None,
        "billing_mode": {"type": "classic", "flexible": None},
        "customer_account": None,
        "managed_payments": {"enabled": False},
        "billing_schedules": [],
    }


@route("POST", "/v1/subscriptions", CREATE)
def create(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    if not p.get("customer"):
        raise errors.missing_parameter("customer")
    customer = em.get("customer", p["customer"], param="customer")
    if not p.get("items"):
        raise errors.missing_parameter("items")
    item_prices = [
        subscription_items.price_for_item(em, item, i) for i, item in enumerate(p["items"])
    ]
    currencies = {price["currency"] for price in item_prices}
    intervals = {
        (price["recurring"]["interval"], price["recurring"]["interval_count"])
        for price in item_prices
    }
    if len(currencies) > 1 or len(intervals) > 1:
        raise errors.StripeError(
            400,
            "All prices on a subscription must have the same `currency` and `recurring.interval`.",
            param="items",
        )
    if p.get("currency") and p["currency"].lower() != item_prices[0]["currency"]:
        raise errors.StripeError(
            400,
            f"The price currency ({item_prices[0]['currency']}) does not match the subscription "
            f"currency ({p['currency'].lower()}).",
            param="currency",
        )
    behavior = p.get("payment_behavior", "allow_incomplete")
    sub = shape(em, customer, item_prices[0]["currency"])
    sub["metadata"] = merge_metadata({}, p.get("metadata", {}))
    sub["description"] = p.get("description") or None
    if p.get("default_payment_method"):
        pm = payment_methods.resolve(
            em, p["default_payment_method"], param="default_payment_method"
        )
        if pm["customer"] != customer["id"]:
            raise errors.StripeError(
                400,
                f"The customer does not have a payment method with the ID {pm['id']}. The payment "
                "method must be attached to the customer.",
                param="default_payment_method",
            )
        sub["default_payment_method"] = pm["id"]
    if p.get("payment_settings"):
        sub["payment_settings"].update(p["payment_settings"])
    start = em.now()
    sub["items"]["url"] = f"/v1/subscription_items?subscription={sub['id']}"
    first_end = add_interval(
        start,
        item_prices[0]["recurring"]["interval"],
        item_prices[0]["recurring"]["interval_count"],
        day_of_month(start),
    )
    for item, price in zip(p["items"], item_prices, strict=True):
        sub["items"]["data"].append(
            subscription_items.new_item(
                em,
                sub["id"],
                price,
                item.get("quantity", 1),
                merge_metadata({}, item.get("metadata", {})),
                (start, first_end),
            )
        )
    if p.get("cancel_at_period_end"):
        sub["cancel_at_period_end"] = True
        sub["cancel_at"] = first_end
    invoice_pm = (
        sub["default_payment_method"] or customer["invoice_settings"]["default_payment_method"]
    )
    if behavior == "error_if_incomplete":
        # Stripe creates nothing when the first payment cannot succeed at once, so decide
        # before storing anything.
        if invoice_pm is None:
            raise errors.StripeError(
                400,
                "This customer has no attached payment source or default payment method. "
                "Please consider adding a default payment method. For more information, visit "
                "https://stripe.com/docs/billing/subscriptions/payment-methods-setting#payment-method-priority.",
                code="resource_missing",
            )
        refusal = payment_intents.predicted_failure(em, invoice_pm, off_session=False)
        if refusal is not None:
            raise refusal
    em.store(sub)
    invoice = invoices.create(
        em,
        customer=customer,
        subscription=sub,
        lines=subscription_items.cycle_lines(em, sub),
        billing_reason="subscription_create",
        period=(start, start),
    )
    sub["latest_invoice"] = invoice["id"]
    em.emit("customer.subscription.created", sub)
    # The first invoice's PaymentIntent saves the card for the renewals to come.
    invoices.finalize(em, invoice, setup_future_usage="off_session")
    if invoice["status"] == "open" and behavior != "default_incomplete" and invoice_pm is not None:
        invoices.attempt_payment(em, invoice, payment_method=invoice_pm, off_session=False)
    if sub["status"] == "incomplete":
        sub_id, created = sub["id"], sub["created"]
        em.clock.at(
            created + billing_cycle.INCOMPLETE_EXPIRES_AFTER,
            lambda: billing_cycle.expire_incomplete(em, sub_id),
        )
    return sub


@route("POST", "/v1/subscriptions/{sub_id}", UPDATE)
def update(em: Any, p: dict[str, Any], sub_id: str) -> dict[str, Any]:
    sub = em.get("subscription", sub_id)
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise errors.StripeError(
            400,
            "A canceled subscription can only update its cancellation_details and metadata.",
        )
    before = snapshot(sub)
    if "metadata" in p:
        sub["metadata"] = merge_metadata(sub["metadata"], p["metadata"])
    if "description" in p:
        sub["description"] = p["description"] or None
    if "default_payment_method" in p:
        if p["default_payment_method"]:
            pm = payment_methods.resolve(
                em, p["default_payment_method"], param="default_payment_method"
            )
            if pm["customer"] != sub["customer"]:
                raise errors.StripeError(
                    400,
                    f"The customer does not have a payment method with the ID {pm['id']}. The "
                    "payment method must be attached to the customer.",
                    param="default_payment_method",
                )
            sub["default_payment_method"] = pm["id"]
        else:
            sub["default_payment_method"] = None
    if p.get("payment_settings"):
        sub["payment_settings"].update(p["payment_settings"])
    if "cancel_at_period_end" in p:
        sub["cancel_at_period_end"] = p["cancel_at_period_end"]
        sub["cancel_at"] = subscription_items.period(sub)[1] if p["cancel_at_period_end"] else None
    if "cancel_at" in p:
        sub["cancel_at"] = p["cancel_at"] or None
        sub["cancel_at_period_end"] = (
            bool(sub["cancel_at"]) and sub["cancel_at"] == subscription_items.period(sub)[1]
        )
        if sub["cancel_at"] and sub["cancel_at"] < subscription_items.period(sub)[1]:
            at, sid = sub["cancel_at"], sub["id"]
            em.clock.at(at, lambda: billing_cycle.cancel_at(em, sid, at))
    if "cancellation_details" in p:
        details = dict(sub["cancellation_details"])
        details.update({k: v or None for k, v in p["cancellation_details"].items()})
        sub["cancellation_details"] = details
    if "pause_collection" in p:
        pause = p["pause_collection"]
        if pause:
            if not pause.get("behavior"):
                raise errors.missing_parameter("pause_collection[behavior]")
            sub["pause_collection"] = {
                "behavior": pause["behavior"],
                "resumes_at": pause.get("resumes_at"),
            }
        else:
            sub["pause_collection"] = None
    if p.get("items"):
        subscription_items.update_items(em, sub, p)
    previous = {k: before[k] for k in sub if sub[k] != before[k]}
    if previous:
        em.emit("customer.subscription.updated", sub, previous)
    return sub


@route(
    "POST",
    "/v1/subscriptions/{sub_id}/resume",
    {
        "billing_cycle_anchor": enum("now", "unchanged"),
        "proration_behavior": enum("always_invoice", "create_prorations", "none"),
    },
)
def resume(em: Any, p: dict[str, Any], sub_id: str) -> dict[str, Any]:
    """Only a subscription Stripe itself paused (status `paused`) can be resumed."""
    sub = em.get("subscription", sub_id)
    if sub["status"] != "paused":
        raise errors.StripeError(
            400,
            "Only subscriptions with status `paused` can be resumed; this one is "
            f"`{sub['status']}`. To stop pausing collection, update pause_collection instead.",
            code="subscription_not_paused",
        )
    return billing_cycle.resume(em, sub)


@route("GET", "/v1/subscriptions/{sub_id}")
def retrieve(em: Any, p: dict[str, Any], sub_id: str) -> dict[str, Any]:
    return em.get("subscription", sub_id)


@route(
    "DELETE",
    "/v1/subscriptions/{sub_id}",
    # invoice_now / prorate (a final prorated invoice) are not emulated, so refused.
    {"cancellation_details": {"comment": string, "feedback": string}},
)
def cancel(em: Any, p: dict[str, Any], sub_id: str) -> dict[str, Any]:
    sub = em.get("subscription", sub_id)
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise errors.StripeError(
            404, f"No such subscription: '{sub_id}'", code="resource_missing", param="id"
        )
    return billing_cycle.cancel_now(
        em, sub, reason="cancellation_requested", details=p.get("cancellation_details")
    )


@route(
    "GET",
    "/v1/subscriptions",
    {
        **LIST,
        "customer": string,
        "price": string,
        "status": enum(
            "active",
            "all",
            "canceled",
            "ended",
            "incomplete",
            "incomplete_expired",
            "past_due",
            "paused",
            "trialing",
            "unpaid",
        ),
    },
)
def list_all(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    status = p.get("status")

    def keep(sub: dict[str, Any]) -> bool:
        if p.get("customer") and sub["customer"] != p["customer"]:
            return False
        if p.get("price") and all(
            item["price"]["id"] != p["price"] for item in sub["items"]["data"]
        ):
            return False
        if status is None:
            return sub["status"] not in ("canceled", "incomplete_expired")
        if status == "ended":
            return sub["status"] in ("canceled", "incomplete_expired")
        return status == "all" or sub["status"] == status

    return em.list_objects("subscription", p, "/v1/subscriptions", keep)
