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
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")


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
