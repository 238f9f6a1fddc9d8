"""Balance transactions (/v1/balance_transactions) and the balance (/v1/balance).

Every money movement is one: a charge (gross, Stripe's fee, net), a refund, a dispute
withdrawal or reinstatement, a payout. Charges become available two days after they are
made (Stripe's standard US schedule); payouts then sweep available transactions.
"""

from typing import Any

from fakestripe.params import LIST, enum, string
from fakestripe.routing import route

AVAILABLE_AFTER_SECONDS = 2 * 86400
REPORTING = {
    "charge": "charge",
    "refund": "refund",
    "refund_failure": "refund_failure",
    "adjustment": "dispute",
    "payout": "payout",
    "stripe_fee": "fee",
}


def record(
    em: Any,
    *,
    kind: str,
    amount: int,
    fee: int,
    currency: str,
    source: str,
    description: str | None,
    available_after: int = AVAILABLE_AFTER_SECONDS,
    fee_description: str = "Stripe processing fees",
    reporting_category: str | None = None,
) -> dict[str, Any]:
    now = em.now()
    txn = {
        "amount": amount,
        "available_on": now + available_after,
        "created": now,
        "currency": currency,
        "description": description,
        "exchange_rate": None,
        "fee": fee,
        "fee_details": (
            [
                {
                    "amount": fee,
                    "application": None,
                    "currency": currency,
                    "description": fee_description,
                    "type": "stripe_fee",
                }
            ]
            if fee
            else []
        ),
        "id": em.new_id("txn"),
        "net": amount - fee,
        "object": "balance_transaction",
        "reporting_category": reporting_category or REPORTING.get(kind, kind),
        "source": source,
        "status": "pending" if available_after > 0 else "available",
        "type": kind,
        "balance_type": "payments",
    }
    em.store(txn)
    # Which payout swept this transaction (Stripe answers `?payout=po_...` from this).
    em.secret_of(txn["id"])["payout"] = None
    em.clock.at(txn["available_on"], lambda: _make_available(em, txn["id"]))
    return txn


def _make_available(em: Any, txn_id: str) -> None:
    em.objects[txn_id]["status"] = "available"


def available_balance(em: Any, currency: str = "usd") -> int:
    return sum(
        txn["net"]
        for txn in (em.objects[i] for i in em.by_type.get("balance_transaction", []))
        if txn["currency"] == currency
        and txn["status"] == "available"
        and em.secret_of(txn["id"]).get("payout") is None
        and txn["type"] != "payout"
    )


def pending_balance(em: Any, currency: str = "usd") -> int:
    return sum(
        txn["net"]
        for txn in (em.objects[i] for i in em.by_type.get("balance_transaction", []))
        if txn["currency"] == currency and txn["status"] == "pending" and txn["type"] != "payout"
    )


@route("GET", "/v1/balance_transactions/{txn_id}")
def retrieve(em: Any, p: dict[str, Any], txn_id: str) -> dict[str, Any]:
    return em.get("balance_transaction", txn_id, label="balance transaction")


@route(
    "GET",
    "/v1/balance_transactions",
    {
        **LIST,
        "payout": string,
        "source": string,
        "type": enum(
            "charge",
            "refund",
            "refund_failure",
            "adjustment",
            "payout",
            "payment",
            "payment_refund",
            "stripe_fee",
        ),
        "currency": string,
    },
)
def list_all(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    def keep(txn: dict[str, Any]) -> bool:
        if p.get("payout") and em.secret_of(txn["id"]).get("payout") != p["payout"]:
            return False
        if p.get("source") and txn["source"] != p["source"]:
            return False
        if p.get("type") and txn["type"] != p["type"]:
            return False
        return not (p.get("currency") and txn["currency"] != p["currency"])

    if p.get("payout"):
        em.get("payout", p["payout"], param="payout")
    return em.list_objects("balance_transaction", p, "/v1/balance_transactions", keep)


@route("GET", "/v1/balance")
def balance(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    available, pending = available_balance(em), pending_balance(em)
    return {
        "available": [
            {"amount": available, "currency": "usd", "source_types": {"card": available}}
        ],
        "connect_reserved": [{"amount": 0, "currency": "usd"}],
        "livemode": False,
        "object": "balance",
        "pending": [{"amount": pending, "currency": "usd", "source_types": {"card": pending}}],
    }
