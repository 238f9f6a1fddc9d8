"""factory_boy factories for the rows most tests need."""

import factory
from django.contrib.auth import get_user_model

from donations.models import Donation, RecurringDonation
from members.models import Newsletter, Supporter, Tier


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct horse battery staple")


class SupporterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Supporter

    email = factory.Sequence(lambda n: f"reader{n}@example.com")
    first_name = "Ada"
    last_name = factory.Sequence(lambda n: f"Reader{n}")
    address_line1 = "12 Elm Street"
    city = "Springfield"
    region = "IL"
    postal_code = "62704"
    country = "US"


class NewsletterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Newsletter

    slug = factory.Sequence(lambda n: f"list-{n}")
    name = factory.Sequence(lambda n: f"Newsletter {n}")
    offered_on_form = True


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tier

    name = factory.Sequence(lambda n: f"Tier {n}")
    monthly_amount = 1000
    yearly_amount = 12000


class RecurringDonationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RecurringDonation

    supporter = factory.SubFactory(SupporterFactory)
    amount = 1500
    currency = "usd"
    interval = RecurringDonation.Interval.MONTH
    status = RecurringDonation.Status.ACTIVE
    stripe_subscription_id = factory.Sequence(lambda n: f"sub_test{n:08d}")


class DonationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Donation

    supporter = factory.SubFactory(SupporterFactory)
    amount = 2500
    currency = "usd"
    status = Donation.Status.SUCCEEDED
    stripe_payment_intent_id = factory.Sequence(lambda n: f"pi_test{n:08d}")


# --- Receipts and the ledger (appended by the finance export work; D may extend) --------


def _now():
    from django.utils import timezone

    return timezone.now()


class LedgerEntryFactory(factory.django.DjangoModelFactory):
    """A charge's balance transaction: gross, Stripe's fee, and the net that was paid out."""

    class Meta:
        model = "donations.LedgerEntry"

    donation = factory.SubFactory(DonationFactory)
    kind = "charge"
    stripe_balance_transaction_id = factory.Sequence(lambda n: f"txn_test{n:08d}")
    stripe_source_id = factory.Sequence(lambda n: f"ch_test{n:08d}")
    gross = factory.LazyAttribute(lambda e: e.donation.amount)
    fee = factory.LazyAttribute(lambda e: round(e.gross * 0.029) + 30)
    net = factory.LazyAttribute(lambda e: e.gross - e.fee)
    currency = "usd"
    stripe_payout_id = factory.Sequence(lambda n: f"po_test{n:08d}")


class ReceiptFactory(factory.django.DjangoModelFactory):
    """An issued gift receipt for a succeeded donation (numbers from a factory sequence,
    not from the real numbering service)."""

    class Meta:
        model = "receipts.Receipt"

    donation = factory.SubFactory(DonationFactory)
    supporter = factory.LazyAttribute(
        lambda r: r.donation.supporter if r.donation else SupporterFactory()
    )
    jurisdiction = "US"
    series = "US-2026"
    sequence = factory.Sequence(lambda n: n + 1)
    number = factory.LazyAttribute(lambda r: f"{r.series}-{r.sequence:06d}")
    currency = "usd"
    amount_received = factory.LazyAttribute(lambda r: r.donation.amount if r.donation else 10000)
    benefit_value = 0
    deductible_amount = factory.LazyAttribute(lambda r: r.amount_received - r.benefit_value)
    received_at = factory.LazyFunction(lambda: _now())
    snapshot = factory.LazyAttribute(lambda r: {"number": r.number, "amount": r.amount_received})
    snapshot_sha256 = factory.LazyAttribute(lambda r: "0" * 64)
