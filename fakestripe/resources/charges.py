"""Charges (/v1/charges, read-only here: PaymentIntents make them)."""

from typing import Any

from fakestripe import cards
from fakestripe.params import LIST, string
from fakestripe.resources import balance
from fakestripe.resources.common import fee_for
from fakestripe.routing import route


def _card_details(pm: dict[str, Any], amount: int) -> dict[str, Any]:
    card = pm["card"]
    return {
        "card": {
            "amount_authorized": amount,
            "brand": card["brand"],
            "checks": dict(card["checks"], cvc_check="pass"),
            "country": card["country"],
            "exp_month": card["exp_month"],
            "exp_year": card["exp_year"],
            "extended_authorization": {"status": "disabled"},
            "fingerprint": card["fingerprint"],
            "funding": card["funding"],
            "incremental_authorization": {"status": "unavailable"},
            "installments": None,
            "last4": card["last4"],
            "mandate": None,
            "multicapture": {"status": "unavailable"},
            "network": card["brand"],
            "network_token": {"used": False},
            "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
            "three_d_secure": None,
            "wallet": None,
            "authorization_code": "123456",
            "regulated_status": "unregulated",
            "network_transaction_id": "1041029786787710",
            "transaction_link_id": None,
        },
        "type": "card",
    }


def create(
    em: Any,
    *,
    pi: dict[str, Any],
    pm: dict[str, Any],
    decline: tuple[str, str | None] | None,
    three_d_secure: bool = False,
) -> dict[str, Any]:
    """The charge a confirmation makes: succeeded with its balance transaction, or failed."""
    charge_id = em.new_id("ch")
    amount = pi["amount"]
    details = _card_details(pm, amount)
    if three_d_secure:
        details["card"]["three_d_secure"] = {
            "authentication_flow": "challenge",
            "electronic_commerce_indicator": "05",
            "exemption_indicator": None,
            "result": "authenticated",
            "result_reason": None,
            "transaction_id": em.new_id("3ds")[4:],
            "version": "2.2.0",
        }
    if decline is None:
        txn = balance.record(
            em,
            kind="charge",
            amount=amount,
            fee=fee_for(amount),
            currency=pi["currency"],
            source=charge_id,
            description=pi["description"],
        )
        outcome = {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network",
            "reason": None,
            "seller_message": "Payment complete.",
            "type": "authorized",
        }
    else:
        txn = None
        code, decline_code = decline
        outcome = {
            "advice_code": "try_again_later" if code == "processing_error" else "do_not_try_again",
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "declined_by_network",
            "reason": decline_code or code,
            "seller_message": "The bank did not return any further details with this decline.",
            "type": "issuer_declined",
        }
    charge = {
        "amount": amount,
        "amount_captured": amount if decline is None else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": txn["id"] if txn else None,
        "billing_details": pm["billing_details"],
        "calculated_statement_descriptor": "PLEDGE",
        "captured": decline is None,
        "created": em.now(),
        "currency": pi["currency"],
        "customer": pi["customer"],
        "description": pi["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None if decline is None else decline[0],
        "failure_message": None if decline is None else cards.decline_message(*decline),
        "fraud_details": {},
        "id": charge_id,
        "livemode": False,
        "metadata": dict(pi["metadata"]),
        "object": "charge",
        "on_behalf_of": None,
        "outcome": outcome,
        "paid": decline is None,
        "payment_intent": pi["id"],
        "payment_method": pm["id"],
        "payment_method_details": details,
        "receipt_email": pi["receipt_email"],
        "receipt_number": None,
        "receipt_url": f"https://pay.stripe.com/receipts/payment/{charge_id}",
        "refunded": False,
        "refunds": {
            "data": [],
            "has_more": False,
            "object": "list",
            "url": f"/v1/charges/{charge_id}/refunds",
        },
        "review": None,
        "shipping": None,
        "source_transfer": None,
        "statement_descriptor": pi["statement_descriptor"],
        "statement_descriptor_suffix": pi["statement_descriptor_suffix"],
        "status": "succeeded" if decline is None else "failed",
        "transfer_data": None,
        "transfer_group": None,
        "source": None,
    }
    em.store(charge)
    em.emit("charge.succeeded" if decline is None else "charge.failed", charge)
    return charge


@route("GET", "/v1/charges/{charge_id}")
def retrieve(em: Any, p: dict[str, Any], charge_id: str) -> dict[str, Any]:
    return em.get("charge", charge_id)


@route("GET", "/v1/charges", {**LIST, "customer": string, "payment_intent": string})
def list_all(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    def keep(charge: dict[str, Any]) -> bool:
        if p.get("customer") and charge["customer"] != p["customer"]:
            return False
        return not (p.get("payment_intent") and charge["payment_intent"] != p["payment_intent"])

    return em.list_objects("charge", p, "/v1/charges", keep)
