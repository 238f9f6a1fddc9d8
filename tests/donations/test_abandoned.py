"""One-time gifts started and never paid are cancelled at Stripe after a day."""

from datetime import timedelta

import pytest
from django.utils import timezone

from donations.abandoned import cancel_abandoned_gifts
from donations.models import Donation
from tests.donations.gifts import start
from tests.factories import DonationFactory

pytestmark = pytest.mark.django_db


def age(donation: Donation, hours: int) -> None:
    Donation.objects.filter(pk=donation.pk).update(
        created_at=timezone.now() - timedelta(hours=hours)
    )


def stripe_status(emulator, donation: Donation) -> str:
    client = emulator.stripe_client("sk_test_emulator")
    return client.v1.payment_intents.retrieve(donation.stripe_payment_intent_id)["status"]


def test_a_day_old_unpaid_gift_is_cancelled_at_stripe_and_here(stripe_emulator):
    donation = start().donation
    age(donation, 25)
    assert cancel_abandoned_gifts() == 1
    donation.refresh_from_db()
    assert donation.status == Donation.Status.CANCELED
    assert stripe_status(stripe_emulator, donation) == "canceled"


def test_a_recent_unpaid_gift_is_left_alone(stripe_emulator):
    donation = start().donation
    age(donation, 2)
    assert cancel_abandoned_gifts() == 0
    donation.refresh_from_db()
    assert donation.status == Donation.Status.PENDING


def test_a_gift_paid_at_stripe_whose_webhook_never_came_is_marked_paid(stripe_emulator):
    started = start()
    stripe_emulator.confirm_with_card(started.client_secret, card_number="4242424242424242")
    donation = Donation.objects.get(pk=started.donation.pk)
    assert donation.status == Donation.Status.PENDING  # no webhook wired in this test
    age(donation, 25)
    cancel_abandoned_gifts()
    donation.refresh_from_db()
    assert donation.status == Donation.Status.SUCCEEDED


def test_a_gift_stripe_never_saw_is_cancelled_here(stripe_emulator):
    donation = DonationFactory(status=Donation.Status.PENDING, stripe_payment_intent_id=None)
    age(donation, 25)
    cancel_abandoned_gifts()
    donation.refresh_from_db()
    assert donation.status == Donation.Status.CANCELED


def test_monthly_gifts_are_left_to_stripes_own_expiry(stripe_emulator):
    donation = start(frequency="monthly").donation
    age(donation, 25)
    assert cancel_abandoned_gifts() == 0
