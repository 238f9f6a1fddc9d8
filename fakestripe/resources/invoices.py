"""Invoices (/v1/invoices) and their payments (/v1/invoice_payments).

A subscription's invoice is paid through a PaymentIntent that Stripe creates; in the
current API the link is `invoice.payments` (an includable list of invoice_payment
objects, each naming its PaymentIntent) and the browser confirms it with
`invoice.confirmation_secret.client_secret` (includable, via expand[]).
"""

from typing import Any

from fakestripe import errors
from fakestripe.expansion import INCLUDABLE
from fakestripe.params import LIST, PAGE, boolean, enum, string
from fakestripe.resources import payment_intents, payment_methods
from fakestripe.routing import route
from fakestripe.snapshot import snapshot

FINALIZE_AFTER_SECONDS = 3600  # Stripe finalizes a renewal invoice an hour after drafting it


def line(
    em: Any,
    *,
    amount: int,
    currency: str,
    description: str,
    period: tuple[int, int],
    quantity: int | None,
    subscription: str | None,
    item: str | None,
    price: dict[str, Any] | None,
    proration: bool = False,
) -> dict[str, Any]:
    return {
        "amount": amount,
        "currency": currency,
        "description": description,
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "id": em.new_id("il"),
        "invoice": None,
        "livemode": False,
        "metadata": {},
        "object": "line_item",
        "period": {"end": period[1], "start": period[0]},
        "quantity": quantity,
        "subscription": subscription,
        "pretax_credit_amounts": [],
        "taxes": [],
        "parent": {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": proration,
                "proration_details": {"credited_items": None},
                "subscription": subscription,
                "subscription_item": item,
            },
            "type": "subscription_item_details",
        },
        "pricing": {
            "price_details": {"price": price["id"], "product": price["product"]} if price else None,
            "type": "price_details",
            "unit_amount_decimal": price["unit_amount_decimal"] if price else None,
        },
        "subtotal": amount,
        "quantity_decimal": str(quantity) if quantity is not None else None,
    }


def create(
    em: Any,
    *,
    customer: dict[str, Any],
    subscription: dict[str, Any],
    lines: list[dict[str, Any]],
    billing_reason: str,
    period: tuple[int, int],
) -> dict[str, Any]:
    inv_id = em.new_id("in")
    subtotal = sum(item["amount"] for item in lines)
    starting_balance = customer.get("balance", 0)
    # A negative customer balance is credit: it pays the invoice first.
    applied = max(starting_balance, -subtotal) if starting_balance < 0 else 0
    amount_due = max(subtotal + applied, 0)
    for item in lines:
        item["invoice"] = inv_id
    number = f"{customer['invoice_prefix']}-{customer['next_invoice_sequence']:04d}"
    customer["next_invoice_sequence"] += 1
    invoice = {
        "account_country": "US",
        "account_name": "Pledge (emulator)",
        "account_tax_ids": None,
        "amount_due": amount_due,
        "amount_paid": 0,
        "amount_remaining": amount_due,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": True,
        "automatic_tax": {
            "enabled": False,
            "liability": None,
            "status": None,
            "disabled_reason": None,
            "provider": None,
        },
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "created": em.now(),
        "currency": subscription["currency"],
        "custom_fields": None,
        "customer": customer["id"],
        "customer_address": snapshot(customer["address"]),
        "customer_email": customer["email"],
        "customer_name": customer["name"],
        "customer_phone": customer["phone"],
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "due_date": None,
        "effective_at": None,
        "ending_balance": None,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": None,
        "id": inv_id,
        "invoice_pdf": None,
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {
            "data": lines,
            "has_more": False,
            "object": "list",
            "url": f"/v1/invoices/{inv_id}/lines",
        },
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None,
        "number": None,
        "object": "invoice",
        "on_behalf_of": None,
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": period[1],
        "period_start": period[0],
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": starting_balance,
        "statement_descriptor": None,
        "status": "draft",
        "status_transitions": {
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "subscription": None,  # moved to parent.subscription_details in the current API
        "subtotal": subtotal,
        "subtotal_excluding_tax": subtotal,
        "test_clock": None,
        "total": subtotal,
        "total_discount_amounts": [],
        "total_excluding_tax": subtotal,
        "webhooks_delivered_at": None,
        "automatically_finalizes_at": None,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "amount_overpaid": 0,
        "parent": {
            "quote_details": None,
            "subscription_details": {
                "metadata": dict(subscription["metadata"]),
                "subscription": subscription["id"],
            },
            "type": "subscription_details",
        },
        "customer_account": None,
    }
    em.store(invoice)
    state = em.secret_of(inv_id)
    state.update(
        number=number, balance_applied=applied, payments=[], subscription=subscription["id"]
    )
    em.emit("invoice.created", invoice)
    return invoice


def subscription_of(em: Any, invoice: dict[str, Any]) -> dict[str, Any] | None:
    sub_id = em.secret_of(invoice["id"]).get("subscription")
    return em.objects.get(sub_id) if sub_id else None


def next_collection_attempt(invoice: dict[str, Any]) -> int | None:
    """When Stripe next tries to collect this invoice: a renewal draft's automatic
    finalization (which charges it), or an open invoice's next Smart Retry."""
    if invoice["status"] == "draft":
        return invoice["automatically_finalizes_at"]
    if invoice["status"] == "open":
        return invoice["next_payment_attempt"]
    return None


def finalize(
    em: Any, invoice: dict[str, Any], *, setup_future_usage: str | None = None
) -> dict[str, Any]:
    """draft -> open, with its PaymentIntent (or straight to paid when nothing is due)."""
    state = em.secret_of(invoice["id"])
    customer = em.objects[invoice["customer"]]
    invoice.update(
        status="open",
        automatically_finalizes_at=None,
        number=state["number"],
        effective_at=em.now(),
        hosted_invoice_url=f"https://invoice.stripe.com/i/{invoice['id']}",
        invoice_pdf=f"https://pay.stripe.com/invoice/{invoice['id']}/pdf",
    )
    invoice["status_transitions"]["finalized_at"] = em.now()
    if state["balance_applied"]:
        customer["balance"] -= state["balance_applied"]
    invoice["ending_balance"] = customer["balance"]
    em.emit("invoice.finalized", invoice)
    if invoice["amount_due"] == 0:
        _mark_paid(em, invoice, None)
        return invoice
    pi = payment_intents.new(
        em,
        amount=invoice["amount_due"],
        cur=invoice["currency"],
        customer=invoice["customer"],
        description="Subscription creation"
        if invoice["billing_reason"] == "subscription_create"
        else "Subscription update",
        setup_future_usage=setup_future_usage,
    )
    em.secret_of(pi["id"])["invoice"] = invoice["id"]
    payment = {
        "amount_paid": None,
        "amount_requested": invoice["amount_due"],
        "created": em.now(),
        "currency": invoice["currency"],
        "id": em.new_id("inpay"),
        "invoice": invoice["id"],
        "is_default": True,
        "livemode": False,
        "object": "invoice_payment",
        "payment": {"payment_intent": pi["id"], "type": "payment_intent"},
        "status": "open",
        "status_transitions": {"canceled_at": None, "paid_at": None},
    }
    em.store(payment)
    state["payments"].append(payment["id"])
    state["payment_intent"] = pi["id"]
    return invoice


def payment_method_for(em: Any, invoice: dict[str, Any]) -> str | None:
    """Stripe's order: the invoice's, the subscription's, the customer's default."""
    sub = subscription_of(em, invoice)
    customer = em.objects[invoice["customer"]]
    return (
        invoice["default_payment_method"]
        or (sub or {}).get("default_payment_method")
        or customer["invoice_settings"]["default_payment_method"]
    )


def attempt_payment(
    em: Any,
    invoice: dict[str, Any],
    *,
    payment_method: str | None = None,
    off_session: bool = True,
    raise_card_errors: bool = False,
) -> dict[str, Any]:
    pi = em.objects[em.secret_of(invoice["id"])["payment_intent"]]
    pm_id = payment_method or payment_method_for(em, invoice) or pi["payment_method"]
    invoice["attempted"] = True
    if pm_id is None:
        invoice["attempt_count"] += 1
        _after_failure(em, invoice)
        if raise_card_errors:
            raise errors.StripeError(
                400,
                "This customer has no attached payment source or default payment method. "
                "Please consider adding a default payment method.",
            )
        return invoice
    pm = payment_methods.resolve(em, pm_id)
    pi["payment_method"] = pm["id"]
    em.secret_of(pi["id"])["authenticated"] = False
    payment_intents.attempt(
        em,
        pi,
        off_session=off_session,
        raise_card_errors=raise_card_errors,
        action_instead_of_error=True,
    )
    return invoice


def payment_intent_changed(em: Any, invoice_id: str, pi: dict[str, Any]) -> None:
    """The invoice's PaymentIntent succeeded, failed or needs the customer."""
    invoice = em.objects[invoice_id]
    if invoice["status"] != "open":
        return
    if pi["status"] == "succeeded":
        invoice["attempt_count"] += 1
        _mark_paid(em, invoice, pi)
    elif pi["status"] == "requires_action":
        invoice["attempt_count"] += 1
        invoice["attempted"] = True
        em.emit("invoice.payment_action_required", invoice)
        _subscription_payment_trouble(em, invoice)
    elif pi["last_payment_error"] is not None:
        invoice["attempt_count"] += 1
        invoice["attempted"] = True
        _after_failure(em, invoice)


def _mark_paid(em: Any, invoice: dict[str, Any], pi: dict[str, Any] | None) -> None:
    from fakestripe.resources import billing_cycle

    invoice.update(
        status="paid",
        amount_paid=invoice["amount_due"],
        amount_remaining=0,
        next_payment_attempt=None,
        attempted=True,
    )
    invoice["status_transitions"]["paid_at"] = em.now()
    for payment_id in em.secret_of(invoice["id"])["payments"]:
        payment = em.objects[payment_id]
        if pi is not None and payment["payment"]["payment_intent"] == pi["id"]:
            payment.update(status="paid", amount_paid=pi["amount_received"])
            payment["status_transitions"]["paid_at"] = em.now()
            em.emit("invoice_payment.paid", payment)
    em.emit("invoice.paid", invoice)
    em.emit("invoice.payment_succeeded", invoice)
    sub = subscription_of(em, invoice)
    if sub is not None:
        billing_cycle.invoice_paid(em, sub, invoice, pi)


def _after_failure(em: Any, invoice: dict[str, Any]) -> None:
    """A failed attempt: schedule the next Smart Retry, or give up."""
    sub = subscription_of(em, invoice)
    retryable = invoice["billing_reason"] != "subscription_create" and invoice["auto_advance"]
    failures = invoice["attempt_count"]
    first_failure = em.secret_of(invoice["id"]).setdefault("first_failure", em.now())
    retry_days = em.billing.retry_days
    if retryable and failures <= len(retry_days):
        invoice["next_payment_attempt"] = first_failure + retry_days[failures - 1] * 86400
        due = invoice["next_payment_attempt"]
        em.clock.at(due, lambda: _retry(em, invoice["id"], due))
    else:
        invoice["next_payment_attempt"] = None
    em.emit("invoice.payment_failed", invoice)
    if sub is not None:
        _subscription_payment_trouble(
            em, invoice, final=retryable and invoice["next_payment_attempt"] is None
        )


def _subscription_payment_trouble(em: Any, invoice: dict[str, Any], *, final: bool = False) -> None:
    from fakestripe.resources import billing_cycle

    sub = subscription_of(em, invoice)
    if sub is not None:
        billing_cycle.invoice_failed(em, sub, invoice, final=final)


def _retry(em: Any, invoice_id: str, due: int) -> None:
    invoice = em.objects[invoice_id]
    sub = subscription_of(em, invoice)
    if invoice["status"] != "open" or invoice["next_payment_attempt"] != due:
        return
    if sub is not None and sub["status"] in ("canceled", "incomplete_expired"):
        return
    attempt_payment(em, invoice)


def void(em: Any, invoice: dict[str, Any]) -> dict[str, Any]:
    if invoice["status"] not in ("open", "uncollectible", "draft"):
        raise errors.StripeError(
            400,
            f"You can only void an open or uncollectible invoice (this one is {invoice['status']}).",
            code="invoice_not_editable" if invoice["status"] == "paid" else None,
        )
    invoice.update(status="void", amount_remaining=0, next_payment_attempt=None)
    invoice["status_transitions"]["voided_at"] = em.now()
    pi_id = em.secret_of(invoice["id"]).get("payment_intent")
    if pi_id and em.objects[pi_id]["status"] in payment_intents.CANCELABLE:
        payment_intents.cancel_intent(em, em.objects[pi_id], "void_invoice")
        for payment_id in em.secret_of(invoice["id"])["payments"]:
            payment = em.objects[payment_id]
            payment["status"] = "canceled"
            payment["status_transitions"]["canceled_at"] = em.now()
    em.emit("invoice.voided", invoice)
    return invoice


def mark_uncollectible(em: Any, invoice: dict[str, Any]) -> dict[str, Any]:
    invoice.update(status="uncollectible", next_payment_attempt=None)
    invoice["status_transitions"]["marked_uncollectible_at"] = em.now()
    em.emit("invoice.marked_uncollectible", invoice)
    return invoice


# --- includable fields ------------------------------------------------------------------


def _confirmation_secret(em: Any, invoice: dict[str, Any]) -> dict[str, Any] | None:
    pi_id = em.secret_of(invoice["id"]).get("payment_intent")
    if not pi_id or invoice["status"] not in ("open",):
        return None
    return {"client_secret": em.objects[pi_id]["client_secret"], "type": "payment_intent"}


def _payments(em: Any, invoice: dict[str, Any]) -> dict[str, Any]:
    ids = em.secret_of(invoice["id"]).get("payments", [])
    return {
        "object": "list",
        "data": [em.objects[i] for i in reversed(ids)],
        "has_more": False,
        "url": f"/v1/invoice_payments?invoice={invoice['id']}",
    }


INCLUDABLE[("invoice", "confirmation_secret")] = _confirmation_secret
INCLUDABLE[("invoice", "payments")] = _payments


# --- routes -----------------------------------------------------------------------------


@route("GET", "/v1/invoices/{inv_id}")
def retrieve(em: Any, p: dict[str, Any], inv_id: str) -> dict[str, Any]:
    return em.get("invoice", inv_id)


@route(
    "GET",
    "/v1/invoices",
    {
        **LIST,
        "customer": string,
        "subscription": string,
        "status": enum("draft", "open", "paid", "uncollectible", "void"),
        "collection_method": enum("charge_automatically", "send_invoice"),
    },
)
def list_all(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    def keep(invoice: dict[str, Any]) -> bool:
        if p.get("customer") and invoice["customer"] != p["customer"]:
            return False
        if (
            p.get("subscription")
            and em.secret_of(invoice["id"]).get("subscription") != p["subscription"]
        ):
            return False
        return not (p.get("status") and invoice["status"] != p["status"])

    return em.list_objects("invoice", p, "/v1/invoices", keep)


@route("GET", "/v1/invoices/{inv_id}/lines", PAGE)
def lines(em: Any, p: dict[str, Any], inv_id: str) -> dict[str, Any]:
    invoice = em.get("invoice", inv_id)
    return invoice["lines"]


@route(
    "POST",
    "/v1/invoices/{inv_id}/pay",
    {
        "payment_method": string,
        "off_session": boolean,
        "paid_out_of_band": boolean,
    },
)
def pay(em: Any, p: dict[str, Any], inv_id: str) -> dict[str, Any]:
    invoice = em.get("invoice", inv_id)
    if invoice["status"] == "paid":
        raise errors.StripeError(400, "Invoice is already paid")
    if invoice["status"] == "draft":
        finalize(em, invoice)
        if invoice["status"] == "paid":
            return invoice
    if invoice["status"] != "open":
        raise errors.StripeError(
            400,
            f"You can only pay an open invoice (this one is {invoice['status']}).",
        )
    if p.get("paid_out_of_band"):
        _mark_paid(em, invoice, None)
        return invoice
    if p.get("payment_method"):
        pm = payment_methods.resolve(em, p["payment_method"])
        if pm["customer"] is None:
            payment_methods.attach(em, pm["id"], invoice["customer"])
    attempt_payment(
        em,
        invoice,
        payment_method=p.get("payment_method"),
        off_session=p.get("off_session", True),
        raise_card_errors=True,
    )
    return invoice


@route("POST", "/v1/invoices/{inv_id}/void")
def void_route(em: Any, p: dict[str, Any], inv_id: str) -> dict[str, Any]:
    return void(em, em.get("invoice", inv_id))


@route("POST", "/v1/invoices/{inv_id}/mark_uncollectible")
def uncollectible_route(em: Any, p: dict[str, Any], inv_id: str) -> dict[str, Any]:
    invoice = em.get("invoice", inv_id)
    if invoice["status"] != "open":
        raise errors.StripeError(400, "You can only mark an open invoice as uncollectible.")
    return mark_uncollectible(em, invoice)


@route("POST", "/v1/invoices/{inv_id}/finalize", {"auto_advance": boolean})
def finalize_route(em: Any, p: dict[str, Any], inv_id: str) -> dict[str, Any]:
    invoice = em.get("invoice", inv_id)
    if invoice["status"] != "draft":
        raise errors.StripeError(
            400, "This invoice is already finalized, you can't re-finalize a non-draft invoice."
        )
    return finalize(em, invoice)


@route("GET", "/v1/invoice_payments/{payment_id}")
def retrieve_payment(em: Any, p: dict[str, Any], payment_id: str) -> dict[str, Any]:
    return em.get("invoice_payment", payment_id, label="invoice payment")


@route(
    "GET",
    "/v1/invoice_payments",
    {
        **LIST,
        "invoice": string,
        "payment": {"type": enum("payment_intent"), "payment_intent": string},
        "status": enum("open", "paid", "canceled"),
    },
)
def list_payments(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    def keep(payment: dict[str, Any]) -> bool:
        if p.get("invoice") and payment["invoice"] != p["invoice"]:
            return False
        wanted_pi = (p.get("payment") or {}).get("payment_intent")
        if wanted_pi and payment["payment"]["payment_intent"] != wanted_pi:
            return False
        return not (p.get("status") and payment["status"] != p["status"])

    return em.list_objects("invoice_payment", p, "/v1/invoice_payments", keep)
