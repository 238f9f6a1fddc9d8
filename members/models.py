"""Supporters, the newsletters they chose, and the membership tiers their giving earns.

This app is the bottom of the dependency chain: it knows nothing of donations or
receipts, which point at its rows.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


def postal_address_lines(
    line1: str, line2: str, city: str, region: str, postal_code: str, country: str
) -> list[str]:
    """An address as the lines printed on an envelope or a receipt."""
    locality = " ".join(p for p in (city, region, postal_code) if p)
    return [line for line in (line1, line2, locality, country) if line]


class Supporter(models.Model):
    """A person who gives or reads. Email is unique without regard to case."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(max_length=254)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField("state / province", max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    stripe_customer_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    anonymised_at = models.DateTimeField(null=True, blank=True)
    # Moves on at each sign-in through an emailed link, which voids every older link.
    signed_in_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="supporter_email_ci_unique"),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def postal_address_lines(self) -> list[str]:
        return postal_address_lines(
            self.address_line1,
            self.address_line2,
            self.city,
            self.region,
            self.postal_code,
            self.country,
        )

    def anonymise(self) -> None:
        """Erase personal fields; gifts and receipts stay, as tax law requires."""
        self.email = f"erased-{self.public_id}@invalid"
        self.first_name = self.last_name = ""
        self.address_line1 = self.address_line2 = ""
        self.city = self.region = self.postal_code = self.country = ""
        self.anonymised_at = timezone.now()
        self.save()


class Newsletter(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    offered_on_form = models.BooleanField(
        default=False, help_text="Show a checkbox on the donation form."
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class NewsletterSubscription(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        SUBSCRIBED = "subscribed"
        UNSUBSCRIBED = "unsubscribed"

    supporter = models.ForeignKey(Supporter, on_delete=models.CASCADE, related_name="subscriptions")
    newsletter = models.ForeignKey(
        Newsletter, on_delete=models.CASCADE, related_name="subscriptions"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    # The consent record: where and when the supporter asked, and from which address.
    consent_source = models.CharField(max_length=50, blank=True)
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_ip = models.GenericIPAddressField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["supporter", "newsletter"], name="one_subscription_per_list"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.supporter} → {self.newsletter} ({self.status})"


class Tier(models.Model):
    """A membership level earned by giving. Its benefits' fair market value reduces
    the deductible amount printed on receipts (IRS Pub. 1771 quid pro quo rules)."""

    name = models.CharField(max_length=100, unique=True)
    monthly_amount = models.PositiveIntegerField(
        default=0, help_text="Qualifies with a monthly gift of at least this, in minor units."
    )
    yearly_amount = models.PositiveIntegerField(
        default=0,
        help_text="…or with gifts totalling at least this in twelve months, in minor units.",
    )
    benefit_description = models.CharField(max_length=300, blank=True)
    benefit_value = models.PositiveIntegerField(
        default=0, help_text="Fair market value of the benefits a year, in minor units."
    )
    newsletters = models.ManyToManyField(Newsletter, blank=True)

    class Meta:
        ordering = ["monthly_amount", "yearly_amount"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        GRACE = "grace"
        LAPSED = "lapsed"
        CANCELLED = "cancelled"

    supporter = models.ForeignKey(Supporter, on_delete=models.CASCADE, related_name="memberships")
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="memberships")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return f"{self.supporter} – {self.tier} ({self.status})"


PROFILE_FIELDS = [
    "email",
    "first_name",
    "last_name",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "country",
]


class ProfileChange(models.Model):
    """Who changed a supporter's name, address or email, and from what to what. A gift on
    the public form never does (it keeps what was typed on the gift); only the supporter
    in their signed-in account, or staff, do, and each change leaves one of these."""

    class Source(models.TextChoices):
        ACCOUNT = "account"
        STAFF = "staff"

    supporter = models.ForeignKey(
        Supporter, on_delete=models.CASCADE, related_name="profile_changes"
    )
    source = models.CharField(max_length=20, choices=Source.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.supporter} changed by {self.source} at {self.at:%Y-%m-%d %H:%M}"
