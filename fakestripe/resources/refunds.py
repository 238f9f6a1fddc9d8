"""Refunds: /v1/refunds (card refunds succeed at once, as in Stripe's test mode; a test
can make one fail later with Emulator.fail_refund, as a closed card does)."""

from typing import Any

from fakestripe import errors
from fakestripe.params import LIST, enum, integer, metadata, string
from fakestripe.resources import balance
from fakestripe.resources.common import merge_metadata
from fakestripe.routing import route

CREATE = {
    "charge": string,
    "payment_intent": string,
    "amount": integer,
    "reason": enum("duplicate", "fraudulent", "requested_by_customer"),
    "metadata": metadata,
    "instructions_email": string,
}


def _money(amount: int, currency: str) -> str:
    symbol = {"usd": "$", "cad": "$", "gbp": "£", "eur": "€"}.get(currency, "")
    return f"{symbol}{amount / 100:,.2f}"


def _charge_for(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    if p.get("charge"):
        return em.get("charge", p["charge"], param="charge")
    if p.get("payment_intent"):
        pi = em.get(
            "payment_intent", p["payment_intent"], param="payment_intent", label="payment_intent"
        )
        if pi["status"] != "succeeded" or not pi["latest_charge"]:
            raise errors.StripeError(
                400,
                f"This PaymentIntent ({pi['id']}) does not have a successful charge to refund.",
                code="charge_not_refundable" if pi["status"] == "canceled" else None,
                param="payment_intent",
            )
        return em.objects[pi["latest_charge"]]
    raise errors.StripeError(
        400,
        "One of the following params should be provided for this request: payment_intent or charge.",
        code="parameter_missing",
    )


@route("POST", "/v1/refunds", CREATE)
def create(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    charge = _charge_for(em, p)
    if charge["status"] != "succeeded":
        raise errors.StripeError(
            400, f"Charge {charge['id']} has not succeeded and cannot be refunded.", param="charge"
        )
    remaining = charge["amount"] - charge["amount_refunded"]
    if charge["refunded"] or remaining <= 0:
        raise errors.StripeError(
            400, f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
        )
    if charge["disputed"]:
        dispute = em.secret_of(charge["id"]).get("dispute")
        if dispute and em.objects[dispute]["status"] not in ("won", "lost", "warning_closed"):
            raise errors.StripeError(
                400,
                f"Charge {charge['id']} has been charged back; you cannot issue a refund while a "
                "dispute is open.",
                code="charge_disputed",
            )
    amount = p.get("amount", remaining)
    if amount <= 0:
        raise errors.StripeError(400, "Invalid positive integer", param="amount")
    if amount > remaining:
        against = "unrefunded amount on charge" if charge["amount_refunded"] else "charge amount"
        raise errors.StripeError(
            400,
            f"Refund amount ({_money(amount, charge['currency'])}) is greater than {against} "
            f"({_money(remaining, charge['currency'])})",
            code="amount_too_large",
            param="amount",
        )
    refund_id = em.new_id("re")
    txn = balance.record(
        em,
        kind="refund",
        amount=-amount,
        fee=0,
        currency=charge["currency"],
        source=refund_id,
        description="REFUND FOR CHARGE",
        available_after=0,
    )
    refund = {
        "amount": amount,
        "balance_transaction": txn["id"],
        "charge": charge["id"],
        "created": em.now(),
        "currency": charge["currency"],
        "destination_details": {"card": {"type": "reversal"}, "type": "card"},
        "id": refund_id,
        "metadata": merge_metadata({}, p.get("metadata", {})),
        "object": "refund",
        "payment_intent": charge["payment_intent"],
        "reason": p.get("reason"),
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
        "customer": charge["customer"],
        "customer_account": None,
        "payment_method": charge["payment_method"],
    }
    em.store(refund)
    previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
    charge["refunds"]["data"].insert(0, refund)
    em.emit("refund.created", refund)
    em.emit("charge.refunded", charge, previous)
    return refund


def fail(em: Any, refund_id: str, *, reason: str = "expired_or_canceled_card") -> dict[str, Any]:
    """A refund that succeeded fails later (the card was closed, say), as Stripe reports
    it days after: the money comes back to the balance with a `refund_failure` balance
    transaction, the charge's refunded total falls, and refund.updated and refund.failed
    are sent."""
    refund = em.get("refund", refund_id)
    if refund["status"] == "failed":
        raise errors.StripeError(400, f"Refund {refund_id} has already failed.")
    charge = em.objects[refund["charge"]]
    txn = balance.record(
        em,
        kind="refund_failure",
        amount=refund["amount"],
        fee=0,
        currency=refund["currency"],
        source=refund_id,
        description="REFUND FAILURE",
        available_after=0,
    )
    # Stripe shows failure_reason and failure_balance_transaction only on a failed refund.
    previous = {"status": refund["status"]}
    refund["status"] = "failed"
    refund["failure_reason"] = reason
    refund["failure_balance_transaction"] = txn["id"]
    charge["amount_refunded"] -= refund["amount"]
    charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
    em.emit("refund.updated", refund, previous)
    em.emit("refund.failed", refund, previous)
    return refund


@route("GET", "/v1/refunds/{refund_id}")
def retrieve(em: Any, p: dict[str, Any], refund_id: str) -> dict[str, Any]:
    return em.get("refund", refund_id)


@route("POST", "/v1/refunds/{refund_id}", {"metadata": metadata})
def update(em: Any, p: dict[str, Any], refund_id: str) -> dict[str, Any]:
    refund = em.get("refund", refund_id)
    if "metadata" in p:
        previous = {"metadata": refund["metadata"]}
        refund["metadata"] = merge_metadata(refund["metadata"], p["metadata"])
        em.emit("refund.updated", refund, previous)
    return refund


@route("GET", "/v1/refunds", {**LIST, "charge": string, "payment_intent": string})
def list_all(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    def keep(refund: dict[str, Any]) -> bool:
        if p.get("charge") and refund["charge"] != p["charge"]:
            return False
        return not (p.get("payment_intent") and refund["payment_intent"] != p["payment_intent"])

    return em.list_objects("refund", p, "/v1/refunds", keep)


@route("GET", "/v1/charges/{charge_id}/refunds", LIST)
def list_for_charge(em: Any, p: dict[str, Any], charge_id: str) -> dict[str, Any]:
    em.get("charge", charge_id)
    return em.list_objects(
        "refund",
        p,
        f"/v1/charges/{charge_id}/refunds",
        lambda refund: refund["charge"] == charge_id,
    )
