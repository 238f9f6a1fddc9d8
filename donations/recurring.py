"""Staff managing a recurring gift: change its amount, pause, resume, cancel.

Each action asks Stripe first and mirrors the answer through reconcile (the same code
the webhooks use, so a webhook arriving later changes nothing), then writes an
AuditEntry with the state before and after. A repeated click is refused by the state
checks (already paused, already that amount), not sent to Stripe twice.
"""

import uuid
from collections.abc import Callable

from django.conf import settings
from django.db import transaction

from donations import gateway
from donations.models import AuditEntry, RecurringDonation
from donations.reconcile import sync_subscription
from lib.money import format_money

# Statuses in which Stripe still has a live subscription to change.
LIVE = {
    RecurringDonation.Status.ACTIVE,
    RecurringDonation.Status.PAST_DUE,
    RecurringDonation.Status.PAUSED,
    RecurringDonation.Status.PAYMENT_PAUSED,
    RecurringDonation.Status.UNPAID,
}
PAUSED = {RecurringDonation.Status.PAUSED, RecurringDonation.Status.PAYMENT_PAUSED}


class ActionRefused(Exception):
    """The action does not apply to this recurring gift; the message says why."""


def _snapshot(recurring: RecurringDonation) -> dict:
    return {
        "status": recurring.status,
        "amount": recurring.amount,
        "cancel_at_period_end": recurring.cancel_at_period_end,
    }


def _require_live(recurring: RecurringDonation) -> None:
    if recurring.status not in LIVE or not recurring.stripe_subscription_id:
        raise ActionRefused(f"This recurring gift is {recurring.get_status_display()}.")


def _update(recurring: RecurringDonation, params: dict) -> Callable[[], gateway.Subscription]:
    return lambda: gateway.update_subscription(
        recurring.stripe_subscription_id, params=params, idempotency_key=str(uuid.uuid4())
    )


def _apply(
    *,
    recurring: RecurringDonation,
    actor,
    action: str,
    ask_stripe: Callable[[], gateway.Subscription],
    reason: str = "",
    **row,
) -> RecurringDonation:
    before = _snapshot(recurring)
    subscription = ask_stripe()
    with transaction.atomic():
        if row:
            RecurringDonation.objects.filter(pk=recurring.pk).update(**row)
        sync_subscription(subscription=subscription)
        recurring.refresh_from_db()
        AuditEntry.objects.create(
            actor=actor,
            action=action,
            object_type="recurring_donation",
            object_id=str(recurring.public_id),
            before=before,
            after=_snapshot(recurring),
            reason=reason,
        )
    return recurring


def recurring_change_amount(
    *, recurring: RecurringDonation, amount: int, actor, reason: str = ""
) -> RecurringDonation:
    """The new amount applies from the next payment: no proration, nothing charged now."""
    _require_live(recurring)
    if amount <= 0:
        raise ActionRefused("The amount must be more than zero.")
    # The same ceiling as the donation form: a slip of the keyboard on a recurring gift
    # would otherwise bill the donor every month.
    if amount > settings.DONATION_MAX_AMOUNT:
        raise ActionRefused(
            f"The amount can be at most {format_money(settings.DONATION_MAX_AMOUNT, recurring.currency)}."
        )
    if amount == recurring.amount:
        raise ActionRefused("That is already the amount.")
    item_id = gateway.subscription_item_id(recurring.stripe_subscription_id)
    params = {
        "items": [
            {
                "id": item_id,
                "price_data": {
                    "currency": recurring.currency,
                    "product": gateway.donation_product_id(),
                    "unit_amount": amount,
                    "recurring": {"interval": recurring.interval},
                },
            }
        ],
        "proration_behavior": "none",
    }
    # The fee cover was worked out for the old amount; it no longer applies.
    return _apply(
        recurring=recurring,
        actor=actor,
        action="recurring.change_amount",
        ask_stripe=_update(recurring, params),
        reason=reason,
        amount=amount,
        fee_covered=0,
    )


def recurring_pause(*, recurring: RecurringDonation, actor, reason: str = "") -> RecurringDonation:
    """Stop collecting (Stripe's pause_collection, invoices voided) until resumed."""
    _require_live(recurring)
    if recurring.status in PAUSED:
        raise ActionRefused("This recurring gift is already paused.")
    return _apply(
        recurring=recurring,
        actor=actor,
        action="recurring.pause",
        ask_stripe=_update(recurring, {"pause_collection": {"behavior": "void"}}),
        reason=reason,
    )


def recurring_resume(*, recurring: RecurringDonation, actor, reason: str = "") -> RecurringDonation:
    """The two pauses end differently: the donor's by clearing pause_collection (the
    period runs on); Stripe's after failed payments only by its resume call, which
    starts a new period and charges the card now."""
    if recurring.status not in PAUSED:
        raise ActionRefused("Only a paused recurring gift can be resumed.")
    if recurring.status == RecurringDonation.Status.PAYMENT_PAUSED:
        return _apply(
            recurring=recurring,
            actor=actor,
            action="recurring.resume_after_failed_payments",
            ask_stripe=lambda: gateway.resume_subscription(
                recurring.stripe_subscription_id, idempotency_key=str(uuid.uuid4())
            ),
            reason=reason,
        )
    return _apply(
        recurring=recurring,
        actor=actor,
        action="recurring.resume",
        ask_stripe=_update(recurring, {"pause_collection": ""}),  # "" clears it, as in Stripe
        reason=reason,
    )


def recurring_cancel(
    *, recurring: RecurringDonation, actor, at_period_end: bool, reason: str = ""
) -> RecurringDonation:
    """At period end, the donor's paid month runs out; now, nothing more is charged."""
    _require_live(recurring)
    if at_period_end:
        return _apply(
            recurring=recurring,
            actor=actor,
            action="recurring.cancel_at_period_end",
            ask_stripe=_update(recurring, {"cancel_at_period_end": True}),
            reason=reason,
        )
    return _apply(
        recurring=recurring,
        actor=actor,
        action="recurring.cancel",
        ask_stripe=lambda: gateway.cancel_subscription(recurring.stripe_subscription_id),
        reason=reason,
    )
