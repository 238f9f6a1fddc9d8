"""Tax receipts: numbered per series, frozen as a snapshot, then rendered and emailed.

Receipts read gifts; they never write them. What is printed lives in `snapshot`, frozen
at issue time and hashed, so a PDF rendered years later says exactly what the first did.
"""

import hashlib
import json

from django.conf import settings
from django.db import models
from django.utils import timezone

from donations.models import Donation
from members.models import Supporter


class ReceiptCounter(models.Model):
    """One row per numbering series (jurisdiction and year), locked with select_for_update
    inside the transaction that takes a number, so numbers have no gaps and no repeats."""

    series = models.CharField(max_length=50, unique=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.series}: {self.last_number}"


class Receipt(models.Model):
    class Kind(models.TextChoices):
        GIFT = "gift"
        ANNUAL = "annual", "annual statement"

    class Status(models.TextChoices):
        ISSUED = "issued"
        HELD = "held", "held (dispute open)"
        VOID = "void"
        REPLACED = "replaced"

    class Delivery(models.TextChoices):
        PENDING = "pending"
        RENDERED = "rendered"
        SENT = "sent"
        FAILED = "failed"

    number = models.CharField(max_length=50, unique=True)
    series = models.CharField(max_length=50)
    sequence = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.GIFT)
    jurisdiction = models.CharField(max_length=2)
    supporter = models.ForeignKey(Supporter, on_delete=models.PROTECT, related_name="receipts")
    # A gift receipt has one donation; an annual statement lists many.
    donation = models.ForeignKey(
        Donation, on_delete=models.PROTECT, null=True, blank=True, related_name="receipts"
    )
    donations = models.ManyToManyField(Donation, blank=True, related_name="statements")
    tax_year = models.PositiveSmallIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="usd")
    amount_received = models.PositiveIntegerField()
    benefit_value = models.PositiveIntegerField(default=0)
    deductible_amount = models.PositiveIntegerField()
    received_at = models.DateTimeField()
    issued_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.ISSUED, db_index=True
    )
    replaces = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaced_by"
    )
    void_reason = models.TextField(blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    snapshot = models.JSONField()
    snapshot_sha256 = models.CharField(max_length=64)
    delivery_status = models.CharField(
        max_length=10, choices=Delivery.choices, default=Delivery.PENDING
    )
    pdf = models.FileField(upload_to="receipts/%Y/", blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivery_attempts = models.PositiveIntegerField(default=0)
    last_delivery_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-issued_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "sequence"], name="one_number_per_series_sequence"
            ),
            # The same gift never gets two live receipts, whatever is retried; a void or
            # replaced one stays beside its replacement.
            models.UniqueConstraint(
                fields=["donation"],
                condition=models.Q(status__in=["issued", "held"]) & models.Q(kind="gift"),
                name="one_live_receipt_per_donation",
            ),
            models.UniqueConstraint(
                fields=["supporter", "tax_year"],
                condition=models.Q(kind="annual") & models.Q(status__in=["issued", "held"]),
                name="one_live_statement_per_supporter_year",
            ),
        ]
        permissions = [("export_receipts", "Can export receipts and gifts for finance")]

    def __str__(self) -> str:
        return f"Receipt {self.number} ({self.status})"

    @staticmethod
    def hash_snapshot(snapshot: dict) -> str:
        canonical = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def snapshot_is_intact(self) -> bool:
        return self.hash_snapshot(self.snapshot) == self.snapshot_sha256

    @property
    def is_live(self) -> bool:
        return self.status in (self.Status.ISSUED, self.Status.HELD)

    def pdf_filename(self) -> str:
        return f"receipt-{self.number}.pdf"


class ReceiptEmail(models.Model):
    """One email about a receipt, with its own state, so a task delivered twice sends once.

    A row is written in the same transaction as the change it reports (issue, void,
    replacement, resend); the task claims it with filter(...).update(...) before sending.
    """

    class Kind(models.TextChoices):
        ISSUED = "issued", "receipt issued"
        REPLACEMENT = "replacement", "replacement receipt"
        VOIDED = "voided", "receipt voided"
        COPY = "copy", "copy (resend)"
        STATEMENT = "statement", "annual statement"

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"

    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    to = models.EmailField(max_length=254)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.receipt.number} to {self.to} ({self.status})"


class ReceiptProblem(models.Model):
    """Why a gift (or a donor's year) has no receipt: a required field is missing, or the
    jurisdiction's rules say no receipt may be issued. Staff see these in the admin; the
    row is resolved when a later attempt issues the receipt."""

    class Code(models.TextChoices):
        MISSING_FIELDS = "missing_fields", "required fields missing"
        NOT_RECEIPTABLE = "not_receiptable", "no receipt allowed"
        RENDER_FAILED = "render_failed", "could not be rendered"

    kind = models.CharField(max_length=10, choices=Receipt.Kind.choices, default=Receipt.Kind.GIFT)
    donation = models.ForeignKey(
        Donation, on_delete=models.CASCADE, null=True, blank=True, related_name="receipt_problems"
    )
    supporter = models.ForeignKey(
        Supporter, on_delete=models.CASCADE, related_name="receipt_problems"
    )
    tax_year = models.PositiveSmallIntegerField(null=True, blank=True)
    jurisdiction = models.CharField(max_length=2)
    code = models.CharField(max_length=20, choices=Code.choices)
    missing_fields = models.JSONField(default=list, blank=True)
    message = models.TextField()
    attempts = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["donation"],
                condition=models.Q(resolved_at__isnull=True) & models.Q(kind="gift"),
                name="one_open_problem_per_donation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_code_display()}: {self.message}"


class GiftAidDeclaration(models.Model):
    """A UK Gift Aid declaration: the donor confirms they pay enough UK tax, so the charity
    may reclaim basic-rate tax on their gifts. HMRC lets one declaration cover gifts made
    up to four years before it and every gift after it until it is cancelled."""

    supporter = models.ForeignKey(
        Supporter, on_delete=models.PROTECT, related_name="gift_aid_declarations"
    )
    made_at = models.DateTimeField(default=timezone.now)
    covers_from = models.DateField(help_text="The earliest gift date the declaration covers.")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=50, blank=True, help_text="web form, paper, phone…")
    wording = models.TextField(blank=True, help_text="The declaration text the donor agreed to.")

    class Meta:
        ordering = ["-made_at"]

    def __str__(self) -> str:
        return f"Gift Aid declaration by {self.supporter} from {self.covers_from}"

    def covers(self, when) -> bool:
        """Whether a gift received at `when` (an aware datetime) is covered."""
        day = timezone.localdate(when)
        if day < self.covers_from:
            return False
        return self.cancelled_at is None or when < self.cancelled_at


class ExportLog(models.Model):
    """Every finance export: who, when, which filters, how many rows."""

    class Status(models.TextChoices):
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    requested_via = models.CharField(max_length=20, default="admin")
    filters = models.JSONField(default=dict)
    file_format = models.CharField(max_length=10)
    rows = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    file = models.FileField(upload_to="exports/", blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Export {self.pk} by {self.user} ({self.status}, {self.rows} rows)"
