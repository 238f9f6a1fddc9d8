"""Payouts: /v1/payouts, and the daily automatic payout on the emulator clock.

Each day (when the clock passes midnight UTC) the available balance is paid out: one
payout groups every available, not-yet-paid balance transaction (so
`GET /v1/balance_transactions?payout=po_...` lists them), arrives the next day, and then
`payout.paid` is sent. As at Stripe, an automatic payout's list of transactions is complete
only once its `reconciliation_status` is `completed`: that comes a little after it is paid,
with `payout.reconciliation_completed`.
"""

from typing import Any

from fakestripe import errors
from fakestripe.params import LIST, enum, integer, metadata, string
from fakestripe.resources import balance
from fakestripe.resources.common import merge_metadata
from fakestripe.routing import route

DAY = 86400
# How long after arriving an automatic payout's reconciliation completes here (Stripe gives
# no figure; it is "shortly after", and an app must not rely on it being at once).
RECONCILIATION_DELAY = 3600


def create_payout(
    em: Any,
    *,
    amount: int | None = None,
    currency: str = "usd",
    automatic: bool = True,
    description: str = "STRIPE PAYOUT",
    meta: dict[str, str] | None = None,
) -> dict[str, Any] | None:
    sweep = [
        em.objects[i]
        for i in em.by_type.get("balance_transaction", [])
        if em.objects[i]["status"] == "available"
        and em.objects[i]["type"] != "payout"
        and em.objects[i]["currency"] == currency
        and em.secret_of(i).get("payout") is None
    ]
    total = sum(txn["net"] for txn in sweep)
    if amount is None:
        amount = total
        if amount <= 0:
            return None
    elif amount > total:
        raise errors.StripeError(
            400,
            "You have insufficient funds in your Stripe account for this transfer. Your card "
            "balance is too low. You can use the /v1/balance endpoint to view your Stripe balance "
            "(for more details, see stripe.com/docs/api#balance).",
            code="balance_insufficient",
            param="amount",
        )
    payout_id = em.new_id("po")
    txn = balance.record(
        em,
        kind="payout",
        amount=-amount,
        fee=0,
        currency=currency,
        source=payout_id,
        description=description,
        available_after=0,
    )
    now = em.now()
    payout = {
        "amount": amount,
        "application_fee": None,
        "application_fee_amount": None,
        "arrival_date": now + DAY,
        "automatic": automatic,
        "balance_transaction": txn["id"],
        "created": now,
        "currency": currency,
        "description": description,
        "destination": "ba_1EmulatorBankAcct000",
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "id": payout_id,
        "livemode": False,
        "metadata": dict(meta or {}),
        "method": "standard",
        "object": "payout",
        "original_payout": None,
        "reconciliation_status": "in_progress" if automatic else "not_applicable",
        "reversed_by": None,
        "source_type": "card",
        "statement_descriptor": None,
        "status": "pending",
        "type": "bank_account",
        "trace_id": {"status": "pending", "value": None},
        "payout_method": None,
    }
    em.store(payout)
    em.secret_of(txn["id"])["payout"] = payout_id
    if automatic:
        for swept in sweep:
            em.secret_of(swept["id"])["payout"] = payout_id
    em.emit("payout.created", payout)
    previous = {"status": "pending"}
    payout["status"] = "in_transit"
    em.emit("payout.updated", payout, previous)
    em.clock.at(payout["arrival_date"], lambda: _arrive(em, payout_id))
    return payout


def _arrive(em: Any, payout_id: str) -> None:
    payout = em.objects[payout_id]
    if payout["status"] != "in_transit":
        return
    previous = {"status": "in_transit"}
    payout["status"] = "paid"
    payout["trace_id"] = {"status": "supported", "value": "FAKE" + payout_id[-10:].upper()}
    em.emit("payout.updated", payout, previous)
    em.emit("payout.paid", payout)
    if payout["automatic"]:
        em.clock.at(em.now() + RECONCILIATION_DELAY, lambda: _reconcile(em, payout_id))


def _reconcile(em: Any, payout_id: str) -> None:
    payout = em.objects[payout_id]
    if payout["reconciliation_status"] != "in_progress":
        return
    payout["reconciliation_status"] = "completed"
    em.emit("payout.updated", payout, {"reconciliation_status": "in_progress"})
    em.emit("payout.reconciliation_completed", payout)


def charge_account_fee(em: Any, *, amount: int, description: str, currency: str = "usd") -> dict:
    """A fee Stripe takes from the balance outside any charge (Billing, Radar, Connect): a
    `stripe_fee` balance transaction that the next payout sweeps with the gifts."""
    return balance.record(
        em,
        kind="stripe_fee",
        amount=-amount,
        fee=0,
        currency=currency,
        source=None,
        description=description,
    )


def schedule_daily(em: Any) -> None:
    """Arm the next midnight's automatic payout (re-arms itself)."""
    midnight = (em.now() // DAY + 1) * DAY

    def run() -> None:
        if em.automatic_payouts:
            create_payout(em)
        schedule_daily(em)

    em.clock.at(midnight, run)


@route(
    "POST",
    "/v1/payouts",
    {
        "amount": integer,
        "currency": string,
        "description": string,
        "metadata": metadata,
        "method": enum("standard", "instant"),
        "statement_descriptor": string,
    },
)
def create(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    if p.get("amount") is None:
        raise errors.missing_parameter("amount")
    if p.get("currency") is None:
        raise errors.missing_parameter("currency")
    if p["amount"] <= 0:
        raise errors.StripeError(400, "Invalid positive integer", param="amount")
    payout = create_payout(
        em,
        amount=p["amount"],
        currency=p["currency"].lower(),
        automatic=False,
        description=p.get("description") or "STRIPE PAYOUT",
        meta=merge_metadata({}, p.get("metadata", {})),
    )
    assert payout is not None
    return payout


@route("GET", "/v1/payouts/{payout_id}")
def retrieve(em: Any, p: dict[str, Any], payout_id: str) -> dict[str, Any]:
    return em.get("payout", payout_id)


@route(
    "GET",
    "/v1/payouts",
    {
        **LIST,
        "status": enum("pending", "paid", "failed", "canceled", "in_transit"),
        "arrival_date": LIST["created"],
        "destination": string,
    },
)
def list_all(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    return em.list_objects(
        "payout",
        p,
        "/v1/payouts",
        lambda payout: not p.get("status") or payout["status"] == p["status"],
    )
