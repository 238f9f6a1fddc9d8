"""What Stripe.js does in the browser, for tests and the Stripe.js stand-in.

`confirm_with_card` is `stripe.confirmPayment` / `confirmSetup` with a typed card: it
creates the PaymentMethod and confirms the intent named by the client secret, recording
a decline on the intent (`last_payment_error`) rather than raising, as the browser sees it.
`complete_authentication` is the customer finishing (or failing) the 3-D Secure challenge.
"""

from typing import Any

from fakestripe import cards, errors
from fakestripe.resources import payment_intents, payment_methods, setup_intents


def intent_for_secret(em: Any, client_secret: str) -> dict[str, Any]:
    intent_id = client_secret.split("_secret_")[0]
    intent = em.objects.get(intent_id)
    if intent is None or intent.get("client_secret") != client_secret:
        raise errors.StripeError(
            400,
            "Invalid value for stripe.confirmPayment intent secret: value should be a client secret "
            "of the form ${id}_secret_${secret}.",
            code="resource_missing",
            param="client_secret",
        )
    return intent


def confirm_with_card(
    em: Any,
    client_secret: str,
    card_number: str,
    *,
    exp_month: int = 12,
    exp_year: int = 2034,
    cvc: str = "123",
    postal_code: str | None = None,
) -> dict[str, Any]:
    intent = intent_for_secret(em, client_secret)
    billing = {"address": {"postal_code": postal_code}} if postal_code else None
    try:
        pm = payment_methods.build(
            em, cards.lookup(card_number), exp_month=exp_month, exp_year=exp_year, billing=billing
        )
    except errors.StripeError as exc:
        # A number Stripe.js itself refuses never reaches the intent.
        intent = dict(intent)
        intent["last_payment_error"] = exc.error_dict()
        return intent
    params = {"payment_method": pm["id"]}
    if intent["object"] == "setup_intent":
        return setup_intents.confirm(em, intent, params, raise_card_errors=False)
    return payment_intents.confirm(em, intent, params, raise_card_errors=False)


def complete_authentication(em: Any, intent_id: str, *, succeed: bool = True) -> dict[str, Any]:
    intent = em.objects.get(intent_id)
    if intent is None or intent.get("object") not in ("payment_intent", "setup_intent"):
        raise errors.no_such("payment_intent", intent_id)
    if intent["status"] != "requires_action":
        raise errors.StripeError(
            400,
            f"This {intent['object']} does not require authentication (status {intent['status']}).",
            code="payment_intent_unexpected_state",
        )
    pm = em.objects[intent["payment_method"]]
    if not succeed:
        exc = errors.StripeError(
            402,
            "We are unable to authenticate your payment method. Please choose a different "
            "payment method and try again.",
            type="invalid_request_error",
            code="payment_intent_authentication_failure"
            if intent["object"] == "payment_intent"
            else "setup_intent_authentication_failure",
        )
        error = exc.error_dict()
        error.pop("request_log_url", None)
        error["payment_method"] = dict(pm)
        if intent["object"] == "payment_intent":
            intent.update(
                status="requires_payment_method",
                next_action=None,
                payment_method=None,
                last_payment_error=error,
            )
            em.emit("payment_intent.payment_failed", intent)
            payment_intents._notify_invoice(em, intent)
        else:
            intent.update(
                status="requires_payment_method",
                next_action=None,
                payment_method=None,
                last_setup_error=error,
            )
            em.emit("setup_intent.setup_failed", intent)
        return intent
    em.secret_of(intent_id)["authenticated"] = True
    if intent["object"] == "setup_intent":
        return setup_intents.finish(em, intent)
    return payment_intents.attempt(em, intent, raise_card_errors=False)
