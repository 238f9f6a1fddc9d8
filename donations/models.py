"""Gifts, recurring gifts, the money ledger and the Stripe webhook inbox.

Amounts are integers in the currency's minor unit (cents). Every Stripe id that names
one of our rows is unique, so a repeated webhook or retried task cannot make a twin.
"""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.utils import timezone

from lib.money import format_money
from members.models import Supporter, postal_address_lines


@dataclass(frozen=True)
class PrintedDonor:
    """The donor as one gift's receipt names them."""

    name: str
    address_lines: list[str]
    postal_code: str


class TransitionNotAllowed(Exception):
    """A status change the state machine refuses (for example refunded → succeeded)."""


class Donation(models.Model):
    """One gift = one charge. A recurring gift makes one Donation per paid invoice."""

    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSING = "processing"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELED = "canceled"
        PARTIALLY_REFUNDED = "partially_refunded", "partially refunded"
        REFUNDED = "refunded"
        DISPUTED = "disputed"

    # Which status may follow which. A late, older webhook asking for a move that is not
    # listed here is ignored, so it can never roll a gift back.
    TRANSITIONS: dict[str, set[str]] = {
        Status.PENDING: {Status.PROCESSING, Status.SUCCEEDED, Status.FAILED, Status.CANCELED},
        Status.PROCESSING: {Status.SUCCEEDED, Status.FAILED, Status.CANCELED},
        # A declined card can be retried on the same PaymentIntent.
        Status.FAILED: {Status.PROCESSING, Status.SUCCEEDED, Status.FAILED, Status.CANCELED},
        Status.SUCCEEDED: {Status.PARTIALLY_REFUNDED, Status.REFUNDED, Status.DISPUTED},
        # Back to SUCCEEDED (or from REFUNDED to partly refunded) only when a refund fails
        # (refund.failed): the card could not take the money back, so we still hold it.
        Status.PARTIALLY_REFUNDED: {
            Status.SUCCEEDED,
            Status.PARTIALLY_REFUNDED,
            Status.REFUNDED,
            Status.DISPUTED,
        },
        Status.DISPUTED: {Status.SUCCEEDED, Status.PARTIALLY_REFUNDED, Status.REFUNDED},
        Status.REFUNDED: {Status.SUCCEEDED, Status.PARTIALLY_REFUNDED},
        Status.CANCELED: set(),
    }

    class Frequency(models.TextChoices):
        ONE_TIME = "one_time", "one-time"
        MONTHLY = "monthly"
        ANNUAL = "annual"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    supporter = models.ForeignKey(Supporter, on_delete=models.PROTECT, related_name="donations")
    recurring = models.ForeignKey(
        "RecurringDonation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
    )
    frequency = models.CharField(
        max_length=10, choices=Frequency.choices, default=Frequency.ONE_TIME
    )
    amount = models.PositiveIntegerField(
        help_text="Total charged, in minor units, fee cover included."
    )
    fee_covered = models.PositiveIntegerField(
        default=0, help_text="Part of the amount the donor added to cover the card fee."
    )
    currency = models.CharField(max_length=3, default="usd")
    amount_refunded = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    failure_code = models.CharField(max_length=100, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)

    stripe_payment_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    stripe_invoice_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    stripe_charge_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    # The Stripe customer this gift's payment was made under: the supporter's own only
    # when the gift came from its proven owner (see donations.checkout, _customer_id).
    stripe_customer_id = models.CharField(max_length=255, blank=True)

    campaign = models.CharField(max_length=100, blank=True)
    source = models.CharField(max_length=100, blank=True)
    dedication_kind = models.CharField(
        max_length=20, blank=True, choices=[("honour", "in honour of"), ("memory", "in memory of")]
    )
    dedication_name = models.CharField(max_length=200, blank=True)
    # The name and address typed with this gift, printed on its receipt. A gift never
    # rewrites its supporter's profile (anyone can type anyone's email on the public form),
    # so what this donor typed lives here. Empty on gifts from before these fields and on
    # renewals: see printed_donor().
    donor_first_name = models.CharField(max_length=100, blank=True)
    donor_last_name = models.CharField(max_length=100, blank=True)
    donor_address_line1 = models.CharField(max_length=200, blank=True)
    donor_address_line2 = models.CharField(max_length=200, blank=True)
    donor_city = models.CharField(max_length=100, blank=True)
    donor_region = models.CharField(max_length=100, blank=True)
    donor_postal_code = models.CharField(max_length=20, blank=True)
    donor_country = models.CharField(max_length=2, blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    succeeded_at = models.DateTimeField(null=True, blank=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{format_money(self.amount, self.currency)} from {self.supporter} ({self.status})"

    @property
    def net_amount(self) -> int:
        """What the donor gave and kept given: the amount less refunds."""
        return self.amount - self.amount_refunded

    def can_become(self, status: str) -> bool:
        return status in self.TRANSITIONS[self.status]

    @property
    def typed_name(self) -> str:
        return " ".join(p for p in (self.donor_first_name, self.donor_last_name) if p)

    def _typed_address(self) -> list[str]:
        return [
            self.donor_address_line1,
            self.donor_address_line2,
            self.donor_city,
            self.donor_region,
            self.donor_postal_code,
            self.donor_country,
        ]

    def _details_source(self) -> "Donation":
        """The gift whose typed details stand for this one: itself, or for a renewal
        (which nobody typed anything for) the first payment of its recurring gift."""
        if self.typed_name or any(self._typed_address()) or not self.recurring_id:
            return self
        first = (
            Donation.objects.filter(recurring_id=self.recurring_id)
            .exclude(donor_first_name="", donor_last_name="")
            .order_by("created_at", "pk")
            .first()
        )
        return first or self

    def printed_donor(self) -> PrintedDonor:
        """The name and address a receipt for this gift prints: what was typed with it,
        else (gifts from before these fields) the supporter's profile. Name and address
        fall back separately, so a gift typed without an address keeps the profile's."""
        source = self._details_source()
        supporter = self.supporter
        name = source.typed_name or supporter.full_name
        if any(source._typed_address()):
            lines = postal_address_lines(*source._typed_address())
            postal_code = source.donor_postal_code
        else:
            lines, postal_code = supporter.postal_address_lines, supporter.postal_code
        return PrintedDonor(name=name, address_lines=lines, postal_code=postal_code)


class RecurringDonation(models.Model):
    """A monthly or annual gift; mirrors the status of its Stripe subscription."""

    class Status(models.TextChoices):
        INCOMPLETE = "incomplete"
        ACTIVE = "active"
        PAST_DUE = "past_due", "past due"
        # The donor (or staff for them) paused collection: Stripe's pause_collection.
        PAUSED = "paused"
        # Stripe paused the subscription itself after failed payments (its status
        # `paused`, API 2026-10-28.endive): only Stripe's resume call restarts it.
        PAYMENT_PAUSED = "payment_paused", "paused after failed payments"
        CANCELED = "canceled"
        UNPAID = "unpaid"

    class Interval(models.TextChoices):
        MONTH = "month"
        YEAR = "year"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    supporter = models.ForeignKey(
        Supporter, on_delete=models.PROTECT, related_name="recurring_donations"
    )
    amount = models.PositiveIntegerField(
        help_text="Each payment, in minor units, fee cover included."
    )
    fee_covered = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3, default="usd")
    interval = models.CharField(max_length=10, choices=Interval.choices, default=Interval.MONTH)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.INCOMPLETE, db_index=True
    )
    stripe_subscription_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    failure_count = models.PositiveIntegerField(default=0)
    # Stripe's `created` of the newest subscription event applied; an older one is stale.
    last_event_created = models.BigIntegerField(default=0)
    campaign = models.CharField(max_length=100, blank=True)
    source = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    canceled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return (
            f"{format_money(self.amount, self.currency)}/{self.interval} "
            f"from {self.supporter} ({self.status})"
        )


class LedgerEntry(models.Model):
    """An append-only money movement, one per Stripe balance transaction."""

    class Kind(models.TextChoices):
        CHARGE = "charge"
        REFUND = "refund"
        # A refund that failed after it was made: the money came back to us (positive).
        REFUND_FAILURE = "refund_failure", "refund failure"
        DISPUTE = "dispute"
        DISPUTE_REVERSAL = "dispute_reversal", "dispute reversal"
        # Not gifts, but paid out with them: without these a payout's rows never add up to
        # the payout the bank received.
        FEE = "fee", "Stripe fee"
        ADJUSTMENT = "adjustment"

    donation = models.ForeignKey(
        Donation, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    stripe_balance_transaction_id = models.CharField(max_length=255, unique=True)
    stripe_source_id = models.CharField(
        max_length=255, blank=True, help_text="The charge, refund, dispute or fee's source id."
    )
    gross = models.IntegerField(help_text="Minor units; negative for money going out.")
    fee = models.IntegerField(default=0)
    net = models.IntegerField()
    currency = models.CharField(max_length=3, default="usd")
    stripe_payout_id = models.CharField(max_length=255, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        verbose_name_plural = "ledger entries"

    def __str__(self) -> str:
        return f"{self.kind} {self.gross} {self.currency} ({self.stripe_balance_transaction_id})"


class StripeEvent(models.Model):
    """The webhook inbox: each Stripe event stored once, by its id, then processed by a task."""

    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSING = "processing"
        PROCESSED = "processed"
        IGNORED = "ignored"
        # Failed in a way that may pass (a row not written yet, Stripe down): tried again
        # at next_attempt_at, by its task's own retry or else by the sweep.
        RETRYING = "retrying"
        # Given up: a permanent error (Stripe no longer has the object) or the attempt
        # cap. Staff see it in the admin and can retry it there.
        FAILED = "failed"

    stripe_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    payload = models.JSONField()
    stripe_created = models.BigIntegerField(
        default=0, help_text="The event's `created`, seconds since the epoch."
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # The lease: until then a retry is scheduled or queued, and the sweep leaves the row
    # alone, so a row never has more than one retry chain.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_id} ({self.status})"


class AuditEntry(models.Model):
    """Who did what to money or receipts, with the state before and after."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    action = models.CharField(max_length=100)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=100)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.object_type} {self.object_id}"


class DonationPreset(models.Model):
    """An amount offered as a one-click choice on the form, per frequency; staff set them.

    The form page is built once and cached, so saving or deleting a preset rebuilds it
    (see donations.page)."""

    frequency = models.CharField(max_length=10, choices=Donation.Frequency.choices)
    amount = models.PositiveIntegerField(help_text="In minor units (2500 = 25.00).")
    suggested = models.BooleanField(
        default=False, help_text="Chosen in advance for this frequency (one per frequency)."
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["frequency", "position", "amount"]
        constraints = [
            models.UniqueConstraint(fields=["frequency", "amount"], name="one_preset_per_amount"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="preset_amount_positive"),
        ]

    def __str__(self) -> str:
        mark = " (suggested)" if self.suggested else ""
        return f"{format_money(self.amount, settings.ORG_CURRENCY)} {self.get_frequency_display()}{mark}"


class GiftConsequence(models.Model):
    """One thing that must follow a fact about a gift (its receipt, the membership, a donor
    email): the outbox of donations.hooks.

    A row per (fact, consequence) is written in the same transaction as the gift's change,
    so the change and the promise of its consequences commit or roll back together. A
    worker task claims the row (UPDATE ... WHERE status in pending/failed), runs the
    consequence and marks it done in one transaction; a worker killed half-way rolls the
    claim back, and the sweep finds the row again. Ids are plain integers, as the hook
    announces them; a row outlives nothing it points at that matters.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        FAILED = "failed"  # tried and raised; retried by its task and the sweep

    fact = models.CharField(max_length=50)
    consequence = models.CharField(
        max_length=200, help_text="The listener that runs it (module.function)."
    )
    supporter_id = models.BigIntegerField()
    donation_id = models.BigIntegerField(null=True, blank=True)
    recurring_donation_id = models.BigIntegerField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The sweep asks only for rows not done yet; done rows are the vast majority.
            models.Index(
                fields=["created_at"],
                name="gift_consequence_open",
                condition=~models.Q(status="done"),
            ),
            models.Index(fields=["donation_id"], name="gift_consequence_donation"),
        ]

    def __str__(self) -> str:
        return f"{self.consequence} for {self.fact} ({self.status})"
