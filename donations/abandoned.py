"""Gifts started and never paid: after ABANDONED_GIFT_HOURS their PaymentIntent is
cancelled at Stripe and the pending Donation marked canceled, so the books and the
admin do not fill with ghosts, and an old client secret can no longer charge a card.

Subscriptions need nothing here: Stripe expires an incomplete subscription after 23
hours by itself, and its webhook marks the recurring gift canceled.
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from donations import gateway
from donations.models import Donation
from donations.reconcile import sync_payment_intent

log = logging.getLogger(__name__)


def abandoned_gifts():
    cutoff = timezone.now() - timedelta(hours=settings.ABANDONED_GIFT_HOURS)
    return Donation.objects.filter(
        status__in=[Donation.Status.PENDING, Donation.Status.FAILED],
        recurring__isnull=True,
        created_at__lt=cutoff,
    )


def cancel_abandoned_gift(donation: Donation) -> None:
    if not donation.stripe_payment_intent_id:
        # Stripe never saw it (it was down when the donor tried): nothing to cancel there.
        Donation.objects.filter(pk=donation.pk, status=donation.status).update(
            status=Donation.Status.CANCELED, updated_at=timezone.now()
        )
        return
    try:
        payment_intent = gateway.cancel_payment_intent(donation.stripe_payment_intent_id)
    except gateway.InvalidRequestError:
        # Already succeeded or canceled at Stripe: take Stripe's word for what it is.
        payment_intent = gateway.retrieve_payment_intent(donation.stripe_payment_intent_id)
    sync_payment_intent(payment_intent=payment_intent)


@shared_task(acks_late=True)
def cancel_abandoned_gifts() -> int:
    cancelled = 0
    for donation in abandoned_gifts().iterator():
        try:
            cancel_abandoned_gift(donation)
            cancelled += 1
        except gateway.StripeError:
            log.warning("could not cancel abandoned gift %s; next run tries again", donation.pk)
    return cancelled
