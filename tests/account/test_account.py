"""Donors manage their own giving: an emailed, single-use sign-in link, then their
recurring gifts, newsletters and receipts, and nobody else's."""

import re

import pytest
import time_machine
from django.core import mail
from django.test import Client

from donations.models import AuditEntry, RecurringDonation
from members.models import NewsletterSubscription
from members.signin import signin_token
from tests.donations.gifts import give
from tests.factories import NewsletterFactory, SupporterFactory

pytestmark = pytest.mark.django_db


def signed_in_client(supporter) -> Client:
    client = Client()
    token = signin_token(supporter)
    assert client.post(f"/account/sign-in/{token}/").status_code == 302
    return client


def test_a_donor_asks_for_a_link_and_signs_in_with_it(
    client, donor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/account/sign-in/", {"email": "DONOR@example.com"})
    assert b"Check your email" in response.content
    (message,) = mail.outbox
    assert message.to == ["donor@example.com"]
    url = re.search(r"http\S+/account/sign-in/\S+/", message.body).group(0)
    path = url.split("127.0.0.1:8000", 1)[-1]
    assert b"Sign in" in client.get(path).content  # GET only asks: scanners follow links
    assert client.post(path).status_code == 302
    assert b"Your giving" in client.get("/account/").content


def test_an_unknown_address_gets_the_same_answer_and_no_email(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/account/sign-in/", {"email": "nobody@example.com"})
    assert b"Check your email" in response.content
    assert mail.outbox == []


def test_a_bad_address_is_shown_beside_the_field(client):
    response = client.post("/account/sign-in/", {"email": "not an email"})
    assert response.status_code == 200
    assert b'aria-invalid="true"' in response.content
    assert mail.outbox == []


def test_sign_in_requests_from_one_ip_are_limited_per_hour(
    client, donor, settings, django_capture_on_commit_callbacks
):
    settings.SIGNIN_REQUESTS_PER_HOUR = 2
    SupporterFactory(email="other@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        for email in ["donor@example.com", "other@example.com", "third@example.com"]:
            response = client.post("/account/sign-in/", {"email": email})
    assert b"Too many sign-in emails" in response.content
    assert len(mail.outbox) == 2


def test_a_link_works_once(donor):
    token = signin_token(donor)
    assert Client().post(f"/account/sign-in/{token}/").status_code == 302
    response = Client().post(f"/account/sign-in/{token}/")
    assert response.status_code == 403
    assert b"already been used" in response.content


def test_a_link_expires_after_an_hour(donor):
    with time_machine.travel("2026-11-25 10:00Z", tick=False):
        token = signin_token(donor)
    with time_machine.travel("2026-11-25 11:01Z", tick=False):
        response = Client().post(f"/account/sign-in/{token}/")
    assert response.status_code == 403 and b"expired" in response.content


def test_a_forged_link_is_refused(client):
    response = client.post("/account/sign-in/forged:token:value/")
    assert response.status_code == 403 and b"not valid" in response.content


def test_the_account_needs_a_sign_in(client):
    assert client.get("/account/")["Location"] == "/account/sign-in/"


def test_the_donor_pauses_resumes_changes_and_cancels_their_gift(stripe_webhooks):
    donation = give(stripe_webhooks, frequency="monthly", amount=1500)
    recurring = RecurringDonation.objects.get(pk=donation.recurring_id)
    client = signed_in_client(recurring.supporter)
    base = f"/account/recurring/{recurring.public_id}"
    assert b"$15.00" in client.get("/account/").content

    client.post(f"{base}/pause/")
    recurring.refresh_from_db()
    assert recurring.status == RecurringDonation.Status.PAUSED
    client.post(f"{base}/resume/")
    client.post(f"{base}/amount/", {"amount": "25"})
    recurring.refresh_from_db()
    assert (recurring.status, recurring.amount) == (RecurringDonation.Status.ACTIVE, 2500)
    page = client.post(f"{base}/cancel/", follow=True).content
    recurring.refresh_from_db()
    assert recurring.cancel_at_period_end
    assert b"will end after the period" in page
    entries = AuditEntry.objects.filter(object_id=str(recurring.public_id))
    assert entries.count() == 4
    assert all(e.actor is None and "donor" in e.reason for e in entries)


def test_stripes_automatic_pause_is_told_apart_and_resumed_by_stripes_resume(stripe_webhooks):
    from tests.donations.gifts import make_renewals_fail

    stripe_webhooks.billing.after_final_failure = "paused"
    donation = give(stripe_webhooks, frequency="monthly", amount=1500)
    recurring = RecurringDonation.objects.get(pk=donation.recurring_id)
    make_renewals_fail(recurring.stripe_subscription_id)
    stripe_webhooks.advance_clock(days=40)  # the renewal fails...
    stripe_webhooks.advance_clock(days=20)  # ...and so do Stripe's retries
    recurring.refresh_from_db()
    assert recurring.status == RecurringDonation.Status.PAYMENT_PAUSED
    client = signed_in_client(recurring.supporter)
    page = client.get("/account/").content.decode()
    assert "payments failed" in page and "Resume and pay now" in page
    # The donor may not "pause" it again: it is paused, by Stripe.
    client.post(f"/account/recurring/{recurring.public_id}/pause/")
    recurring.refresh_from_db()
    assert recurring.status == RecurringDonation.Status.PAYMENT_PAUSED

    stripe = stripe_webhooks.stripe_client("sk_test_emulator")
    card = stripe.v1.payment_methods.attach(
        "pm_card_visa", params={"customer": recurring.supporter.stripe_customer_id}
    )
    stripe.v1.subscriptions.update(
        recurring.stripe_subscription_id, params={"default_payment_method": card.id}
    )
    page = client.post(f"/account/recurring/{recurring.public_id}/resume/", follow=True)
    assert "tried your card" in page.content.decode()
    recurring.refresh_from_db()
    assert recurring.status == RecurringDonation.Status.ACTIVE
    assert stripe_webhooks.retrieve(recurring.stripe_subscription_id)["status"] == "active"
    assert recurring.payments.filter(status="succeeded").count() == 2
    assert AuditEntry.objects.filter(action="recurring.resume_after_failed_payments").exists()


def test_the_emulator_refuses_to_resume_a_subscription_stripe_did_not_pause(stripe_webhooks):
    import stripe as stripe_sdk

    donation = give(stripe_webhooks, frequency="monthly", amount=1500)
    subscription_id = donation.recurring.stripe_subscription_id
    with pytest.raises(stripe_sdk.InvalidRequestError, match="status `paused`"):
        stripe_webhooks.stripe_client("sk_test_emulator").v1.subscriptions.resume(subscription_id)


def test_a_bad_amount_is_explained_and_changes_nothing(stripe_webhooks):
    donation = give(stripe_webhooks, frequency="monthly", amount=1500)
    client = signed_in_client(donation.supporter)
    page = client.post(
        f"/account/recurring/{donation.recurring.public_id}/amount/", {"amount": "-3"}, follow=True
    ).content
    assert b"Enter an amount in numbers" in page
    donation.recurring.refresh_from_db()
    assert donation.recurring.amount == 1500


@pytest.mark.parametrize("amount", ["25001", "9999999", "25,00"])
def test_an_amount_above_the_forms_maximum_or_ambiguous_is_refused(stripe_webhooks, amount):
    donation = give(stripe_webhooks, frequency="monthly", amount=1500)
    client = signed_in_client(donation.supporter)
    page = client.post(
        f"/account/recurring/{donation.recurring.public_id}/amount/",
        {"amount": amount},
        follow=True,
    ).content.decode()
    assert "by arrangement" in page or "Enter an amount in numbers" in page
    donation.recurring.refresh_from_db()
    assert donation.recurring.amount == 1500
    assert not AuditEntry.objects.exists()


def test_a_donor_cannot_touch_someone_elses_gift(stripe_webhooks):
    donation = give(stripe_webhooks, frequency="monthly", amount=1500)
    other = signed_in_client(SupporterFactory(email="other@example.com"))
    response = other.post(f"/account/recurring/{donation.recurring.public_id}/pause/")
    assert response.status_code == 404
    donation.recurring.refresh_from_db()
    assert donation.recurring.status == RecurringDonation.Status.ACTIVE


def test_the_donor_chooses_newsletters(donor):
    morning, city = NewsletterFactory(slug="morning"), NewsletterFactory(slug="city")
    client = signed_in_client(donor)
    client.post("/account/newsletters/", {"newsletters": ["morning", "city"]})
    client.post("/account/newsletters/", {"newsletters": ["city"]})
    states = {
        s.newsletter_id: (s.status, s.consent_source)
        for s in NewsletterSubscription.objects.filter(supporter=donor)
    }
    assert states[morning.pk][0] == NewsletterSubscription.Status.UNSUBSCRIBED
    assert states[city.pk] == (NewsletterSubscription.Status.SUBSCRIBED, "account")


def test_the_donor_downloads_their_receipts_and_only_theirs(donor, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    from receipts import services
    from tests.factories import DonationFactory

    mine = services.issue_gift_receipt(donation_id=DonationFactory(supporter=donor).pk)
    theirs = services.issue_gift_receipt(donation_id=DonationFactory().pk)
    client = signed_in_client(donor)
    assert mine.number.encode() in client.get("/account/").content
    response = client.get(f"/account/receipts/{mine.number}.pdf")
    assert response["Content-Type"] == "application/pdf"
    assert client.get(f"/account/receipts/{theirs.number}.pdf").status_code == 404


def test_signing_out_ends_the_session(donor):
    client = signed_in_client(donor)
    client.post("/account/sign-out/")
    assert client.get("/account/").status_code == 302
