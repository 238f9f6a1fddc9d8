"""What receipts do when something happens to a gift (see donations.hooks).

Each listener only enqueues a task: the hook runs them after the gift's transaction
commits, and the tasks lock the gift and read its current state, so facts arriving
twice or out of order converge on the same receipts.
"""

import logging

from donations.hooks import GiftEvent, GiftFact, listen
from receipts import tasks

log = logging.getLogger(__name__)

# Stripe's dispute statuses at close: "won" and "warning_closed" (an inquiry that never
# became a chargeback) leave the money with us; "lost" returns it to the donor.
DISPUTE_KEPT = {"won", "warning_closed"}


@listen(GiftFact.SUCCEEDED)
def issue_receipt(event: GiftEvent) -> None:
    if event.donation_id:
        tasks.issue_receipt.delay(event.donation_id)


@listen(GiftFact.REFUNDED)
def void_or_replace_receipt(event: GiftEvent) -> None:
    if event.donation_id:
        tasks.apply_refund.delay(event.donation_id)


@listen(GiftFact.DISPUTE_OPENED)
def hold_receipt(event: GiftEvent) -> None:
    if event.donation_id:
        tasks.hold_receipt.delay(event.donation_id)


@listen(GiftFact.DISPUTE_CLOSED)
def settle_receipt(event: GiftEvent) -> None:
    outcome = event.details.get("outcome")
    if not event.donation_id:
        return
    if outcome in DISPUTE_KEPT or outcome == "lost":
        tasks.close_dispute.delay(event.donation_id, outcome in DISPUTE_KEPT)
    else:
        log.warning(
            "dispute on donation %s closed with unknown outcome %r; receipt stays held",
            event.donation_id,
            outcome,
        )
