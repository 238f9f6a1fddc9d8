"""What receipts do when something happens to a gift (see donations.hooks).

Each listener runs inside its outbox row's transaction (donations.outbox) and does the
work itself: the services lock the gift and read its current state, so facts arriving
twice or out of order converge on the same receipts. Rendering and email follow as their
own rows (ReceiptEmail) and tasks, enqueued after commit.
"""

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from donations.hooks import GiftEvent, GiftFact, finds_missed, listen
from donations.models import Donation
from receipts import services
from receipts.models import Receipt, ReceiptProblem

log = logging.getLogger(__name__)

# Stripe's dispute statuses at close: "won" and "warning_closed" (an inquiry that never
# became a chargeback) leave the money with us; "lost" returns it to the donor.
DISPUTE_KEPT = {"won", "warning_closed"}
MISSED_BATCH = 1000


@listen(GiftFact.SUCCEEDED)
def issue_receipt(event: GiftEvent) -> None:
    if event.donation_id:
        services.issue_gift_receipt(donation_id=event.donation_id)


@listen(GiftFact.REFUNDED)
def void_or_replace_receipt(event: GiftEvent) -> None:
    if event.donation_id:
        services.apply_refund(donation_id=event.donation_id)


@listen(GiftFact.DISPUTE_OPENED)
def hold_receipt(event: GiftEvent) -> None:
    if event.donation_id:
        services.hold_for_dispute(donation_id=event.donation_id)


@listen(GiftFact.DISPUTE_CLOSED)
def settle_receipt(event: GiftEvent) -> None:
    outcome = event.details.get("outcome")
    if not event.donation_id:
        return
    if outcome in DISPUTE_KEPT or outcome == "lost":
        services.close_dispute(donation_id=event.donation_id, won=outcome in DISPUTE_KEPT)
    else:
        log.warning(
            "dispute on donation %s closed with unknown outcome %r; receipt stays held",
            event.donation_id,
            outcome,
        )


def _settled_before() -> datetime:
    # A gift that succeeded a moment ago has its row in flight; only older ones are missed.
    return timezone.now() - timedelta(seconds=settings.GIFT_CONSEQUENCE_STUCK_AFTER_SECONDS)


def _lookback() -> datetime:
    return timezone.now() - timedelta(days=settings.GIFT_OUTBOX_LOOKBACK_DAYS)


@finds_missed(issue_receipt)
def gifts_without_a_receipt() -> Iterator[GiftEvent]:
    """Succeeded gifts with money kept that never had a receipt and have no problem open
    saying why not (a gift whose receipt staff voided had one, and gets no new one)."""
    missing = (
        Donation.objects.filter(
            status__in=services.RECEIPTABLE,
            amount__gt=F("amount_refunded"),
            succeeded_at__lt=_settled_before(),
            succeeded_at__gte=_lookback(),
        )
        .filter(
            ~Exists(Receipt.objects.filter(donation=OuterRef("pk"), kind=Receipt.Kind.GIFT)),
            ~Exists(
                ReceiptProblem.objects.filter(donation=OuterRef("pk"), resolved_at__isnull=True)
            ),
        )
        .values_list("pk", "supporter_id", "recurring_id")
    )
    for donation_id, supporter_id, recurring_id in missing[:MISSED_BATCH]:
        yield GiftEvent(
            fact=GiftFact.SUCCEEDED,
            supporter_id=supporter_id,
            donation_id=donation_id,
            recurring_donation_id=recurring_id,
            details={"found_by": "sweep"},
        )


@finds_missed(void_or_replace_receipt)
def receipts_behind_their_refunds() -> Iterator[GiftEvent]:
    """Live receipts for more than the gift now keeps (a refund's consequence was lost)."""
    stale = (
        Receipt.objects.filter(kind=Receipt.Kind.GIFT, status__in=services.LIVE)
        .exclude(amount_received=F("donation__amount") - F("donation__amount_refunded"))
        .filter(
            donation__amount_refunded__gt=0,
            donation__updated_at__lt=_settled_before(),
            donation__updated_at__gte=_lookback(),
        )
        .values_list("donation_id", "supporter_id")
    )
    for donation_id, supporter_id in stale[:MISSED_BATCH]:
        yield GiftEvent(
            fact=GiftFact.REFUNDED,
            supporter_id=supporter_id,
            donation_id=donation_id,
            details={"found_by": "sweep"},
        )
