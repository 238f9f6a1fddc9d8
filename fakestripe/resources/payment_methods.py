"""PaymentMethods: /v1/payment_methods (cards only, from Stripe's test card numbers)."""

import hashlib
from typing import Any

from fakestripe import cards, errors
from fakestripe.params import ADDRESS, PAGE, enum, integer, metadata, string
from fakestripe.resources.common import address, apply_update, merge_metadata
from fakestripe.routing import route

BILLING_DETAILS = {"address": ADDRESS, "email": string, "name": string, "phone": string}
CARD = {"number": string, "exp_month": integer, "exp_year": integer, "cvc": string, "token": string}
CREATE = {
    "type": enum("card"),
    "card": CARD,
    "billing_details": BILLING_DETAILS,
    "metadata": metadata,
    "allow_redisplay": enum("always", "limited", "unspecified"),
    "customer": string,
    "payment_method": string,
}


def card_error(code: str, decline_code: str | None, **extra: Any) -> errors.StripeError:
    return errors.StripeError(
        402,
        cards.decline_message(code, decline_code),
        type="card_error",
        code=code,
        decline_code=decline_code,
        param=cards.ERROR_PARAMS.get(code),
        extra=extra,
    )


def build(
    em: Any,
    card: cards.TestCard,
    *,
    exp_month: int = 12,
    exp_year: int | None = None,
    billing: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A new card PaymentMethod; a number Stripe refuses outright fails here (402)."""
    if card.invalid:
        code, message = card.invalid
        raise errors.StripeError(402, message, type="card_error", code=code, param="number")
    year = exp_year if exp_year is not None else 2034
    if not 1 <= exp_month <= 12:
        raise errors.StripeError(
            402,
            "Your card's expiration month is invalid.",
            type="card_error",
            code="invalid_expiry_month",
            param="exp_month",
        )
    if year < 100:
        year += 2000
    billing = billing or {}
    pm = {
        "allow_redisplay": "unspecified",
        "billing_details": {
            "address": address(billing.get("address")),
            "email": billing.get("email"),
            "name": billing.get("name"),
            "phone": billing.get("phone"),
            "tax_id": None,
        },
        "card": {
            "brand": card.brand,
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": "unchecked",
            },
            "country": card.country,
            "display_brand": card.brand,
            "exp_month": exp_month,
            "exp_year": year,
            "fingerprint": hashlib.sha256(card.number.encode()).hexdigest()[:16],
            "funding": card.funding,
            "generated_from": None,
            "last4": card.last4,
            "networks": {"available": [card.brand], "preferred": None},
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
            "regulated_status": "unregulated",
        },
        "created": em.now(),
        "customer": None,
        "id": em.new_id("pm"),
        "livemode": False,
        "metadata": {},
        "object": "payment_method",
        "type": "card",
        "customer_account": None,
    }
    em.store(pm)
    em.secret_of(pm["id"])["card"] = card
    return pm


def test_card(em: Any, pm_id: str) -> cards.TestCard:
    return em.secret_of(pm_id)["card"]


def resolve(em: Any, pm_id: Any, *, param: str = "payment_method") -> dict[str, Any]:
    """An existing PaymentMethod, or a fresh one for a `pm_card_visa` style alias."""
    if isinstance(pm_id, str) and pm_id in cards.PAYMENT_METHOD_ALIASES:
        return build(em, cards.CARDS[cards.PAYMENT_METHOD_ALIASES[pm_id]])
    return em.get("payment_method", pm_id, param=param, label="PaymentMethod")


def attach(
    em: Any, pm_id: str, customer_id: str, *, param: str = "payment_method"
) -> dict[str, Any]:
    pm = resolve(em, pm_id, param=param)
    em.get("customer", customer_id, param="customer")
    if pm["customer"] == customer_id:
        return pm
    if pm["customer"] is not None:
        raise errors.StripeError(
            400,
            "The payment method you provided has already been attached to a customer.",
            param=param,
        )
    card = test_card(em, pm["id"])
    # Stripe verifies a card on attach: a declining card refuses to attach, while
    # 4000 0000 0000 0341 attaches and only fails when charged.
    if card.decline and not card.fails_after_attach:
        code, decline_code = card.decline
        raise card_error(code, decline_code)
    pm["customer"] = customer_id
    em.emit("payment_method.attached", pm)
    return pm


@route("POST", "/v1/payment_methods", CREATE, publishable=True)
def create(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    if p.get("payment_method"):
        # Cloning a platform PaymentMethod (Connect) is out of scope; say so clearly.
        raise errors.StripeError(
            400, "Cloning PaymentMethods is not supported by the emulator.", param="payment_method"
        )
    if not p.get("type"):
        raise errors.missing_parameter("type")
    card = p.get("card")
    if not card:
        raise errors.missing_parameter("card")
    if card.get("token"):
        number = cards.PAYMENT_METHOD_ALIASES.get(card["token"])
        if number is None:
            raise errors.no_such("token", card["token"], "card[token]")
    else:
        for name in ("number", "exp_month", "exp_year"):
            if card.get(name) in (None, ""):
                raise errors.missing_parameter(f"card[{name}]")
        number = card["number"]
    pm = build(
        em,
        cards.lookup(number),
        exp_month=card.get("exp_month", 12),
        exp_year=card.get("exp_year"),
        billing=p.get("billing_details"),
    )
    if "metadata" in p:
        pm["metadata"] = merge_metadata({}, p["metadata"])
    if p.get("allow_redisplay"):
        pm["allow_redisplay"] = p["allow_redisplay"]
    if p.get("customer"):
        attach(em, pm["id"], p["customer"], param="customer")
    return pm


@route("GET", "/v1/payment_methods/{pm_id}")
def retrieve(em: Any, p: dict[str, Any], pm_id: str) -> dict[str, Any]:
    return resolve(em, pm_id, param="id")


@route(
    "POST",
    "/v1/payment_methods/{pm_id}",
    {
        "billing_details": BILLING_DETAILS,
        "metadata": metadata,
        "allow_redisplay": CREATE["allow_redisplay"],
        "card": {"exp_month": integer, "exp_year": integer},
    },
)
def update(em: Any, p: dict[str, Any], pm_id: str) -> dict[str, Any]:
    pm = resolve(em, pm_id, param="id")
    changes: dict[str, Any] = {}
    if "metadata" in p:
        changes["metadata"] = merge_metadata(pm["metadata"], p["metadata"])
    if "billing_details" in p:
        details = dict(pm["billing_details"])
        for key, value in p["billing_details"].items():
            details[key] = address(value) if key == "address" else (value or None)
        changes["billing_details"] = details
    if "card" in p:
        card = dict(pm["card"])
        card.update(p["card"])
        changes["card"] = card
    if p.get("allow_redisplay"):
        changes["allow_redisplay"] = p["allow_redisplay"]
    previous = apply_update(pm, changes)
    if previous:
        em.emit("payment_method.updated", pm, previous)
    return pm


@route("POST", "/v1/payment_methods/{pm_id}/attach", {"customer": string})
def attach_route(em: Any, p: dict[str, Any], pm_id: str) -> dict[str, Any]:
    if not p.get("customer"):
        raise errors.missing_parameter("customer")
    return attach(em, pm_id, p["customer"], param="payment_method")


@route("POST", "/v1/payment_methods/{pm_id}/detach")
def detach(em: Any, p: dict[str, Any], pm_id: str) -> dict[str, Any]:
    pm = resolve(em, pm_id, param="id")
    if pm["customer"] is None:
        raise errors.StripeError(
            400,
            "The payment method you provided is not attached to a customer so detachment is impossible.",
            param="payment_method",
        )
    customer = em.objects.get(pm["customer"])
    if customer and customer["invoice_settings"]["default_payment_method"] == pm["id"]:
        customer["invoice_settings"]["default_payment_method"] = None
    pm["customer"] = None
    em.emit("payment_method.detached", pm)
    return pm


LIST_SPEC = {**PAGE, "customer": string, "type": enum("card")}


@route("GET", "/v1/payment_methods", LIST_SPEC)
def list_all(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    if p.get("customer"):
        em.get("customer", p["customer"], param="customer")
    customer = p.get("customer")
    return em.list_objects(
        "payment_method",
        p,
        "/v1/payment_methods",
        lambda pm: pm["customer"] is not None and (customer is None or pm["customer"] == customer),
    )


@route("GET", "/v1/customers/{cid}/payment_methods", {**PAGE, "type": enum("card")})
def list_for_customer(em: Any, p: dict[str, Any], cid: str) -> dict[str, Any]:
    em.get("customer", cid)
    return em.list_objects(
        "payment_method",
        p,
        f"/v1/customers/{cid}/payment_methods",
        lambda pm: pm["customer"] == cid,
    )
