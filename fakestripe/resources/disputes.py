"""Disputes: /v1/disputes, opened by the 0259 card or `Emulator.dispute_charge`.

Money moves as at Stripe in the US: opening a dispute withdraws the amount plus a $15.00
dispute fee; winning reinstates both; losing keeps the withdrawal.
"""

from typing import Any

from fakestripe import errors
from fakestripe.params import LIST, boolean, metadata, string
from fakestripe.resources import balance
from fakestripe.resources.common import merge_metadata
from fakestripe.routing import route
from fakestripe.snapshot import snapshot

DISPUTE_FEE = 1500
EVIDENCE_FIELDS = (
    "access_activity_log",
    "billing_address",
    "cancellation_policy",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_communication",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "customer_signature",
    "duplicate_charge_documentation",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "receipt",
    "refund_policy",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "service_documentation",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_documentation",
    "shipping_tracking_number",
    "uncategorized_file",
    "uncategorized_text",
)
OPEN = ("warning_needs_response", "warning_under_review", "needs_response", "under_review")


def open_dispute(em: Any, charge_id: str, *, reason: str = "fraudulent") -> dict[str, Any]:
    charge = em.get("charge", charge_id, param="charge")
    if charge["status"] != "succeeded":
        raise errors.StripeError(
            400, f"Charge {charge_id} has not succeeded and cannot be disputed."
        )
    if charge["disputed"]:
        raise errors.StripeError(400, f"Charge {charge_id} is already disputed.")
    amount = charge["amount"] - charge["amount_refunded"]
    dispute_id = em.new_id("dp")
    txn = balance.record(
        em,
        kind="adjustment",
        amount=-amount,
        fee=DISPUTE_FEE,
        currency=charge["currency"],
        source=dispute_id,
        description=f"Chargeback withdrawal for {charge_id}",
        available_after=0,
        fee_description="Dispute fee",
        reporting_category="dispute",
    )
    card = charge["payment_method_details"]["card"]
    dispute = {
        "amount": amount,
        "balance_transactions": [snapshot(txn)],
        "charge": charge_id,
        "created": em.now(),
        "currency": charge["currency"],
        "evidence": {**dict.fromkeys(EVIDENCE_FIELDS), "enhanced_evidence": {}},
        "evidence_details": {
            "due_by": em.now() + 21 * 86400,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
            "enhanced_eligibility": {},
        },
        "id": dispute_id,
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "object": "dispute",
        "payment_intent": charge["payment_intent"],
        "payment_method_details": {
            "card": {
                "brand": card["brand"],
                "case_type": "chargeback",
                "network_reason_code": "10.4",
                "network": card["network"],
            },
            "type": "card",
        },
        "reason": reason,
        "status": "needs_response",
        "enhanced_eligibility_types": [],
    }
    em.store(dispute)
    em.secret_of(charge_id)["dispute"] = dispute_id
    previous = {"disputed": False}
    charge["disputed"] = True
    em.emit("charge.dispute.created", dispute)
    em.emit("charge.dispute.funds_withdrawn", dispute)
    em.emit("charge.updated", charge, previous)
    return dispute


def settle(em: Any, dispute_id: str, *, status: str) -> dict[str, Any]:
    if status not in ("won", "lost"):
        raise errors.StripeError(400, "Invalid status: must be one of won or lost", param="status")
    dispute = em.get("dispute", dispute_id)
    if dispute["status"] not in OPEN:
        raise errors.StripeError(400, f"This dispute is already closed ({dispute['status']}).")
    dispute["status"] = status
    if status == "won":
        txn = balance.record(
            em,
            kind="adjustment",
            amount=dispute["amount"],
            fee=-DISPUTE_FEE,
            currency=dispute["currency"],
            source=dispute_id,
            description=f"Chargeback reversal for {dispute['charge']}",
            available_after=0,
            fee_description="Dispute fee refund",
            reporting_category="dispute_reversal",
        )
        dispute["balance_transactions"].append(snapshot(txn))
        em.emit("charge.dispute.funds_reinstated", dispute)
    em.emit("charge.dispute.closed", dispute)
    return dispute


@route("GET", "/v1/disputes/{dispute_id}")
def retrieve(em: Any, p: dict[str, Any], dispute_id: str) -> dict[str, Any]:
    return em.get("dispute", dispute_id)


@route(
    "POST",
    "/v1/disputes/{dispute_id}",
    {
        "metadata": metadata,
        "submit": boolean,
        "evidence": {name: string for name in EVIDENCE_FIELDS},
    },
)
def update(em: Any, p: dict[str, Any], dispute_id: str) -> dict[str, Any]:
    dispute = em.get("dispute", dispute_id)
    if dispute["status"] not in OPEN:
        raise errors.StripeError(400, "This dispute is already closed.")
    previous: dict[str, Any] = {}
    if "metadata" in p:
        previous["metadata"] = dispute["metadata"]
        dispute["metadata"] = merge_metadata(dispute["metadata"], p["metadata"])
    if p.get("evidence"):
        previous["evidence"] = snapshot(dispute["evidence"])
        dispute["evidence"].update({k: v or None for k, v in p["evidence"].items()})
        dispute["evidence_details"]["has_evidence"] = True
    if p.get("submit", True) and p.get("evidence"):
        previous["status"] = dispute["status"]
        dispute["status"] = "under_review"
        dispute["evidence_details"]["submission_count"] += 1
    if previous:
        em.emit("charge.dispute.updated", dispute, previous)
    return dispute


@route("POST", "/v1/disputes/{dispute_id}/close")
def close(em: Any, p: dict[str, Any], dispute_id: str) -> dict[str, Any]:
    """Accepting the dispute: Stripe closes it as lost."""
    return settle(em, dispute_id, status="lost")


@route("GET", "/v1/disputes", {**LIST, "charge": string, "payment_intent": string})
def list_all(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    def keep(dispute: dict[str, Any]) -> bool:
        if p.get("charge") and dispute["charge"] != p["charge"]:
            return False
        return not (p.get("payment_intent") and dispute["payment_intent"] != p["payment_intent"])

    return em.list_objects("dispute", p, "/v1/disputes", keep)
