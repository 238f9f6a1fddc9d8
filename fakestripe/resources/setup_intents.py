"""SetupIntents: /v1/setup_intents (save a card for later, e.g. a card-update link)."""

from typing import Any

from fakestripe import errors
from fakestripe.params import LIST, boolean, enum, metadata, string, string_list
from fakestripe.resources import payment_methods
from fakestripe.resources.common import apply_update, merge_metadata
from fakestripe.routing import route
from fakestripe.snapshot import snapshot

CONFIRM = {
    "payment_method": string,
    "payment_method_data": {
        "type": enum("card"),
        "card": payment_methods.CARD,
        "billing_details": payment_methods.BILLING_DETAILS,
    },
    "return_url": string,
    "client_secret": string,
    "use_stripe_sdk": boolean,
    "mandate_data": {
        "customer_acceptance": {
            "type": string,
            "online": {"ip_address": string, "user_agent": string},
        }
    },
}
CREATE = {
    # Stripe.js sends the client secret and raw card data; a secret-key create takes
    # neither (card numbers never reach the server).
    **{key: spec for key, spec in CONFIRM.items() if key != "client_secret"},
    "payment_method_data": {
        key: spec for key, spec in CONFIRM["payment_method_data"].items() if key != "card"
    },
    "customer": string,
    "description": string,
    "metadata": metadata,
    "usage": enum("off_session", "on_session"),
    "allowed_payment_method_types": string_list,
    "automatic_payment_methods": {"enabled": boolean, "allow_redirects": enum("always", "never")},
    "confirm": boolean,
}


def shape(em: Any) -> dict[str, Any]:
    seti_id = em.new_id("seti")
    return {
        "application": None,
        "automatic_payment_methods": {"enabled": True},
        "cancellation_reason": None,
        "client_secret": f"{seti_id}_secret_{em.new_id('x', 32)[2:]}",
        "created": em.now(),
        "customer": None,
        "description": None,
        "flow_directions": None,
        "id": seti_id,
        "last_setup_error": None,
        "latest_attempt": None,
        "livemode": False,
        "mandate": None,
        "metadata": {},
        "next_action": None,
        "object": "setup_intent",
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "single_use_mandate": None,
        "status": "requires_payment_method",
        "usage": "off_session",
        "excluded_payment_method_types": None,
    }


def _set_payment_method(em: Any, seti: dict[str, Any], p: dict[str, Any]) -> None:
    from fakestripe import cards

    if p.get("payment_method_data"):
        card = p["payment_method_data"].get("card") or {}
        if not card.get("number"):
            raise errors.missing_parameter("payment_method_data[card][number]")
        pm = payment_methods.build(
            em,
            cards.lookup(card["number"]),
            exp_month=card.get("exp_month", 12),
            exp_year=card.get("exp_year"),
            billing=p["payment_method_data"].get("billing_details"),
        )
        seti["payment_method"] = pm["id"]
    elif p.get("payment_method"):
        seti["payment_method"] = payment_methods.resolve(em, p["payment_method"])["id"]


def finish(em: Any, seti: dict[str, Any]) -> dict[str, Any]:
    """Authenticated (or no authentication needed): the card is saved for later use."""
    pm = em.objects[seti["payment_method"]]
    card = payment_methods.test_card(em, pm["id"])
    if card.decline and not card.fails_after_attach:
        exc = payment_methods.card_error(*card.decline)
        error = exc.error_dict()
        error.pop("request_log_url", None)
        error["payment_method"] = snapshot(pm)
        seti.update(
            status="requires_payment_method",
            payment_method=None,
            next_action=None,
            last_setup_error=error,
        )
        em.emit("setup_intent.setup_failed", seti)
        exc.extra = {"setup_intent": snapshot(seti)}
        raise exc
    if seti["usage"] == "off_session":
        em.secret_of(pm["id"])["set_up_off_session"] = True
    if seti["customer"] and pm["customer"] is None:
        pm["customer"] = seti["customer"]
        em.emit("payment_method.attached", pm)
    seti.update(status="succeeded", next_action=None, last_setup_error=None)
    em.emit("setup_intent.succeeded", seti)
    return seti


def confirm(
    em: Any, seti: dict[str, Any], p: dict[str, Any], *, raise_card_errors: bool = True
) -> dict[str, Any]:
    if seti["status"] not in (
        "requires_payment_method",
        "requires_confirmation",
        "requires_action",
    ):
        raise errors.StripeError(
            400,
            f"You cannot confirm this SetupIntent because it has a status of {seti['status']}.",
            code="setup_intent_unexpected_state",
            extra={"setup_intent": snapshot(seti)},
        )
    _set_payment_method(em, seti, p)
    if not seti["payment_method"]:
        raise errors.StripeError(
            400,
            "You cannot confirm this SetupIntent because it's missing a payment method.",
            code="setup_intent_unexpected_state",
        )
    card = payment_methods.test_card(em, seti["payment_method"])
    em.secret_of(seti["id"])["authenticated"] = False
    if card.three_d_secure:
        seti.update(
            status="requires_action",
            next_action={
                "type": "use_stripe_sdk",
                "use_stripe_sdk": {
                    "type": "three_d_secure_redirect",
                    "stripe_js": f"/_emulator/3ds/{seti['id']}",
                    "source": em.new_id("src"),
                },
            },
        )
        em.emit("setup_intent.requires_action", seti)
        return seti
    try:
        return finish(em, seti)
    except errors.StripeError:
        if raise_card_errors:
            raise
        return seti


@route("POST", "/v1/setup_intents", CREATE)
def create(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    seti = shape(em)
    if p.get("customer"):
        seti["customer"] = em.get("customer", p["customer"], param="customer")["id"]
    seti["description"] = p.get("description") or None
    seti["metadata"] = merge_metadata({}, p.get("metadata", {}))
    seti["usage"] = p.get("usage", "off_session")
    _set_payment_method(em, seti, p)
    if seti["payment_method"]:
        seti["status"] = "requires_confirmation"
    em.store(seti)
    em.emit("setup_intent.created", seti)
    if p.get("confirm"):
        confirm(em, seti, {})
    return seti


@route("GET", "/v1/setup_intents/{seti_id}", {"client_secret": string}, publishable=True)
def retrieve(em: Any, p: dict[str, Any], seti_id: str) -> dict[str, Any]:
    seti = em.get("setup_intent", seti_id, label="setupintent")
    _check_secret(em, seti, p)
    return seti


def _check_secret(em: Any, seti: dict[str, Any], p: dict[str, Any]) -> None:
    if em.current_key_is_publishable and p.get("client_secret") != seti["client_secret"]:
        raise errors.StripeError(
            400,
            "The client_secret provided does not match the client_secret associated with the SetupIntent.",
            code="setup_intent_invalid_parameter",
            param="client_secret",
        )


@route(
    "POST",
    "/v1/setup_intents/{seti_id}",
    {"metadata": metadata, "description": string, "customer": string, "payment_method": string},
)
def update(em: Any, p: dict[str, Any], seti_id: str) -> dict[str, Any]:
    seti = em.get("setup_intent", seti_id, label="setupintent")
    changes: dict[str, Any] = {}
    if "metadata" in p:
        changes["metadata"] = merge_metadata(seti["metadata"], p["metadata"])
    if "description" in p:
        changes["description"] = p["description"] or None
    if p.get("customer"):
        changes["customer"] = em.get("customer", p["customer"], param="customer")["id"]
    apply_update(seti, changes)  # Stripe sends no setup_intent.updated event
    if p.get("payment_method"):
        _set_payment_method(em, seti, p)
        if seti["status"] == "requires_payment_method":
            seti["status"] = "requires_confirmation"
    return seti


@route("POST", "/v1/setup_intents/{seti_id}/confirm", CONFIRM, publishable=True)
def confirm_route(em: Any, p: dict[str, Any], seti_id: str) -> dict[str, Any]:
    seti = em.get("setup_intent", seti_id, label="setupintent")
    _check_secret(em, seti, p)
    return confirm(em, seti, p)


@route(
    "POST",
    "/v1/setup_intents/{seti_id}/cancel",
    {"cancellation_reason": enum("abandoned", "duplicate", "requested_by_customer")},
)
def cancel(em: Any, p: dict[str, Any], seti_id: str) -> dict[str, Any]:
    seti = em.get("setup_intent", seti_id, label="setupintent")
    if seti["status"] in ("succeeded", "canceled"):
        raise errors.StripeError(
            400,
            f"You cannot cancel this SetupIntent because it has a status of {seti['status']}.",
            code="setup_intent_unexpected_state",
        )
    seti.update(status="canceled", cancellation_reason=p.get("cancellation_reason"))
    em.emit("setup_intent.canceled", seti)
    return seti


@route("GET", "/v1/setup_intents", {**LIST, "customer": string})
def list_all(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    customer = p.get("customer")
    return em.list_objects(
        "setup_intent",
        p,
        "/v1/setup_intents",
        lambda s: customer is None or s["customer"] == customer,
    )
