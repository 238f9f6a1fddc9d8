"""Bring our gifts in line with what Stripe says about them.

Every function here takes a Stripe object (an SDK object or the plain dict from a webhook
payload), finds our row and moves it forward. They are the only writers of payment
status, called by the webhook handlers and by the checkout's return page alike, so:

- **Idempotent.** Applying the same object twice changes nothing the second time, and a
  fact (a gift succeeded, a refund grew) is announced through `donations.hooks` only by
  the call that actually moved the row.
- **Order-independent.** A late, older object never rolls a status back: donations move
  only along `Donation.TRANSITIONS` (and payment-intent news never touches a gift that
  is already settled, refunded or disputed); refund totals only grow; a subscription
  applies an event only if it is not older than the newest one applied
  (`last_event_created`), and never leaves `canceled` or returns to `incomplete`, which
  Stripe itself never does.
- **Race-safe without row locks.** Each write is a compare-and-set:
  `filter(pk=..., status=<what we read>, ...).update(...)`, re-read and retried when
  another worker got there first. Filters never use a value that may be null.
- **Tolerant.** Fields are read with defaults; a new or missing field breaks nothing.

Our rows are found by the public UUIDs the checkout puts in Stripe metadata
(`donation_id`, `recurring_donation_id`), else by the Stripe ids stored on them. When the
metadata names a row that does not exist yet (the request writing it has not committed),
`RowNotYetWritten` is raised so the caller's task retries later.

Recurring gifts: the checkout writes the RecurringDonation and the Donation for the first
payment. The first invoice (`billing_reason=subscription_create`) is matched to that
Donation by its `stripe_invoice_id`, its PaymentIntent id, the subscription metadata's
`donation_id`, or, failing those, the recurring gift's one payment without an invoice yet.
Every later invoice becomes its own Donation on the RecurringDonation, keyed by
`stripe_invoice_id`.
"""

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from donations import gateway, ledger
from donations.hooks import GiftEvent, GiftFact, announce
from donations.models import AuditEntry, Donation, RecurringDonation

log = logging.getLogger(__name__)

StripeThing = Mapping[str, Any] | Any  # a plain dict or a stripe.StripeObject


class RowNotYetWritten(Exception):
    """Stripe names one of our rows that is not in the database yet; try again later."""


class ConcurrentUpdate(Exception):
    """Another worker kept changing the row under us; the task should retry."""


# --- Reading Stripe objects -----------------------------------------------------------


def plain(obj: StripeThing | None) -> dict:
    """A plain dict for a Stripe SDK object, a dict, or None."""
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        return dict(obj)
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        # for_json: the SDK parses decimal strings into Decimal, which a JSONField cannot store.
        return to_dict(for_json=True)
    raise TypeError(f"not a Stripe object: {type(obj).__name__}")


def stripe_id(value: Any) -> str:
    """The id of a field that is either an id string or an expanded object ('' if absent)."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        found = value.get("id")
        return found if isinstance(found, str) else ""
    return ""


def _metadata_uuid(obj: Mapping, key: str) -> uuid.UUID | None:
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping):
        return None
    value = metadata.get(key)
    if not value:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _timestamp(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if isinstance(value, int) and value > 0 else None


def _text(value: Any, limit: int) -> str:
    return str(value)[:limit] if value else ""


# --- Moving a donation ----------------------------------------------------------------

# Payment-intent news only concerns a gift that is not settled yet.
_UNSETTLED = {Donation.Status.PENDING, Donation.Status.PROCESSING, Donation.Status.FAILED}


Announcer = Callable[[Any, Any], None]  # (row now, row before), inside the change's transaction


def _change_donation(
    donation: Donation,
    decide: Callable[[Donation], dict[str, Any] | None],
    *,
    then: Announcer | None = None,
) -> tuple[Donation, Donation | None]:
    """Apply `decide(current row)`'s changes with compare-and-set on status and refunds.

    `then(now, before)` runs in the same transaction as a change that landed: the facts
    it announces are written as outbox rows (donations.hooks) that commit with the change
    or not at all. Returns (row now, row before) where `before` is None when nothing
    changed.
    """
    for _ in range(8):
        changes = decide(donation)
        if not changes:
            return donation, None
        with transaction.atomic():
            updated = Donation.objects.filter(
                pk=donation.pk, status=donation.status, amount_refunded=donation.amount_refunded
            ).update(**changes, updated_at=timezone.now())
            if updated:
                now = Donation.objects.get(pk=donation.pk)
                if then is not None:
                    then(now, donation)
                return now, donation
        donation = Donation.objects.get(pk=donation.pk)
    raise ConcurrentUpdate(f"donation {donation.pk} kept changing")


def _announce(fact: GiftFact, donation: Donation, **details: Any) -> None:
    announce(
        GiftEvent(
            fact=fact,
            supporter_id=donation.supporter_id,
            donation_id=donation.pk,
            recurring_donation_id=donation.recurring_id,
            details=details,
        )
    )


def _announce_status_change(donation: Donation, before: Donation) -> None:
    if before.status == donation.status:
        return
    if donation.status == Donation.Status.SUCCEEDED and before.status in _UNSETTLED:
        _announce(GiftFact.SUCCEEDED, donation)
    elif donation.status == Donation.Status.FAILED:
        _announce(
            GiftFact.FAILED,
            donation,
            failure_code=donation.failure_code,
            failure_message=donation.failure_message,
        )


def _find_row(model, *, public_id: uuid.UUID | None, label: str, **stripe_ids: str):
    """Our row by the UUID we put in Stripe's metadata, else by the Stripe ids it stores,
    in that order; None when nothing names one of ours. A UUID of ours that finds no row
    means the row is still being written (the checkout commits it first): retry later."""
    lookups = [{"public_id": public_id}] if public_id is not None else []
    lookups += [{field: value} for field, value in stripe_ids.items() if value]
    for lookup in lookups:
        found = model.objects.filter(**lookup).first()
        if found is not None:
            return found
    if public_id is not None:
        raise RowNotYetWritten(f"{label} {public_id} is not written yet")
    return None


def _find_donation(
    obj: Mapping, *, payment_intent_id: str = "", charge_id: str = ""
) -> Donation | None:
    return _find_row(
        Donation,
        public_id=_metadata_uuid(obj, "donation_id"),
        label="donation",
        stripe_payment_intent_id=payment_intent_id,
        stripe_charge_id=charge_id,
    )


def _target_status(payment_intent: Mapping) -> str | None:
    status = payment_intent.get("status")
    if status == "succeeded":
        return Donation.Status.SUCCEEDED
    if status == "processing":
        return Donation.Status.PROCESSING
    if status == "canceled":
        return Donation.Status.CANCELED
    if status == "requires_payment_method" and payment_intent.get("last_payment_error"):
        return Donation.Status.FAILED
    return None  # requires_action, requires_confirmation...: the donor is still at it


def _payment_intent_changes(donation: Donation, pi: Mapping) -> dict[str, Any] | None:
    target = _target_status(pi)
    if target is None or donation.status not in _UNSETTLED or not donation.can_become(target):
        return None
    changes: dict[str, Any] = {"status": target}
    pi_id = stripe_id(pi.get("id"))
    if pi_id and not donation.stripe_payment_intent_id:
        changes["stripe_payment_intent_id"] = pi_id
    charge_id = stripe_id(pi.get("latest_charge"))
    if charge_id and charge_id != donation.stripe_charge_id:
        changes["stripe_charge_id"] = charge_id
    if target == Donation.Status.SUCCEEDED:
        changes.update(succeeded_at=timezone.now(), failure_code="", failure_message="")
        received = _int(pi.get("amount_received"))
        if received and received != donation.amount:
            # Stripe's figure is what the receipt and the tiers count.
            changes.update(amount=received, fee_covered=min(donation.fee_covered, received))
    elif target == Donation.Status.FAILED:
        error = pi.get("last_payment_error") or {}
        error = error if isinstance(error, Mapping) else {}
        changes["failure_code"] = _text(error.get("decline_code") or error.get("code"), 100)
        changes["failure_message"] = _text(error.get("message"), 500)
        if (
            donation.status == Donation.Status.FAILED
            and changes["failure_code"] == donation.failure_code
            and changes["failure_message"] == donation.failure_message
            and len(changes) == 3
        ):
            return None  # the same decline again: nothing new
    return changes


def sync_payment_intent(
    *, payment_intent: StripeThing, event_created: int | None = None
) -> Donation | None:
    """Move the gift this PaymentIntent pays for to the status Stripe reports.

    Returns None for a PaymentIntent that is not one of ours (or a renewal's, which the
    invoice brings in). `event_created` is accepted for symmetry: donations are guarded
    by their state machine, which already refuses every backwards move.
    """
    pi = plain(payment_intent)
    donation = _find_donation(pi, payment_intent_id=stripe_id(pi.get("id")))
    if donation is None:
        return None
    donation, _ = _change_donation(
        donation, lambda row: _payment_intent_changes(row, pi), then=_announce_status_change
    )
    return donation


# --- Refunds and disputes -------------------------------------------------------------


def _refund_changes(donation: Donation, total_refunded: int) -> dict[str, Any] | None:
    total = min(total_refunded, donation.amount)
    if total <= donation.amount_refunded:
        return None  # refunds only grow; an older, smaller total is stale
    changes: dict[str, Any] = {"amount_refunded": total}
    if donation.status != Donation.Status.DISPUTED:
        target = (
            Donation.Status.REFUNDED
            if total >= donation.amount
            else Donation.Status.PARTIALLY_REFUNDED
        )
        if donation.can_become(target):
            changes["status"] = target
    return changes


def _refund_failure_changes(donation: Donation, total_refunded: int) -> dict[str, Any] | None:
    total = max(0, min(total_refunded, donation.amount))
    if total >= donation.amount_refunded:
        return None  # already lowered (a repeated or reordered refund.failed)
    changes: dict[str, Any] = {"amount_refunded": total}
    if donation.status in {Donation.Status.REFUNDED, Donation.Status.PARTIALLY_REFUNDED}:
        target = Donation.Status.PARTIALLY_REFUNDED if total else Donation.Status.SUCCEEDED
        if target != donation.status and donation.can_become(target):
            changes["status"] = target
    return changes


def apply_refund_total(*, donation: Donation, amount_refunded: int) -> Donation:
    """Record that `amount_refunded` (the charge's running total) has gone back to the donor."""

    def announce_refund(now: Donation, before: Donation) -> None:
        _announce(
            GiftFact.REFUNDED,
            now,
            amount_refunded=now.amount_refunded,
            fully_refunded=now.amount_refunded >= now.amount,
        )

    donation, _ = _change_donation(
        donation, lambda row: _refund_changes(row, amount_refunded), then=announce_refund
    )
    return donation


def _donation_behind_charge(
    obj: Mapping, *, payment_intent_id: str, charge_id: str
) -> Donation | None:
    """The gift a refund or dispute is about, with its success applied first.

    News of a refund or dispute proves the charge succeeded. When Stripe delivers it
    before the success itself (it does not promise order), the success is applied now from
    Stripe's current objects, so the refund or dispute lands on a settled gift instead of
    being dropped: the PaymentIntent for a gift of ours, the invoice for a renewal whose
    Donation the invoice has not written yet.
    """
    donation = _find_donation(obj, payment_intent_id=payment_intent_id, charge_id=charge_id)
    if donation is None and charge_id and not payment_intent_id:
        payment_intent_id = stripe_id(
            plain(gateway.retrieve_charge(charge_id)).get("payment_intent")
        )
    if donation is None and payment_intent_id:
        payment_intent = plain(gateway.retrieve_payment_intent(payment_intent_id))
        donation = sync_payment_intent(payment_intent=payment_intent)
        if donation is None:
            invoice_id = gateway.invoice_id_for_payment_intent(payment_intent_id)
            if invoice_id:
                invoice = plain(gateway.retrieve_invoice(invoice_id))
                donation = apply_invoice(invoice=invoice, paid=invoice.get("status") == "paid")
    if donation is not None and donation.status in _UNSETTLED:
        intent_id = donation.stripe_payment_intent_id or payment_intent_id
        if intent_id:
            payment_intent = plain(gateway.retrieve_payment_intent(intent_id))
            donation = sync_payment_intent(payment_intent=payment_intent) or donation
    return donation


def apply_charge_refunded(*, charge: StripeThing) -> Donation | None:
    """A charge was refunded (in part or whole): totals, status and ledger rows."""
    data = plain(charge)
    donation = _donation_behind_charge(
        data,
        payment_intent_id=stripe_id(data.get("payment_intent")),
        charge_id=stripe_id(data.get("id")),
    )
    if donation is None:
        return None
    charge_id = stripe_id(data.get("id"))
    total = _int(data.get("amount_refunded"))
    if charge_id:
        # The charge as it is now, not as the event saw it: a refund that has failed
        # since must not be counted again by a late charge.refunded.
        total = _int(plain(gateway.retrieve_charge(charge_id)).get("amount_refunded"))
    donation = apply_refund_total(donation=donation, amount_refunded=total)
    if charge_id:
        for refund in gateway.list_refunds(charge_id=charge_id):
            ledger.record_refund(refund=plain(refund), donation=donation)
    return donation


def apply_refund(*, refund: StripeThing) -> Donation | None:
    """A refund was created or updated: the ledger row, then the charge's running total."""
    data = plain(refund)
    charge_id = stripe_id(data.get("charge"))
    donation = _donation_behind_charge(
        data, payment_intent_id=stripe_id(data.get("payment_intent")), charge_id=charge_id
    )
    if donation is None:
        return None
    ledger.record_refund(refund=data, donation=donation)
    if charge_id:
        # The refund alone does not say what the charge's total refunded is now.
        charge = plain(gateway.retrieve_charge(charge_id))
        total = _int(charge.get("amount_refunded"))
        donation = apply_refund_total(donation=donation, amount_refunded=total)
        if data.get("status") == "failed":
            donation = _apply_refund_failure(donation=donation, amount_refunded=total)
    return donation


def _apply_refund_failure(*, donation: Donation, amount_refunded: int) -> Donation:
    """A refund failed (refund.failed): the money is ours again, so the refunded total
    falls to the charge's current one and the gift's status follows. Announced as a
    refund fact, so the receipts re-read the gift and replace a voided receipt."""
    donation, before = _change_donation(
        donation, lambda row: _refund_failure_changes(row, amount_refunded)
    )
    if before is not None:
        _announce(
            GiftFact.REFUNDED,
            donation,
            amount_refunded=donation.amount_refunded,
            fully_refunded=donation.amount_refunded >= donation.amount,
            refund_failed=True,
        )
    return donation


# Inquiries (warning_*) take no money, so they do not mark the gift disputed.
_DISPUTE_OPEN = {"needs_response", "under_review"}


def _dispute_changes(donation: Donation, dispute_status: str) -> dict[str, Any] | None:
    if dispute_status in _DISPUTE_OPEN or dispute_status == "lost":
        target = Donation.Status.DISPUTED
    elif dispute_status == "won":
        if donation.status != Donation.Status.DISPUTED:
            return None
        target = (
            Donation.Status.PARTIALLY_REFUNDED
            if donation.amount_refunded
            else Donation.Status.SUCCEEDED
        )
    else:
        return None
    if donation.status == target or not donation.can_become(target):
        return None
    return {"status": target}


def apply_dispute(*, dispute: StripeThing, closing: bool = False) -> Donation | None:
    """Mirror a dispute on its gift: ledger rows for its balance transactions and the status.

    Reads the dispute's current state from Stripe, so an opening event delivered after the
    closing one cannot reopen it. `closing` is True for the charge.dispute.closed event,
    which announces the outcome (once: the inbox processes each event once).
    """
    data = plain(dispute)
    dispute_id = stripe_id(data.get("id"))
    if dispute_id:
        data = plain(gateway.retrieve_dispute(dispute_id))
    donation = _donation_behind_charge(
        data,
        payment_intent_id=stripe_id(data.get("payment_intent")),
        charge_id=stripe_id(data.get("charge")),
    )
    if donation is None:
        return None
    for transaction_ in data.get("balance_transactions") or []:
        ledger.record_dispute_transaction(
            balance_transaction=plain(transaction_), dispute_id=dispute_id, donation=donation
        )
    status = str(data.get("status") or "")

    def announce_dispute(now: Donation, before: Donation) -> None:
        if now.status == Donation.Status.DISPUTED:
            _announce(
                GiftFact.DISPUTE_OPENED,
                now,
                dispute_id=dispute_id,
                reason=str(data.get("reason") or ""),
            )

    donation, _ = _change_donation(
        donation, lambda row: _dispute_changes(row, status), then=announce_dispute
    )
    if closing and status in {"won", "lost"}:
        _announce(GiftFact.DISPUTE_CLOSED, donation, dispute_id=dispute_id, outcome=status)
    return donation


# --- Subscriptions and their invoices -------------------------------------------------

_SUBSCRIPTION_STATUS = {
    "incomplete": RecurringDonation.Status.INCOMPLETE,
    "incomplete_expired": RecurringDonation.Status.CANCELED,
    "trialing": RecurringDonation.Status.ACTIVE,
    "active": RecurringDonation.Status.ACTIVE,
    "past_due": RecurringDonation.Status.PAST_DUE,
    "unpaid": RecurringDonation.Status.UNPAID,
    # Stripe's own status "paused" is its automatic pause after failed payments, not the
    # donor's pause (pause_collection on an active subscription, below).
    "paused": RecurringDonation.Status.PAYMENT_PAUSED,
    "canceled": RecurringDonation.Status.CANCELED,
}


def _find_recurring(
    *, public_id: uuid.UUID | None, subscription_id: str
) -> RecurringDonation | None:
    return _find_row(
        RecurringDonation,
        public_id=public_id,
        label="recurring donation",
        stripe_subscription_id=subscription_id,
    )


def _period_end(subscription: Mapping) -> datetime | None:
    # Since API 2025-03-31 the period lives on each subscription item.
    ends = [_int(subscription.get("current_period_end"))]
    items = subscription.get("items")
    if isinstance(items, Mapping):
        ends += [
            _int(item.get("current_period_end"))
            for item in items.get("data") or []
            if isinstance(item, Mapping)
        ]
    return _timestamp(max(ends))


def _subscription_changes(
    rd: RecurringDonation, sub: Mapping, event_created: int | None
) -> dict[str, Any] | None:
    target = _SUBSCRIPTION_STATUS.get(str(sub.get("status")))
    if target is None:
        return None
    if target == RecurringDonation.Status.ACTIVE and sub.get("pause_collection"):
        # Stripe leaves a subscription whose collection is paused "active"; for us the
        # gift is paused: no payments come until it is resumed.
        target = RecurringDonation.Status.PAUSED
    if event_created is not None and event_created < rd.last_event_created:
        return None  # an older event than one already applied
    if (
        rd.status == RecurringDonation.Status.CANCELED
        and target != RecurringDonation.Status.CANCELED
    ):
        return None  # Stripe never revives a canceled subscription
    if (
        target == RecurringDonation.Status.INCOMPLETE
        and rd.status != RecurringDonation.Status.INCOMPLETE
    ):
        return None  # nor does one return to incomplete
    changes: dict[str, Any] = {
        "status": target,
        "cancel_at_period_end": bool(sub.get("cancel_at_period_end")),
    }
    period_end = _period_end(sub)
    if period_end is not None:
        changes["current_period_end"] = period_end
    if target == RecurringDonation.Status.CANCELED:
        changes["canceled_at"] = (
            _timestamp(sub.get("canceled_at")) or _timestamp(sub.get("ended_at")) or timezone.now()
        )
    sub_id = stripe_id(sub.get("id"))
    if sub_id and not rd.stripe_subscription_id:
        changes["stripe_subscription_id"] = sub_id
    if event_created is not None and event_created > rd.last_event_created:
        changes["last_event_created"] = event_created
    if all(getattr(rd, field) == value for field, value in changes.items()):
        return None
    return changes


def _change_recurring(
    rd: RecurringDonation,
    decide: Callable[[RecurringDonation], dict[str, Any] | None],
    *,
    then: Announcer | None = None,
) -> tuple[RecurringDonation, RecurringDonation | None]:
    """As _change_donation, for a recurring gift."""
    for _ in range(8):
        changes = decide(rd)
        if not changes:
            return rd, None
        with transaction.atomic():
            updated = RecurringDonation.objects.filter(
                pk=rd.pk,
                status=rd.status,
                last_event_created=rd.last_event_created,
                failure_count=rd.failure_count,
            ).update(**changes, updated_at=timezone.now())
            if updated:
                now = RecurringDonation.objects.get(pk=rd.pk)
                if then is not None:
                    then(now, rd)
                return now, rd
        rd = RecurringDonation.objects.get(pk=rd.pk)
    raise ConcurrentUpdate(f"recurring donation {rd.pk} kept changing")


def _announce_recurring(rd: RecurringDonation, before: RecurringDonation) -> None:
    if before.status == rd.status:
        return
    announce(
        GiftEvent(
            fact=GiftFact.RECURRING_CHANGED,
            supporter_id=rd.supporter_id,
            recurring_donation_id=rd.pk,
            details={"status": rd.status, "previous_status": before.status},
        )
    )


def sync_subscription(
    *, subscription: StripeThing, event_created: int | None = None
) -> RecurringDonation | None:
    """Mirror a Stripe subscription on its RecurringDonation.

    `event_created` is the `created` of the event that carried it; pass None for an
    object just fetched from Stripe (it is current, and the guards still apply).
    """
    sub = plain(subscription)
    rd = _find_recurring(
        public_id=_metadata_uuid(sub, "recurring_donation_id"),
        subscription_id=stripe_id(sub.get("id")),
    )
    if rd is None:
        return None
    rd, _ = _change_recurring(
        rd, lambda row: _subscription_changes(row, sub, event_created), then=_announce_recurring
    )
    return rd


def _invoice_subscription(invoice: Mapping) -> tuple[str, Mapping]:
    """The invoice's subscription id and that subscription's metadata (both API layouts)."""
    parent = invoice.get("parent")
    details = parent.get("subscription_details") if isinstance(parent, Mapping) else None
    details = details if isinstance(details, Mapping) else {}
    sub_id = stripe_id(details.get("subscription")) or stripe_id(invoice.get("subscription"))
    metadata = details.get("metadata")
    if not isinstance(metadata, Mapping):
        metadata = (
            invoice.get("subscription_details", {}).get("metadata")
            if isinstance(invoice.get("subscription_details"), Mapping)
            else None
        )
    return sub_id, metadata if isinstance(metadata, Mapping) else {}


def _invoice_payment_intent_id(invoice: Mapping) -> str:
    legacy = stripe_id(invoice.get("payment_intent"))
    if legacy:
        return legacy
    payments = invoice.get("payments")
    if isinstance(payments, Mapping):
        for payment in payments.get("data") or []:
            inner = payment.get("payment") if isinstance(payment, Mapping) else None
            if isinstance(inner, Mapping) and stripe_id(inner.get("payment_intent")):
                return stripe_id(inner.get("payment_intent"))
    invoice_id = stripe_id(invoice.get("id"))
    return gateway.invoice_payment_intent_id(invoice_id) if invoice_id else ""


def _recurring_for_invoice(invoice: Mapping) -> RecurringDonation | None:
    sub_id, metadata = _invoice_subscription(invoice)
    if not sub_id and not metadata:
        return None  # not a subscription's invoice
    public_id = _metadata_uuid({"metadata": metadata}, "recurring_donation_id")
    found = _find_recurring(public_id=public_id, subscription_id=sub_id)
    if found is None and public_id is None and sub_id:
        # An invoice without the subscription's metadata, for a subscription whose id we
        # have not saved yet (the checkout may still be writing it): ask the subscription.
        subscription = plain(gateway.retrieve_subscription(sub_id))
        found = _find_recurring(
            public_id=_metadata_uuid(subscription, "recurring_donation_id"), subscription_id=sub_id
        )
    return found


def _frequency(rd: RecurringDonation) -> str:
    return (
        Donation.Frequency.ANNUAL
        if rd.interval == RecurringDonation.Interval.YEAR
        else Donation.Frequency.MONTHLY
    )


def _existing_invoice_donation(
    rd: RecurringDonation, invoice: Mapping, pi_id: str
) -> Donation | None:
    """Our Donation for this invoice if one is written (a renewal's, or the first payment
    the checkout wrote), its invoice and PaymentIntent ids linked."""
    invoice_id = stripe_id(invoice.get("id"))
    found = Donation.objects.filter(stripe_invoice_id=invoice_id).first()
    if found is None and pi_id:
        found = Donation.objects.filter(stripe_payment_intent_id=pi_id).first()
    if found is None and invoice.get("billing_reason") == "subscription_create":
        _, metadata = _invoice_subscription(invoice)
        first_id = _metadata_uuid({"metadata": metadata}, "donation_id")
        if first_id is not None:
            found = Donation.objects.filter(public_id=first_id).first()
        if found is None:
            found = (
                rd.payments.filter(stripe_invoice_id__isnull=True).order_by("created_at").first()
            )
    if found is not None:
        link: dict[str, Any] = {}
        if not found.stripe_invoice_id:
            link["stripe_invoice_id"] = invoice_id
        if pi_id and not found.stripe_payment_intent_id:
            link["stripe_payment_intent_id"] = pi_id
        if link:
            # Match on the row's own pk; the ids are set once and are unique.
            Donation.objects.filter(pk=found.pk).update(**link, updated_at=timezone.now())
            found.refresh_from_db()
    return found


def _invoice_amount(invoice: Mapping, *, paid: bool) -> int:
    """Stripe's own figure: what was paid for a paid invoice, what was due for one that
    failed or waits. Never the recurring gift's amount: credit, coupons and credit notes
    make the two differ, down to nothing."""
    if paid:
        return _int(invoice.get("amount_paid"))
    return _int(invoice.get("amount_due")) or _int(invoice.get("amount_remaining"))


def _invoice_donation(
    rd: RecurringDonation, invoice: Mapping, pi_id: str, *, amount: int
) -> Donation:
    """Our Donation for this invoice, written now (for `amount`) if it is a renewal we
    have not seen."""
    found = _existing_invoice_donation(rd, invoice, pi_id)
    if found is not None:
        return found
    invoice_id = stripe_id(invoice.get("id"))
    try:
        with transaction.atomic():
            donation, _ = Donation.objects.get_or_create(
                stripe_invoice_id=invoice_id,
                defaults={
                    "supporter_id": rd.supporter_id,
                    "recurring": rd,
                    "frequency": _frequency(rd),
                    "amount": amount,
                    "fee_covered": min(rd.fee_covered, amount),
                    "currency": str(invoice.get("currency") or rd.currency),
                    "stripe_payment_intent_id": pi_id or None,
                    "campaign": rd.campaign,
                    "source": rd.source,
                },
            )
    except IntegrityError:
        # Another worker wrote it (by invoice id or PaymentIntent id) in the meantime.
        donation = Donation.objects.get(stripe_invoice_id=invoice_id)
    return donation


def _invoice_changes(
    donation: Donation, *, paid: bool, invoice: Mapping, payment_intent: Mapping
) -> dict[str, Any] | None:
    target = Donation.Status.SUCCEEDED if paid else Donation.Status.FAILED
    if donation.status not in _UNSETTLED or not donation.can_become(target):
        return None
    changes: dict[str, Any] = {"status": target}
    pi_id = stripe_id(payment_intent.get("id"))
    if pi_id and not donation.stripe_payment_intent_id:
        changes["stripe_payment_intent_id"] = pi_id
    charge_id = stripe_id(payment_intent.get("latest_charge"))
    if charge_id and not donation.stripe_charge_id:
        changes["stripe_charge_id"] = charge_id
    if paid:
        transitions = invoice.get("status_transitions")
        paid_at = (
            _timestamp(transitions.get("paid_at")) if isinstance(transitions, Mapping) else None
        )
        changes.update(succeeded_at=paid_at or timezone.now(), failure_code="", failure_message="")
        amount_paid = _invoice_amount(invoice, paid=True)
        if amount_paid and amount_paid != donation.amount:
            # The checkout wrote the first payment for the price; Stripe took what it
            # says it took (a coupon, credit applied), and the receipt prints that.
            changes.update(amount=amount_paid, fee_covered=min(donation.fee_covered, amount_paid))
        return changes
    error = payment_intent.get("last_payment_error")
    error = error if isinstance(error, Mapping) else {}
    changes["failure_code"] = _text(error.get("decline_code") or error.get("code"), 100)
    changes["failure_message"] = _text(error.get("message"), 500) or "The renewal payment failed."
    if donation.status == Donation.Status.FAILED and all(
        getattr(donation, field) == value for field, value in changes.items()
    ):
        return None
    return changes


def apply_invoice(*, invoice: StripeThing, paid: bool) -> Donation | None:
    """An invoice of a recurring gift was paid, or its payment failed.

    Each invoice is one Donation on the RecurringDonation. A paid one succeeds (announced
    once) and gets its ledger row; a failed one is kept as a failed payment and counts on
    the recurring gift, so staff see failed payments. Returns None for an invoice that
    belongs to no recurring gift of ours.
    """
    data = plain(invoice)
    rd = _recurring_for_invoice(data)
    if rd is None:
        return None
    pi_id = _invoice_payment_intent_id(data)
    if paid and _invoice_amount(data, paid=True) <= 0:
        _record_invoice_paid_without_money(rd, data, pi_id)
        _clear_failures(rd, data)
        return None
    pi = plain(gateway.retrieve_payment_intent(pi_id)) if pi_id else {}
    donation = _invoice_donation(rd, data, pi_id, amount=_invoice_amount(data, paid=paid))
    donation, _ = _change_donation(
        donation,
        lambda row: _invoice_changes(row, paid=paid, invoice=data, payment_intent=pi),
        then=_announce_status_change,
    )
    charge_id = stripe_id(pi.get("latest_charge"))
    if paid:
        if charge_id:
            ledger.record_charge(charge_id=charge_id, donation=donation)
        _clear_failures(rd, data)
    elif donation.status == Donation.Status.FAILED:
        attempts = max(_int(data.get("attempt_count"), 1), 1)
        _change_recurring(
            rd, lambda row: {"failure_count": attempts} if attempts > row.failure_count else None
        )
    return donation


def _clear_failures(rd: RecurringDonation, invoice: Mapping) -> None:
    # A paid invoice clears the failures, unless news of a newer subscription state
    # (a later renewal failing) has already been applied: then this one is stale.
    created = _int(invoice.get("created"))
    _change_recurring(
        rd,
        lambda row: (
            {"failure_count": 0}
            if row.failure_count and created >= row.last_event_created
            else None
        ),
    )


INVOICE_WITHOUT_MONEY = "invoice.paid_without_payment"


def _record_invoice_paid_without_money(rd: RecurringDonation, invoice: Mapping, pi_id: str) -> None:
    """An invoice Stripe marks paid with nothing charged (customer credit, a 100% coupon,
    a credit note, paid out of band) is no gift: no Donation succeeds, no receipt is
    issued, no tier counts it. The first payment the checkout wrote for it is cancelled,
    and the invoice is recorded in the audit trail so staff can see why a period has no
    payment. Idempotent: one record per invoice."""
    invoice_id = stripe_id(invoice.get("id"))
    found = _existing_invoice_donation(rd, invoice, pi_id)
    if found is not None:
        _change_donation(
            found,
            lambda row: (
                {
                    "status": Donation.Status.CANCELED,
                    "failure_code": "paid_without_payment",
                    "failure_message": "Stripe settled this invoice without a charge.",
                }
                if row.status in _UNSETTLED and row.can_become(Donation.Status.CANCELED)
                else None
            ),
        )
    if AuditEntry.objects.filter(action=INVOICE_WITHOUT_MONEY, object_id=invoice_id).exists():
        return
    AuditEntry.objects.create(
        action=INVOICE_WITHOUT_MONEY,
        object_type="donations.RecurringDonation",
        object_id=invoice_id,
        before={},
        after={
            "recurring_donation": rd.pk,
            "amount_due": _int(invoice.get("amount_due")),
            "amount_paid": _int(invoice.get("amount_paid")),
            "total": _int(invoice.get("total")),
            "starting_balance": _int(invoice.get("starting_balance")),
            "billing_reason": str(invoice.get("billing_reason") or ""),
        },
        reason="Stripe marked the invoice paid with nothing charged; no gift, no receipt.",
    )


def apply_succeeded_payment_ledger(*, donation: Donation) -> None:
    """The charge's ledger row for a succeeded gift (fee and net come from Stripe)."""
    if donation.stripe_charge_id:
        ledger.record_charge(charge_id=donation.stripe_charge_id, donation=donation)


def note_invoice_action_required(*, invoice: StripeThing) -> Donation | None:
    """A renewal waits for the donor to authenticate: keep the payment, say why it waits."""
    data = plain(invoice)
    rd = _recurring_for_invoice(data)
    if rd is None:
        return None
    donation = _invoice_donation(
        rd, data, _invoice_payment_intent_id(data), amount=_invoice_amount(data, paid=False)
    )

    def waiting(row: Donation) -> dict[str, Any] | None:
        if row.status not in _UNSETTLED or row.failure_code == "authentication_required":
            return None
        return {
            "failure_code": "authentication_required",
            "failure_message": "The donor's bank asks them to confirm this payment.",
        }

    donation, _ = _change_donation(donation, waiting)
    return donation
