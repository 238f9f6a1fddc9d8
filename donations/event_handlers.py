"""What each Stripe event type does: the dispatch table read by the inbox task.

A handler gets the stored event (a plain dict) and calls a service in
`donations.reconcile`; all of them are idempotent and tolerate any order, because Stripe
repeats and reorders deliveries. A type missing from HANDLERS is stored and ignored.
"""

import logging
from collections.abc import Callable, Mapping
from typing import Any

from donations import card_testing, gateway, ledger, reconcile
from donations.models import Donation

Event = Mapping[str, Any]
log = logging.getLogger(__name__)


def _object(event: Event) -> dict[str, Any]:
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    return dict(obj) if isinstance(obj, Mapping) else {}


def _created(event: Event) -> int | None:
    created = event.get("created")
    return created if isinstance(created, int) and not isinstance(created, bool) else None


def payment_intent_changed(event: Event) -> None:
    """succeeded, payment_failed, canceled, processing: the gift follows its PaymentIntent."""
    payment_intent = _object(event)
    donation = reconcile.sync_payment_intent(
        payment_intent=payment_intent, event_created=_created(event)
    )
    charge_id = reconcile.stripe_id(payment_intent.get("latest_charge"))
    if (
        donation is not None
        and payment_intent.get("status") == "succeeded"
        and charge_id
        and donation.status
        not in {Donation.Status.PENDING, Donation.Status.PROCESSING, Donation.Status.FAILED}
    ):
        ledger.record_charge(charge_id=charge_id, donation=donation)


def payment_intent_failed(event: Event) -> None:
    """A declined attempt: the gift follows its PaymentIntent, and the attempt counts
    toward the card-testing limits even when the gift was already failed."""
    payment_intent_changed(event)
    event_id = event.get("id")
    card_testing.count_webhook_decline(
        payment_intent=_object(event), event_id=event_id if isinstance(event_id, str) else ""
    )


def invoice_paid(event: Event) -> None:
    reconcile.apply_invoice(invoice=_object(event), paid=True)


def invoice_payment_failed(event: Event) -> None:
    reconcile.apply_invoice(invoice=_object(event), paid=False)


def invoice_payment_action_required(event: Event) -> None:
    """A renewal needs the donor to authenticate (3-D Secure): note it on the payment."""
    reconcile.note_invoice_action_required(invoice=_object(event))


def subscription_changed(event: Event) -> None:
    """created, updated, deleted: the recurring gift mirrors its subscription as it is now.

    The event's copy is the subscription as it was when the event was made, and our own
    actions (staff or the donor pausing, resuming, changing the amount) mirror Stripe's
    answer without any event time to order them by: an older event applied after such an
    action would undo it. So the subscription is fetched, and the event only says that it
    changed; if Stripe cannot be asked, the handler fails and the inbox retries it."""
    subscription = _object(event)
    subscription_id = reconcile.stripe_id(subscription.get("id"))
    if subscription_id:
        subscription = reconcile.plain(gateway.retrieve_subscription(subscription_id))
    reconcile.sync_subscription(subscription=subscription, event_created=_created(event))


def charge_refunded(event: Event) -> None:
    reconcile.apply_charge_refunded(charge=_object(event))


def refund_changed(event: Event) -> None:
    """created, updated, failed: a failed refund is reversed (see reconcile.apply_refund)."""
    reconcile.apply_refund(refund=_object(event))


def dispute_opened(event: Event) -> None:
    reconcile.apply_dispute(dispute=_object(event))


def dispute_closed(event: Event) -> None:
    reconcile.apply_dispute(dispute=_object(event), closing=True)


def payout_reconciled(event: Event) -> None:
    """Stamp the payout on the ledger rows it paid out, for the books' bank reconciliation.

    Stripe's list of an automatic payout's balance transactions is complete only once its
    reconciliation has completed (`payout.reconciliation_completed`), which may come after
    `payout.paid`; matching earlier would miss rows for good. So `payout.paid` matches only
    a payout that says it is already reconciled, and otherwise waits for that event.
    Manual payouts carry no list (`not_applicable`).
    """
    payout = _object(event)
    payout_id = reconcile.stripe_id(payout.get("id"))
    if not payout_id or payout.get("reconciliation_status") != "completed":
        return
    ledger.record_payout(
        payout_id=payout_id,
        balance_transactions=(
            reconcile.plain(bt)
            for bt in gateway.list_payout_balance_transactions(payout_id=payout_id)
        ),
    )
    amount = payout.get("amount")
    recorded = ledger.payout_net(payout_id=payout_id)
    if isinstance(amount, int) and recorded != amount:
        log.error(
            "Payout %s paid %s but its ledger rows net %s: check it in Stripe's dashboard.",
            payout_id,
            amount,
            recorded,
        )


HANDLERS: dict[str, Callable[[Event], None]] = {
    "payment_intent.succeeded": payment_intent_changed,
    "payment_intent.payment_failed": payment_intent_failed,
    "payment_intent.canceled": payment_intent_changed,
    "payment_intent.processing": payment_intent_changed,
    # invoice.payment_succeeded duplicates invoice.paid; one of them is enough.
    "invoice.paid": invoice_paid,
    "invoice.payment_failed": invoice_payment_failed,
    "invoice.payment_action_required": invoice_payment_action_required,
    "customer.subscription.created": subscription_changed,
    "customer.subscription.updated": subscription_changed,
    "customer.subscription.deleted": subscription_changed,
    "customer.subscription.paused": subscription_changed,
    "customer.subscription.resumed": subscription_changed,
    "charge.refunded": charge_refunded,
    "refund.created": refund_changed,
    "refund.updated": refund_changed,
    "refund.failed": refund_changed,
    "charge.dispute.created": dispute_opened,
    "charge.dispute.updated": dispute_opened,
    "charge.dispute.funds_withdrawn": dispute_opened,
    "charge.dispute.funds_reinstated": dispute_opened,
    "charge.dispute.closed": dispute_closed,
    "payout.paid": payout_reconciled,
    "payout.reconciliation_completed": payout_reconciled,
}
