"""A gift on the public form never rewrites an existing supporter: their profile, their
newsletter choices, their Stripe customer and the emails they get stay theirs."""

import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from donations.models import Donation
from members.models import NewsletterSubscription, Supporter
from tests.donations.test_form import valid_post
from tests.factories import DonationFactory, NewsletterFactory, SupporterFactory

pytestmark = pytest.mark.django_db

ATTACKER_IP = "203.0.113.66"
ATTACK = {
    "email": "DONOR@Example.COM",  # the donor's address in other letter case
    "first_name": "Visit evil.example to claim your refund",
    "last_name": "X",
    "address_line1": "1 Attacker Rd",
    "city": "Nowhere",
}


@pytest.fixture
def real_donor(db, stripe_emulator):
    """Dana, who gave before: she has her own Stripe customer."""
    from donations import gateway

    customer = gateway.client().v1.customers.create(params={"email": "donor@example.com"})
    return SupporterFactory(
        email="donor@example.com",
        first_name="Dana",
        last_name="Donor",
        address_line1="12 Elm Street",
        city="Springfield",
        stripe_customer_id=customer.id,
    )


@pytest.fixture
def left_newsletter(real_donor):
    """The donor unsubscribed from The Morning through their own link."""
    newsletter = NewsletterFactory(slug="the-morning", name="The Morning", offered_on_form=True)
    return NewsletterSubscription.objects.create(
        supporter=real_donor,
        newsletter=newsletter,
        status=NewsletterSubscription.Status.UNSUBSCRIBED,
        unsubscribed_at=timezone.now(),
        consent_source="donation_form",
        consent_ip="192.0.2.1",
    )


@pytest.fixture
def attack(client, stripe_emulator, django_capture_on_commit_callbacks):
    """The stranger's form POST (as the page's script sends it); what the request leaves
    for after its commit (the confirmation email) runs at once."""

    def post(**extra) -> dict:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                "/donate/",
                valid_post(custom_amount="5", amount_one_time="other", **ATTACK, **extra),
                HTTP_ACCEPT="application/json",
                REMOTE_ADDR=ATTACKER_IP,
            )
        assert response.status_code == 200, response.content
        return response.json()

    return post


def test_an_anonymous_gift_in_an_existing_donors_name_leaves_their_profile_alone(
    client, attack, real_donor
):
    attack()
    donor = Supporter.objects.get()
    assert (donor.first_name, donor.last_name, donor.address_line1, donor.city) == (
        "Dana",
        "Donor",
        "12 Elm Street",
        "Springfield",
    )
    gift = Donation.objects.get()
    assert gift.supporter == donor
    assert (gift.donor_first_name, gift.donor_address_line1) == (
        ATTACK["first_name"],
        "1 Attacker Rd",
    )


def test_the_donors_next_gift_prints_their_own_details_not_the_strangers(
    client, attack, real_donor
):
    from receipts import services

    attack()
    own_gift = DonationFactory(supporter=real_donor)  # e.g. a renewal, nothing typed
    receipt = services.issue_gift_receipt(donation_id=own_gift.pk)
    assert receipt.snapshot["donor"]["name"] == "Dana Donor"
    assert receipt.snapshot["donor"]["address_lines"][0] == "12 Elm Street"


def test_an_unsubscribe_is_not_undone_by_an_anonymous_form(
    client, attack, real_donor, left_newsletter
):
    attack(newsletters=["the-morning"])
    subscription = NewsletterSubscription.objects.get()
    assert subscription.status == NewsletterSubscription.Status.PENDING
    assert subscription.confirmed_at is None
    # The donor is asked, at their own address, with a link only they receive.
    [message] = mail.outbox
    assert message.to == ["donor@example.com"]
    assert "The Morning" in message.subject


def test_a_membership_benefit_does_not_subscribe_someone_who_left_while_a_request_waits(
    client, attack, real_donor, left_newsletter
):
    from members.services import newsletter_subscribe

    attack(newsletters=["the-morning"])
    newsletter_subscribe(
        supporter=real_donor, newsletter=left_newsletter.newsletter, source="membership"
    )
    assert NewsletterSubscription.objects.get().status == NewsletterSubscription.Status.PENDING


def confirmation_link(message) -> str:
    return re.search(r"https?://\S+/newsletters/confirm/\S+/", message.body).group(0)


def test_the_emailed_link_confirms_once_and_records_when(
    client, attack, real_donor, left_newsletter
):
    attack(newsletters=["the-morning"])
    path = "/" + confirmation_link(mail.outbox[0]).split("://", 1)[1].split("/", 1)[1]
    page = client.get(path)  # a mail scanner following the link changes nothing
    assert page.status_code == 200 and b"Yes, subscribe me" in page.content
    assert NewsletterSubscription.objects.get().status == NewsletterSubscription.Status.PENDING
    assert client.post(path).status_code == 200
    subscription = NewsletterSubscription.objects.get()
    assert subscription.status == NewsletterSubscription.Status.SUBSCRIBED
    assert subscription.confirmed_at is not None
    again = client.post(path)
    assert again.status_code == 404 and b"already been used" in again.content


def test_a_forged_or_tampered_confirmation_link_is_refused(client, db):
    response = client.get(reverse("members:confirm_subscription", args=["1|x:forged"]))
    assert response.status_code == 404


def test_a_repeated_request_sends_one_confirmation_a_day(
    client, attack, real_donor, left_newsletter
):
    attack(newsletters=["the-morning"])
    attack(newsletters=["the-morning"])
    assert len(mail.outbox) == 1


def test_a_new_supporter_ticking_a_newsletter_is_subscribed_at_once(attack):
    NewsletterFactory(slug="the-morning", offered_on_form=True)
    attack(newsletters=["the-morning"])
    subscription = NewsletterSubscription.objects.get()
    assert subscription.status == NewsletterSubscription.Status.SUBSCRIBED
    assert subscription.consent_ip == ATTACKER_IP and mail.outbox == []


def test_a_stranger_gift_gets_its_own_stripe_customer(client, attack, stripe_emulator, real_donor):
    attack()
    gift = Donation.objects.get()
    intent = stripe_emulator.retrieve(gift.stripe_payment_intent_id)
    assert intent["customer"] != real_donor.stripe_customer_id
    assert Supporter.objects.get().stripe_customer_id == real_donor.stripe_customer_id
    assert intent["customer"] == gift.stripe_customer_id
    customer = stripe_emulator.retrieve(intent["customer"])
    assert customer["name"] == f"{ATTACK['first_name']} X"


def test_the_signed_in_donor_gives_under_their_own_customer(client, stripe_emulator, db):
    from donations import gateway
    from members import signin

    customer = gateway.client().v1.customers.create(params={"email": "donor@example.com"})
    donor = SupporterFactory(email="donor@example.com", stripe_customer_id=customer.id)
    session = client.session
    session[signin.SESSION_KEY] = donor.pk
    session.save()
    response = client.post(
        "/donate/",
        valid_post(email="donor@example.com", newsletters=[]),
        HTTP_ACCEPT="application/json",
    )
    gift = Donation.objects.get(public_id=response.json()["donation_id"])
    assert stripe_emulator.retrieve(gift.stripe_payment_intent_id)["customer"] == customer.id


def test_the_sign_in_email_greets_the_donor_by_their_own_name(
    client, attack, real_donor, django_capture_on_commit_callbacks
):
    attack()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account:request"), {"email": "donor@example.com"})
    [message] = mail.outbox
    assert "Hello Dana" in message.body
    assert "evil.example" not in message.body
