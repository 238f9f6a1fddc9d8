from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path

from donations.forms import RecurringAmountForm
from donations.gateway import StripeError
from donations.inbox import enqueue, retry_failed
from donations.models import (
    AuditEntry,
    Donation,
    DonationPreset,
    GiftConsequence,
    LedgerEntry,
    RecurringDonation,
    StripeEvent,
)
from donations.recurring import (
    ActionRefused,
    recurring_cancel,
    recurring_change_amount,
    recurring_pause,
    recurring_resume,
)
from donations.tasks import send_processing_task
from lib.money import format_money, format_plain


def _money(field: str, description: str):
    """A read-only column showing an integer minor-unit field as money in the row's currency."""

    @admin.display(description=description, ordering=field)
    def show(self, obj) -> str:
        return format_money(getattr(obj, field), obj.currency)

    return show


class PaymentInline(admin.TabularInline):
    """Each payment of a recurring gift, failed ones included."""

    model = Donation
    fields = ["created_at", "amount_money", "status", "failure_message", "stripe_invoice_id"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ["-created_at"]

    amount_money = _money("amount", "amount")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Donation)
class DonationAdmin(admin.ModelAdmin):
    """Gifts as staff see them. Once a gift has left pending, its money, status and Stripe
    ids are what Stripe charged and what the receipt printed: they are read-only here, and
    a correction goes through Stripe (a refund) and the audited actions, never an edit."""

    # Money is shown as money, never as the integer the row stores.
    MONEY = ["amount_money", "fee_covered_money", "amount_refunded_money"]
    RAW_MONEY = ["amount", "fee_covered", "amount_refunded", "currency"]
    SETTLED = [
        "stripe_payment_intent_id",
        "stripe_invoice_id",
        "stripe_charge_id",
        "succeeded_at",
        "recurring",
    ]

    list_display = [
        "created_at",
        "supporter",
        "amount_money",
        "frequency",
        "status",
        "campaign",
    ]
    list_filter = ["status", "frequency", "currency"]
    search_fields = [
        "supporter__email",
        "stripe_payment_intent_id",
        "stripe_invoice_id",
        "public_id",
    ]
    raw_id_fields = ["supporter", "recurring"]
    date_hierarchy = "created_at"

    amount_money = _money("amount", "amount")
    fee_covered_money = _money("fee_covered", "fee covered")
    amount_refunded_money = _money("amount_refunded", "refunded")

    def get_fields(self, request, obj=None):
        fields = [f for f in super().get_fields(request, obj) if f not in self.MONEY]
        if obj is None:
            return fields
        # The stored integers are replaced by their money display, next to the currency.
        shown = [f for f in fields if f not in self.RAW_MONEY]
        at = shown.index("frequency") + 1 if "frequency" in shown else 0
        return [*shown[:at], *self.MONEY, "currency", *shown[at:]]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # The status only ever follows Stripe (donations.reconcile): an edit here would
        # make a gift "succeeded" that nobody paid, even while it is pending.
        readonly = [*self.MONEY, "currency", "status"]
        if obj.status != Donation.Status.PENDING:
            readonly += self.SETTLED
        return readonly


@admin.register(RecurringDonation)
class RecurringDonationAdmin(admin.ModelAdmin):
    list_display = [
        "supporter",
        "amount_money",
        "interval",
        "status",
        "current_period_end",
        "failure_count",
    ]
    list_filter = ["status", "interval"]
    search_fields = ["supporter__email", "stripe_subscription_id"]
    raw_id_fields = ["supporter"]
    # Amount, currency and interval are what Stripe bills: the amount changes through the
    # audited change-amount action below, the others never change on a live subscription.
    exclude = ["amount", "fee_covered"]
    readonly_fields = [
        "public_id",
        "amount_money",
        "fee_covered_money",
        "currency",
        "interval",
        "status",
        "stripe_subscription_id",
        "current_period_end",
        "cancel_at_period_end",
        "failure_count",
        "canceled_at",
    ]
    inlines = [PaymentInline]
    amount_money = _money("amount", "amount")
    fee_covered_money = _money("fee_covered", "fee covered")
    actions = ["pause", "resume", "cancel_at_period_end", "cancel_now"]
    change_form_template = "admin/donations/recurringdonation/change_form.html"

    # Status and amount mirror Stripe: they change through the actions (which ask
    # Stripe first), never by editing the row.
    def get_urls(self):
        view = self.admin_site.admin_view(self.change_amount_view)
        return [
            path("<int:pk>/amount/", view, name="donations_recurringdonation_amount"),
            *super().get_urls(),
        ]

    def change_amount_view(self, request, pk: int):
        recurring = get_object_or_404(RecurringDonation, pk=pk)
        if not self.has_change_permission(request, recurring):
            raise PermissionDenied
        form = RecurringAmountForm(
            request.POST or None,
            currency=recurring.currency,
            initial={"amount": format_plain(recurring.amount, recurring.currency)},
        )
        if request.method == "POST" and form.is_valid():
            try:
                recurring_change_amount(
                    recurring=recurring,
                    amount=form.amount_minor,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except (ActionRefused, StripeError) as error:
                form.add_error("amount", _refusal(error))
            else:
                self.message_user(request, "The new amount applies from the next payment.")
                return redirect("admin:donations_recurringdonation_change", recurring.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": recurring,
            "form": form,
            "current": format_money(recurring.amount, recurring.currency),
            "title": f"Change the amount of {recurring}",
        }
        return TemplateResponse(request, "admin/donations/recurringdonation/amount.html", context)

    def _act(self, request, queryset, action, done: str, **options) -> None:
        changed = 0
        for recurring in queryset:
            try:
                action(recurring=recurring, actor=request.user, **options)
                changed += 1
            except (ActionRefused, StripeError) as error:
                self.message_user(request, f"{recurring}: {_refusal(error)}", messages.WARNING)
        if changed:
            self.message_user(request, f"{changed} recurring gift(s) {done}.")

    @admin.action(description="Pause the selected recurring gifts", permissions=["change"])
    def pause(self, request, queryset):
        self._act(request, queryset, recurring_pause, "paused")

    @admin.action(description="Resume the selected recurring gifts", permissions=["change"])
    def resume(self, request, queryset):
        self._act(request, queryset, recurring_resume, "resumed")

    @admin.action(description="Cancel at the end of the paid period", permissions=["change"])
    def cancel_at_period_end(self, request, queryset):
        self._act(
            request, queryset, recurring_cancel, "will end with their period", at_period_end=True
        )

    @admin.action(description="Cancel now", permissions=["change"])
    def cancel_now(self, request, queryset):
        self._act(request, queryset, recurring_cancel, "cancelled", at_period_end=False)


def _refusal(error: Exception) -> str:
    if isinstance(error, StripeError):
        return f"Stripe refused: {error.user_message or error}"
    return str(error)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = [
        "occurred_at",
        "kind",
        "gross_money",
        "fee_money",
        "net_money",
        "stripe_balance_transaction_id",
    ]
    list_filter = ["kind", "currency"]
    search_fields = ["stripe_balance_transaction_id", "stripe_source_id", "stripe_payout_id"]
    raw_id_fields = ["donation"]
    gross_money = _money("gross", "gross")
    fee_money = _money("fee", "fee")
    net_money = _money("net", "net")

    # The ledger is append-only: it records what Stripe did, staff never edit it.
    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    """The webhook inbox. `failed` rows were given up on (Stripe no longer has the object,
    or the attempt cap was reached): staff read the error and may retry them."""

    list_display = [
        "received_at",
        "type",
        "stripe_id",
        "status",
        "attempts",
        "next_attempt_at",
        "short_error",
    ]
    list_filter = ["status", "type"]
    search_fields = ["stripe_id"]
    readonly_fields = [f.name for f in StripeEvent._meta.fields]
    actions = ["retry"]

    @admin.display(description="last error")
    def short_error(self, obj: StripeEvent) -> str:
        return obj.last_error[:120]

    @admin.action(description="Retry the selected failed events", permissions=["change"])
    def retry(self, request, queryset):
        pks = list(queryset.filter(status=StripeEvent.Status.FAILED).values_list("pk", flat=True))
        count = retry_failed(event_pks=pks)
        transaction.on_commit(lambda: enqueue(pks, send=send_processing_task))
        self.message_user(request, f"{count} event(s) will be processed again.")

    def has_add_permission(self, request):
        # Only Stripe writes the inbox (a blank row added by hand was a 500).
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "reason"]
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DonationPreset)
class DonationPresetAdmin(admin.ModelAdmin):
    """Staff choose the amounts offered on the form; saving one rebuilds the cached page."""

    list_display = ["frequency", "amount_display", "suggested", "position"]
    list_editable = ["suggested", "position"]
    list_filter = ["frequency"]
    ordering = ["frequency", "position", "amount"]

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, obj: DonationPreset) -> str:
        return format_money(obj.amount, settings.ORG_CURRENCY)


@admin.register(GiftConsequence)
class GiftConsequenceAdmin(admin.ModelAdmin):
    """The gift outbox, read-only: what followed each gift's facts, and what failed (with
    its last error) and is still being retried by the sweep."""

    list_display = ["created_at", "fact", "consequence", "donation_id", "status", "attempts"]
    list_filter = ["status", "consequence", "fact"]
    search_fields = ["=donation_id", "=supporter_id"]
    readonly_fields = [f.name for f in GiftConsequence._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
