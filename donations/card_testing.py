"""Counting every declined card attempt, and stopping a card tester once they pass the
limits (the counters are donations.ratelimit's).

Each `payment_intent.payment_failed` Stripe sends is one attempt, with its own failed
charge: we count every one, deduplicated by that charge, whether or not the gift's status
changed (a second decline on an already failed gift changes nothing in our table, but is
one more card tried). The page's own decline report names the same charge, so an attempt
heard from both counts once.

Once an IP or an email passes the decline limit, its gifts still open at Stripe are
cancelled there, so a tester cannot go on confirming cards against intents they already
hold (Stripe accepts new cards on an open PaymentIntent for as long as it lives).
"""

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from donations import gateway, ratelimit, reconcile
from donations.models import Donation, RecurringDonation

log = logging.getLogger(__name__)

_OPEN = [Donation.Status.PENDING, Donation.Status.FAILED]


def attempt_identity(payment_intent: Mapping[str, Any], *, fallback: str = "") -> str:
    """One attempt's name, the same whoever reports it: the PaymentIntent and the charge
    the attempt made (Stripe puts it on last_payment_error). `fallback` (the webhook
    event's id) names an attempt that made no charge."""
    error = payment_intent.get("last_payment_error") or {}
    error = error if isinstance(error, Mapping) else {}
    charge = reconcile.stripe_id(error.get("charge"))
    method = reconcile.stripe_id(error.get("payment_method"))
    return f"{reconcile.stripe_id(payment_intent.get('id'))}:{charge or fallback or method}"


def is_card_decline(payment_intent: Mapping[str, Any]) -> bool:
    error = payment_intent.get("last_payment_error") or {}
    return isinstance(error, Mapping) and error.get("type") == "card_error"


def count_attempt(
    *, donation: Donation, payment_intent: Mapping[str, Any], ip_digest: str, fallback: str = ""
) -> ratelimit.DeclineCount | None:
    """Count this declined attempt against the IP and the gift's email; past a limit,
    cancel the open gifts of that IP or email (after commit, in a task)."""
    counted = ratelimit.record_decline(
        ip_digest=ip_digest,
        email=donation.supporter.email,
        attempt=attempt_identity(payment_intent, fallback=fallback),
    )
    if counted is not None and (counted.ip_over or counted.email_over):
        from donations import tasks

        ip = ip_digest if counted.ip_over else ""
        supporter_id = donation.supporter_id if counted.email_over else None
        transaction.on_commit(
            lambda: tasks.cancel_open_gifts.delay(ip_digest=ip, supporter_id=supporter_id)
        )
    return counted


def count_webhook_decline(*, payment_intent: Mapping[str, Any], event_id: str) -> None:
    """A `payment_intent.payment_failed` from Stripe: one more attempt, even when the
    page never reports it (a script confirming intents itself). A renewal, or a gift
    whose starting IP we no longer remember, is not card testing from the form."""
    if not is_card_decline(payment_intent):
        return
    pi_id = reconcile.stripe_id(payment_intent.get("id"))
    donation = (
        Donation.objects.select_related("supporter").filter(stripe_payment_intent_id=pi_id).first()
        if pi_id
        else None
    )
    if donation is None:
        return
    ip_digest = ratelimit.ip_digest_of(donation.pk)
    if ip_digest:
        count_attempt(
            donation=donation, payment_intent=payment_intent, ip_digest=ip_digest, fallback=event_id
        )


def _gifts_to_cancel(*, ip_digest: str, supporter_id: int | None) -> list[Donation]:
    pks = set(ratelimit.gifts_started_from(ip_digest)) if ip_digest else set()
    since = timezone.now() - timedelta(seconds=settings.DONATION_LIMIT_WINDOW_SECONDS)
    query = Donation.objects.filter(pk__in=pks)
    if supporter_id is not None:
        query = Donation.objects.filter(pk__in=pks) | Donation.objects.filter(
            supporter_id=supporter_id, created_at__gte=since
        )
    return list(
        query.filter(status__in=_OPEN, stripe_payment_intent_id__isnull=False)
        .select_related("recurring")
        .distinct()
    )


def _cancel_at_stripe(donation: Donation) -> None:
    recurring = donation.recurring
    if recurring is not None and recurring.stripe_subscription_id:
        # A subscription's first PaymentIntent belongs to its invoice, which Stripe will
        # not let us cancel directly: cancelling the incomplete subscription closes it.
        if recurring.status == RecurringDonation.Status.INCOMPLETE:
            reconcile.sync_subscription(
                subscription=gateway.cancel_subscription(recurring.stripe_subscription_id)
            )
        return
    reconcile.sync_payment_intent(
        payment_intent=gateway.cancel_payment_intent(donation.stripe_payment_intent_id)
    )


def cancel_open_gifts(*, ip_digest: str = "", supporter_id: int | None = None) -> int:
    """Cancel at Stripe the open gifts started from this IP (by digest) or for this
    supporter's email within the window; returns how many were cancelled."""
    cancelled = 0
    for donation in _gifts_to_cancel(ip_digest=ip_digest, supporter_id=supporter_id):
        try:
            _cancel_at_stripe(donation)
            cancelled += 1
        except gateway.InvalidRequestError as error:
            # Already succeeded, processing or cancelled meanwhile: nothing left to stop.
            log.info("could not cancel donation %s: %s", donation.public_id, error)
    if cancelled:
        log.warning("card testing: cancelled %s open gifts at Stripe", cancelled)
    return cancelled
