"""PaymentIntents: /v1/payment_intents."""

from typing import Any

from fakestripe import errors
from fakestripe.params import LIST, boolean, enum, integer, metadata, string, string_list
from fakestripe.resources import charges, payment_methods
from fakestripe.resources.common import apply_update, currency, merge_metadata, positive_amount
from fakestripe.routing import route
from fakestripe.snapshot import snapshot

CANCELABLE = (
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
)
CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
SETUP_FUTURE_USAGE = enum("on_session", "off_session", "")

CONFIRM = {
    "payment_method": string,
    "payment_method_data": {
        "type": enum("card"),
        "card": payment_methods.CARD,
        "billing_details": payment_methods.BILLING_DETAILS,
    },
    "return_url": string,
    "off_session": boolean,
    "setup_future_usage": SETUP_FUTURE_USAGE,
    "receipt_email": string,
    "error_on_requires_action": boolean,
    "mandate_data": {
        "customer_acceptance": {
            "type": string,
            "online": {"ip_address": string, "user_agent": string},
        }
    },
    "use_stripe_sdk": boolean,
    "client_secret": string,
    "payment_method_options": {
        "card": {
            "request_three_d_secure": enum("any", "automatic", "challenge"),
            "setup_future_usage": SETUP_FUTURE_USAGE,
        }
    },
}
FIELDS = {
    "amount": integer,
    "currency": string,
    "customer": string,
    "description": string,
    "metadata": metadata,
    "payment_method": string,
    "allowed_payment_method_types": string_list,
    "receipt_email": string,
    "setup_future_usage": SETUP_FUTURE_USAGE,
    "statement_descriptor": string,
    "statement_descriptor_suffix": string,
    "transfer_group": string,
    "payment_method_options": CONFIRM["payment_method_options"],
}
CREATE = {
    **FIELDS,
    # Stripe.js sends the client secret and raw card data; a secret-key create takes
    # neither (card numbers never reach the server).
    **{key: spec for key, spec in CONFIRM.items() if key != "client_secret"},
    "payment_method_data": {
        key: spec for key, spec in CONFIRM["payment_method_data"].items() if key != "card"
    },
    "confirm": boolean,
    "capture_method": enum("automatic", "automatic_async"),
    "confirmation_method": enum("automatic", "manual"),
    "automatic_payment_methods": {"enabled": boolean, "allow_redirects": enum("always", "never")},
}


def shape(em: Any, amount: int, cur: str) -> dict[str, Any]:
    pi_id = em.new_id("pi")
    return {
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": {"enabled": True},
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic_async",
        "client_secret": f"{pi_id}_secret_{em.new_id('x', 25)[2:]}",
        "confirmation_method": "automatic",
        "created": em.now(),
        "currency": cur,
        "customer": None,
        "description": None,
        "id": pi_id,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": {},
        "next_action": None,
        "object": "payment_intent",
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
        "source": None,
        "excluded_payment_method_types": None,
        "customer_account": None,
        "managed_payments": {"enabled": False},
    }


def new(
    em: Any,
    *,
    amount: int,
    cur: str,
    customer: str | None,
    description: str | None,
    setup_future_usage: str | None = None,
    metadata_: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A PaymentIntent made by Stripe itself (an invoice's)."""
    pi = shape(em, amount, cur)
    pi.update(
        customer=customer,
        description=description,
        setup_future_usage=setup_future_usage,
        metadata=dict(metadata_ or {}),
    )
    em.store(pi)
    em.emit("payment_intent.created", pi)
    return pi


def check_client_secret(pi: dict[str, Any], p: dict[str, Any], key_is_publishable: bool) -> None:
    if key_is_publishable and p.get("client_secret") != pi["client_secret"]:
        raise errors.StripeError(
            400,
            "The client_secret provided does not match the client_secret associated with the "
            "PaymentIntent.",
            code="payment_intent_invalid_parameter"
            if p.get("client_secret")
            else "parameter_missing",
            param="client_secret",
        )


def _set_payment_method(em: Any, pi: dict[str, Any], p: dict[str, Any]) -> None:
    if p.get("payment_method_data"):
        data = p["payment_method_data"]
        card = data.get("card") or {}
        if not card.get("number"):
            raise errors.missing_parameter("payment_method_data[card][number]")
        from fakestripe import cards

        pm = payment_methods.build(
            em,
            cards.lookup(card["number"]),
            exp_month=card.get("exp_month", 12),
            exp_year=card.get("exp_year"),
            billing=data.get("billing_details"),
        )
        pi["payment_method"] = pm["id"]
    elif p.get("payment_method"):
        pm = payment_methods.resolve(em, p["payment_method"])
        if pm["customer"] is not None and pm["customer"] != pi["customer"]:
            raise errors.StripeError(
                400,
                "The provided PaymentMethod was previously used with a PaymentIntent without "
                "Customer attachment, shared with a connected account without Customer "
                "attachment, or was detached from a Customer. It may not be used again. To use "
                "a PaymentMethod multiple times, you must attach it to a Customer first.",
                param="payment_method",
            )
        pi["payment_method"] = pm["id"]


def _fail(
    em: Any,
    pi: dict[str, Any],
    pm: dict[str, Any],
    exc: errors.StripeError,
    charge: dict[str, Any] | None,
) -> errors.StripeError:
    error = exc.error_dict()
    error.pop("request_log_url", None)
    if charge is not None:
        error["charge"] = charge["id"]
    error["payment_method"] = snapshot(pm)
    pi.update(
        status="requires_payment_method",
        last_payment_error=error,
        next_action=None,
        payment_method=None,
        latest_charge=charge["id"] if charge else pi["latest_charge"],
    )
    em.emit("payment_intent.payment_failed", pi)
    exc.extra = {
        **exc.extra,
        "payment_intent": snapshot(pi),
        "payment_method": snapshot(pm),
    }
    if charge is not None:
        exc.extra["charge"] = charge["id"]
    _notify_invoice(em, pi)
    return exc


def _needs_authentication(em: Any, pm_id: str, off_session: bool) -> bool:
    card = payment_methods.test_card(em, pm_id)
    return card.three_d_secure == "always" or (
        card.three_d_secure == "on_session"
        and not (off_session and em.secret_of(pm_id).get("set_up_off_session"))
    )


def predicted_failure(em: Any, pm_id: str, *, off_session: bool) -> errors.StripeError | None:
    """The card error a charge on this PaymentMethod would meet, without charging it
    (for requests Stripe refuses whole, such as `error_if_incomplete`)."""
    card = payment_methods.test_card(em, pm_id)
    if _needs_authentication(em, pm_id, off_session):
        return payment_methods.card_error("authentication_required", "authentication_required")
    if card.decline:
        return payment_methods.card_error(*card.decline)
    if card.fails_after_attach:
        return payment_methods.card_error("card_declined", "generic_decline")
    return None


def attempt(
    em: Any,
    pi: dict[str, Any],
    *,
    off_session: bool = False,
    raise_card_errors: bool = True,
    action_instead_of_error: bool = False,
    error_on_requires_action: bool = False,
) -> dict[str, Any]:
    """Charge the PaymentIntent's card, as confirmation does.

    Card errors are raised (the API answers 402) unless `raise_card_errors` is False
    (Stripe.js and renewals record them on the PaymentIntent instead). A card that needs
    the customer fails with `authentication_required` off-session (or when the caller set
    `error_on_requires_action`); on-session, and for renewals, the intent waits in
    `requires_action`.
    """
    pm = em.get(
        "payment_method", pi["payment_method"], param="payment_method", label="PaymentMethod"
    )
    card = payment_methods.test_card(em, pm["id"])
    state = em.secret_of(pi["id"])
    pm_state = em.secret_of(pm["id"])
    needs_auth = _needs_authentication(em, pm["id"], off_session)
    if needs_auth and not state.get("authenticated"):
        if (off_session and not action_instead_of_error) or error_on_requires_action:
            exc = payment_methods.card_error("authentication_required", "authentication_required")
            exc.message = "Your card was declined. This transaction requires authentication."
            failure = _fail(em, pi, pm, exc, None)
            if raise_card_errors:
                raise failure
            return pi
        pi.update(
            status="requires_action",
            next_action={
                "type": "use_stripe_sdk",
                "use_stripe_sdk": {
                    "type": "three_d_secure_redirect",
                    "stripe_js": f"/_emulator/3ds/{pi['id']}",
                    "source": em.new_id("src"),
                },
            },
            last_payment_error=None,
        )
        em.emit("payment_intent.requires_action", pi)
        _notify_invoice(em, pi)
        return pi
    decline = card.decline or (
        ("card_declined", "generic_decline") if card.fails_after_attach else None
    )
    charge = charges.create(
        em, pi=pi, pm=pm, decline=decline, three_d_secure=bool(state.get("authenticated"))
    )
    if decline is not None:
        failure = _fail(em, pi, pm, payment_methods.card_error(*decline), charge)
        if raise_card_errors:
            raise failure
        return pi
    pi.update(
        status="succeeded",
        amount_received=pi["amount"],
        latest_charge=charge["id"],
        next_action=None,
        last_payment_error=None,
    )
    if pi["setup_future_usage"] or state.get("save_for_off_session"):
        # A card confirmed on-session for future use is authenticated for later
        # off-session charges (how 4000 0025 0000 3155 behaves on renewals).
        pm_state["set_up_off_session"] = True
        if pi["customer"] and pm["customer"] is None:
            pm["customer"] = pi["customer"]
            em.emit("payment_method.attached", pm)
    em.emit("payment_intent.succeeded", pi)
    _notify_invoice(em, pi)
    if card.disputed:
        from fakestripe.resources import disputes

        disputes.open_dispute(em, charge["id"], reason="fraudulent")
    return pi


def _notify_invoice(em: Any, pi: dict[str, Any]) -> None:
    invoice_id = em.secret_of(pi["id"]).get("invoice")
    if invoice_id:
        from fakestripe.resources import invoices

        invoices.payment_intent_changed(em, invoice_id, pi)


def confirm(
    em: Any, pi: dict[str, Any], p: dict[str, Any], *, raise_card_errors: bool = True
) -> dict[str, Any]:
    if pi["status"] == "succeeded":
        raise errors.StripeError(
            400,
            "You cannot confirm this PaymentIntent because it has already succeeded after being "
            "previously confirmed.",
            code="payment_intent_unexpected_state",
            extra={"payment_intent": snapshot(pi)},
        )
    if pi["status"] not in CONFIRMABLE:
        raise errors.StripeError(
            400,
            f"This PaymentIntent's payment_method could not be updated because it has a status "
            f"of {pi['status']}. You may only update the payment_method of a PaymentIntent with "
            "one of the following statuses: requires_payment_method, requires_confirmation, "
            "requires_action.",
            code="payment_intent_unexpected_state",
            extra={"payment_intent": snapshot(pi)},
        )
    _set_payment_method(em, pi, p)
    if "setup_future_usage" in p:
        pi["setup_future_usage"] = p["setup_future_usage"] or None
    if p.get("receipt_email"):
        pi["receipt_email"] = p["receipt_email"]
    if not pi["payment_method"]:
        raise errors.StripeError(
            400,
            "You cannot confirm this PaymentIntent because it's missing a payment method. To "
            "confirm the PaymentIntent with cus_xxx, specify a payment method attached to this "
            "customer along with the customer ID."
            if pi["customer"]
            else "You cannot confirm this PaymentIntent because it's missing a payment method. "
            "You can either update the PaymentIntent with a payment method and then confirm it "
            "again, or confirm it again directly with a payment method.",
            code="payment_intent_unexpected_state",
        )
    em.secret_of(pi["id"])["authenticated"] = False
    return attempt(
        em,
        pi,
        off_session=bool(p.get("off_session")),
        raise_card_errors=raise_card_errors,
        error_on_requires_action=bool(p.get("error_on_requires_action")),
    )


@route("POST", "/v1/payment_intents", CREATE)
def create(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    amount = positive_amount(p)
    cur = currency(p)
    if p.get("customer"):
        em.get("customer", p["customer"], param="customer")
    if p.get("off_session") and not p.get("confirm"):
        raise errors.StripeError(
            400, "You may only specify `off_session` when `confirm=true`.", param="off_session"
        )
    pi = shape(em, amount, cur)
    for key in (
        "customer",
        "description",
        "receipt_email",
        "statement_descriptor",
        "statement_descriptor_suffix",
        "transfer_group",
    ):
        pi[key] = p.get(key) or None
    pi["setup_future_usage"] = p.get("setup_future_usage") or None
    pi["metadata"] = merge_metadata({}, p.get("metadata", {}))
    if p.get("allowed_payment_method_types"):
        for index, kind in enumerate(p["allowed_payment_method_types"]):
            if kind != "card":
                # The emulator only has cards; say so instead of pretending.
                raise errors.StripeError(
                    400,
                    f"The payment method type provided: {kind} is invalid. The emulator "
                    "supports card only.",
                    code="payment_intent_invalid_parameter",
                    param=f"allowed_payment_method_types[{index}]",
                )
        pi["payment_method_types"] = p["allowed_payment_method_types"]
        pi["automatic_payment_methods"] = None
    if p.get("capture_method"):
        pi["capture_method"] = p["capture_method"]
    if p.get("confirmation_method"):
        pi["confirmation_method"] = p["confirmation_method"]
    _set_payment_method(em, pi, p)
    if pi["payment_method"]:
        pi["status"] = "requires_confirmation"
    em.store(pi)
    em.emit("payment_intent.created", pi)
    if p.get("confirm"):
        confirm(
            em, pi, {k: v for k, v in p.items() if k in ("off_session", "error_on_requires_action")}
        )
    return pi


@route("GET", "/v1/payment_intents/{pi_id}", {"client_secret": string}, publishable=True)
def retrieve(em: Any, p: dict[str, Any], pi_id: str) -> dict[str, Any]:
    pi = em.get("payment_intent", pi_id, label="payment_intent")
    check_client_secret(pi, p, em.current_key_is_publishable)
    return pi


@route("POST", "/v1/payment_intents/{pi_id}", FIELDS)
def update(em: Any, p: dict[str, Any], pi_id: str) -> dict[str, Any]:
    pi = em.get("payment_intent", pi_id, label="payment_intent")
    if pi["status"] in ("succeeded", "canceled", "processing"):
        raise errors.StripeError(
            400,
            f"This PaymentIntent's amount could not be updated because it has a status of "
            f"{pi['status']}. You may only update the amount of a PaymentIntent with one of the "
            "following statuses: requires_payment_method, requires_confirmation, requires_action.",
            code="payment_intent_unexpected_state",
        )
    changes: dict[str, Any] = {}
    if "amount" in p:
        changes["amount"] = positive_amount(p)
    if "currency" in p:
        changes["currency"] = currency(p)
    if p.get("customer"):
        changes["customer"] = em.get("customer", p["customer"], param="customer")["id"]
    for key in (
        "description",
        "receipt_email",
        "statement_descriptor",
        "statement_descriptor_suffix",
        "transfer_group",
    ):
        if key in p:
            changes[key] = p[key] or None
    if "setup_future_usage" in p:
        changes["setup_future_usage"] = p["setup_future_usage"] or None
    if "metadata" in p:
        changes["metadata"] = merge_metadata(pi["metadata"], p["metadata"])
    previous = apply_update(pi, changes)
    if "payment_method" in p:
        _set_payment_method(em, pi, p)
        if pi["payment_method"] and pi["status"] == "requires_payment_method":
            pi["status"] = "requires_confirmation"
    if previous:
        em.emit("payment_intent.updated", pi, previous)
    return pi


@route("POST", "/v1/payment_intents/{pi_id}/confirm", CONFIRM, publishable=True)
def confirm_route(em: Any, p: dict[str, Any], pi_id: str) -> dict[str, Any]:
    pi = em.get("payment_intent", pi_id, label="payment_intent")
    check_client_secret(pi, p, em.current_key_is_publishable)
    return confirm(em, pi, p)


@route(
    "POST",
    "/v1/payment_intents/{pi_id}/cancel",
    {"cancellation_reason": enum("duplicate", "fraudulent", "requested_by_customer", "abandoned")},
)
def cancel(em: Any, p: dict[str, Any], pi_id: str) -> dict[str, Any]:
    pi = em.get("payment_intent", pi_id, label="payment_intent")
    if em.secret_of(pi_id).get("invoice"):
        raise errors.StripeError(
            400,
            "You cannot cancel this PaymentIntent because it was created by an invoice. Void "
            "the invoice instead.",
            code="payment_intent_unexpected_state",
        )
    return cancel_intent(em, pi, p.get("cancellation_reason"))


def cancel_intent(em: Any, pi: dict[str, Any], reason: str | None) -> dict[str, Any]:
    if pi["status"] not in CANCELABLE:
        raise errors.StripeError(
            400,
            f"You cannot cancel this PaymentIntent because it has a status of {pi['status']}. "
            "Only a PaymentIntent with one of the following statuses may be canceled: "
            "requires_payment_method, requires_capture, requires_confirmation, requires_action, "
            "processing.",
            code="payment_intent_unexpected_state",
            extra={"payment_intent": snapshot(pi)},
        )
    pi.update(status="canceled", canceled_at=em.now(), cancellation_reason=reason, next_action=None)
    em.emit("payment_intent.canceled", pi)
    return pi


@route("GET", "/v1/payment_intents", {**LIST, "customer": string})
def list_all(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    customer = p.get("customer")
    return em.list_objects(
        "payment_intent",
        p,
        "/v1/payment_intents",
        lambda pi: customer is None or pi["customer"] == customer,
    )
