"""Subscriptions: /v1/subscriptions, renewals on the emulator clock.

Statuses follow Stripe: `incomplete` until the first invoice is paid (and
`incomplete_expired` 23 hours later if it never is), `active`, `past_due` while a renewal
is failing and being retried, then `unpaid` (or `canceled`, see
`Emulator.billing.after_final_failure`) once retries run out, `canceled`.
"""

from typing import Any

from fakestripe import errors
from fakestripe.clock import add_interval, day_of_month
from fakestripe.params import LIST, boolean, emptyable, enum, integer, metadata, string, timestamp
from fakestripe.resources import invoices, payment_methods, prices
from fakestripe.resources.common import apply_update, merge_metadata
from fakestripe.routing import route
from fakestripe.snapshot import snapshot

INCOMPLETE_EXPIRES_AFTER = 23 * 3600
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
    "items": [ITEM],
    "currency": string,
}
UPDATE = {
    **COMMON,
    "items": [ITEM],
    "pause_collection": emptyable(PAUSE),
    "cancellation_details": {"comment": string, "feedback": string},
    "proration_date": timestamp,
}


def _plan(price: dict[str, Any]) -> dict[str, Any]:
    recurring = price["recurring"]
    return {
        "active": price["active"],
        "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"],
        "billing_scheme": "per_unit",
        "created": price["created"],
        "currency": price["currency"],
        "id": price["id"],
        "interval": recurring["interval"],
        "interval_count": recurring["interval_count"],
        "livemode": False,
        "metadata": dict(price["metadata"]),
        "meter": None,
        "nickname": price["nickname"],
        "object": "plan",
        "product": price["product"],
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }


def _price_for_item(em: Any, item: dict[str, Any], index: int) -> dict[str, Any]:
    if item.get("price"):
        price = em.get("price", item["price"], param=f"items[{index}][price]")
    elif item.get("price_data"):
        data = item["price_data"]
        if not data.get("recurring"):
            raise errors.missing_parameter(f"items[{index}][price_data][recurring]")
        price = prices.new_price(em, data, param=f"items[{index}][price_data]", inline=True)
    else:
        raise errors.missing_parameter(f"items[{index}][price]")
    if price["type"] != "recurring":
        raise errors.StripeError(
            400,
            "The price specified is set to `type=one_time` but this field only accepts prices "
            "with `type=recurring`.",
            param=f"items[{index}][price]",
        )
    return price


def _item(
    em: Any,
    sub_id: str,
    price: dict[str, Any],
    quantity: int,
    meta: dict[str, str],
    period: tuple[int, int],
) -> dict[str, Any]:
    return {
        "created": em.now(),
        "discounts": [],
        "id": em.new_id("si", 14),
        "metadata": meta,
        "object": "subscription_item",
        "price": snapshot(price),
        "quantity": quantity,
        "subscription": sub_id,
        "tax_rates": [],
        "plan": _plan(price),
        "current_period_end": period[1],
        "current_period_start": period[0],
        "billing_thresholds": None,
    }


def _period_end(sub: dict[str, Any], start: int) -> int:
    recurring = sub["items"]["data"][0]["price"]["recurring"]
    anchor_day = day_of_month(sub["billing_cycle_anchor"])
    return add_interval(start, recurring["interval"], recurring["interval_count"], anchor_day)


def period(sub: dict[str, Any]) -> tuple[int, int]:
    item = sub["items"]["data"][0]
    return item["current_period_start"], item["current_period_end"]


def _cycle_lines(em: Any, sub: dict[str, Any]) -> list[dict[str, Any]]:
    start, end = period(sub)
    out = []
    for item in sub["items"]["data"]:
        price = item["price"]
        product = em.objects.get(price["product"], {})
        out.append(
            invoices.line(
                em,
                amount=price["unit_amount"] * item["quantity"],
                currency=price["currency"],
                description=f"{item['quantity']} × {product.get('name', 'Subscription')} "
                f"(at ${price['unit_amount'] / 100:.2f} / {price['recurring']['interval']})",
                period=(start, end),
                quantity=item["quantity"],
                subscription=sub["id"],
                item=item["id"],
                price=price,
            )
        )
    return out


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
    item_prices = [_price_for_item(em, item, i) for i, item in enumerate(p["items"])]
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
            _item(
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
    if behavior == "error_if_incomplete" and invoice_pm is None:
        raise errors.StripeError(
            400,
            "This customer has no attached payment source or default payment method. Please "
            "consider adding a default payment method. For more information, visit "
            "https://stripe.com/docs/billing/subscriptions/payment-methods-setting#payment-method-priority.",
            code="resource_missing",
        )
    em.store(sub)
    invoice = invoices.create(
        em,
        customer=customer,
        subscription=sub,
        lines=_cycle_lines(em, sub),
        billing_reason="subscription_create",
        period=(start, start),
    )
    sub["latest_invoice"] = invoice["id"]
    em.emit("customer.subscription.created", sub)
    # The first invoice's PaymentIntent saves the card for the renewals to come.
    invoices.finalize(em, invoice, setup_future_usage="off_session")
    if invoice["status"] == "open" and behavior != "default_incomplete" and invoice_pm is not None:
        try:
            invoices.attempt_payment(
                em,
                invoice,
                payment_method=invoice_pm,
                off_session=False,
                raise_card_errors=behavior == "error_if_incomplete",
            )
        except errors.StripeError:
            cancel_now(em, sub, reason="payment_failed", emit=False)
            raise
    if sub["status"] == "incomplete":
        sub_id, created = sub["id"], sub["created"]
        em.clock.at(created + INCOMPLETE_EXPIRES_AFTER, lambda: _expire_incomplete(em, sub_id))
    return sub


def _expire_incomplete(em: Any, sub_id: str) -> None:
    sub = em.objects[sub_id]
    if sub["status"] != "incomplete":
        return
    invoice = em.objects[sub["latest_invoice"]]
    if invoice["status"] == "open":
        invoices.void(em, invoice)
    previous = apply_update(sub, {"status": "incomplete_expired", "ended_at": em.now()})
    em.emit("customer.subscription.updated", sub, previous)
    em.emit("customer.subscription.deleted", sub)


def _schedule_renewal(em: Any, sub: dict[str, Any]) -> None:
    end = period(sub)[1]
    sub_id = sub["id"]
    em.clock.at(end, lambda: renew(em, sub_id, end))


def invoice_paid(
    em: Any, sub: dict[str, Any], invoice: dict[str, Any], pi: dict[str, Any] | None
) -> None:
    previous: dict[str, Any] = {}
    if (
        pi is not None
        and pi["payment_method"]
        and (
            sub["payment_settings"]["save_default_payment_method"] == "on_subscription"
            and sub["default_payment_method"] != pi["payment_method"]
        )
    ):
        previous["default_payment_method"] = sub["default_payment_method"]
        sub["default_payment_method"] = pi["payment_method"]
    if sub["status"] in ("incomplete", "past_due", "unpaid"):
        was = sub["status"]
        previous["status"] = was
        sub["status"] = "active"
        if was == "incomplete":
            _schedule_renewal(em, sub)
    if previous:
        em.emit("customer.subscription.updated", sub, previous)


def invoice_failed(em: Any, sub: dict[str, Any], invoice: dict[str, Any], *, final: bool) -> None:
    if invoice["billing_reason"] == "subscription_create" or sub["status"] in (
        "canceled",
        "incomplete_expired",
    ):
        return
    if final:
        outcome = em.billing.after_final_failure
        if outcome == "canceled":
            cancel_now(em, sub, reason="payment_failed")
            return
        if outcome == "unpaid" and sub["status"] != "unpaid":
            previous = apply_update(sub, {"status": "unpaid"})
            em.emit("customer.subscription.updated", sub, previous)
        return
    if sub["status"] == "active":
        previous = apply_update(sub, {"status": "past_due"})
        em.emit("customer.subscription.updated", sub, previous)


def renew(em: Any, sub_id: str, due: int) -> None:
    """The period ended: cancel if asked to, otherwise start the next period and bill it."""
    sub = em.objects.get(sub_id)
    if (
        sub is None
        or period(sub)[1] != due
        or sub["status"] in ("canceled", "incomplete", "incomplete_expired")
    ):
        return
    if sub["cancel_at_period_end"] or (sub["cancel_at"] and sub["cancel_at"] <= em.now()):
        cancel_now(em, sub, reason="cancellation_requested")
        return
    previous: dict[str, Any] = {"items": snapshot(sub["items"])}
    pause = sub["pause_collection"]
    if pause and pause.get("resumes_at") and pause["resumes_at"] <= em.now():
        previous["pause_collection"] = pause
        sub["pause_collection"] = pause = None
    start = due
    end = _period_end(sub, start)
    for item in sub["items"]["data"]:
        item["current_period_start"], item["current_period_end"] = start, end
    customer = em.objects[sub["customer"]]
    lines = _cycle_lines(em, sub) + em.secret_of(sub_id).pop("prorations", [])
    previous_start = previous["items"]["data"][0]["current_period_start"]
    invoice = invoices.create(
        em,
        customer=customer,
        subscription=sub,
        lines=lines,
        billing_reason="subscription_cycle",
        period=(previous_start, start),
    )
    previous["latest_invoice"] = sub["latest_invoice"]
    sub["latest_invoice"] = invoice["id"]
    em.emit("customer.subscription.updated", sub, previous)
    _schedule_renewal(em, sub)
    if pause:
        if pause["behavior"] == "void":
            invoices.void(em, invoice)
        elif pause["behavior"] == "mark_uncollectible":
            invoices.finalize(em, invoice)
            if invoice["status"] == "open":
                invoices.mark_uncollectible(em, invoice)
        return  # keep_as_draft: the invoice waits as a draft
    if sub["status"] == "unpaid":
        return  # Stripe leaves an unpaid subscription's new invoices as drafts
    inv_id = invoice["id"]
    em.clock.at(em.now() + invoices.FINALIZE_AFTER_SECONDS, lambda: _collect(em, inv_id))


def _collect(em: Any, invoice_id: str) -> None:
    invoice = em.objects[invoice_id]
    sub = invoices.subscription_of(em, invoice)
    if invoice["status"] != "draft" or sub is None or sub["status"] == "canceled":
        return
    invoices.finalize(em, invoice)
    if invoice["status"] == "open":
        invoices.attempt_payment(em, invoice)


def cancel_now(
    em: Any,
    sub: dict[str, Any],
    *,
    reason: str,
    emit: bool = True,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    now = em.now()
    previous = apply_update(
        sub,
        {
            "status": "canceled",
            "canceled_at": now,
            "ended_at": now,
            "cancellation_details": {
                "comment": (details or {}).get("comment"),
                "feedback": (details or {}).get("feedback"),
                "reason": reason,
            },
        },
    )
    del previous
    if sub["latest_invoice"]:
        invoice = em.objects[sub["latest_invoice"]]
        if invoice["status"] == "open" and invoice["billing_reason"] == "subscription_create":
            invoices.void(em, invoice)
        elif invoice["status"] == "open":
            invoice["next_payment_attempt"] = None  # retries stop with the subscription
    if emit:
        em.emit("customer.subscription.deleted", sub)
    return sub


def _prorate(
    em: Any,
    sub: dict[str, Any],
    old: dict[str, Any],
    new_price: dict[str, Any],
    new_qty: int,
    moment: int,
) -> list[dict[str, Any]]:
    start, end = period(sub)
    remaining = max(end - moment, 0) / max(end - start, 1)
    product = em.objects.get(new_price["product"], {}).get("name", "Subscription")
    credit = -round(old["price"]["unit_amount"] * old["quantity"] * remaining)
    debit = round(new_price["unit_amount"] * new_qty * remaining)
    common = {
        "currency": sub["currency"],
        "period": (moment, end),
        "subscription": sub["id"],
        "item": old["id"],
        "proration": True,
    }
    return [
        invoices.line(
            em,
            amount=credit,
            description=f"Unused time on {product}",
            quantity=old["quantity"],
            price=old["price"],
            **common,
        ),
        invoices.line(
            em,
            amount=debit,
            description=f"Remaining time on {product}",
            quantity=new_qty,
            price=new_price,
            **common,
        ),
    ]


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
        sub["cancel_at"] = period(sub)[1] if p["cancel_at_period_end"] else None
    if "cancel_at" in p:
        sub["cancel_at"] = p["cancel_at"] or None
        sub["cancel_at_period_end"] = bool(sub["cancel_at"]) and sub["cancel_at"] == period(sub)[1]
        if sub["cancel_at"] and sub["cancel_at"] < period(sub)[1]:
            at, sid = sub["cancel_at"], sub["id"]
            em.clock.at(at, lambda: _cancel_at(em, sid, at))
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
        _update_items(em, sub, p)
    previous = {k: before[k] for k in sub if sub[k] != before[k]}
    if previous:
        em.emit("customer.subscription.updated", sub, previous)
    return sub


def _cancel_at(em: Any, sub_id: str, at: int) -> None:
    sub = em.objects[sub_id]
    if sub["cancel_at"] == at and sub["status"] not in ("canceled", "incomplete_expired"):
        cancel_now(em, sub, reason="cancellation_requested")


def _update_items(em: Any, sub: dict[str, Any], p: dict[str, Any]) -> None:
    behavior = p.get("proration_behavior", "create_prorations")
    moment = p.get("proration_date") if isinstance(p.get("proration_date"), int) else em.now()
    prorations: list[dict[str, Any]] = []
    by_id = {item["id"]: item for item in sub["items"]["data"]}
    for index, change in enumerate(p["items"]):
        if change.get("id"):
            if change["id"] not in by_id:
                raise errors.no_such("subscription_item", change["id"], f"items[{index}][id]")
            item = by_id[change["id"]]
            if change.get("deleted"):
                if len(sub["items"]["data"]) == 1:
                    raise errors.StripeError(
                        400,
                        "A subscription must have at least one active plan.",
                        param=f"items[{index}][deleted]",
                    )
                sub["items"]["data"].remove(item)
                continue
            new_price = (
                _price_for_item(em, change, index)
                if (change.get("price") or change.get("price_data"))
                else item["price"]
            )
            if new_price["recurring"]["interval"] != item["price"]["recurring"]["interval"]:
                raise errors.StripeError(
                    400,
                    "Changing the billing interval is not supported by the emulator "
                    "(Stripe would reset the billing cycle).",
                    param=f"items[{index}]",
                )
            qty = change.get("quantity", item["quantity"])
            if behavior != "none" and sub["status"] in ("active", "past_due"):
                prorations += _prorate(em, sub, item, new_price, qty, moment)
            item.update(price=snapshot(new_price), plan=_plan(new_price), quantity=qty)
            if "metadata" in change:
                item["metadata"] = merge_metadata(item["metadata"], change["metadata"])
        else:
            price = _price_for_item(em, change, index)
            start, end = period(sub)
            sub["items"]["data"].append(
                _item(
                    em,
                    sub["id"],
                    price,
                    change.get("quantity", 1),
                    merge_metadata({}, change.get("metadata", {})),
                    (start, end),
                )
            )
    if not prorations:
        return
    if behavior == "create_prorations":
        em.secret_of(sub["id"]).setdefault("prorations", []).extend(prorations)
        return
    customer = em.objects[sub["customer"]]
    total = sum(line["amount"] for line in prorations)
    invoice = invoices.create(
        em,
        customer=customer,
        subscription=sub,
        lines=prorations,
        billing_reason="subscription_update",
        period=(moment, moment),
    )
    sub["latest_invoice"] = invoice["id"]
    if total < 0:
        # Credit goes to the customer balance and pays future invoices.
        invoice["amount_due"] = invoice["amount_remaining"] = 0
        customer["balance"] += total
    invoices.finalize(em, invoice)
    if invoice["status"] == "open":
        invoices.attempt_payment(em, invoice)


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
    return cancel_now(
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
