from django.contrib import admin

from donations.models import (
    AuditEntry,
    Donation,
    DonationPreset,
    LedgerEntry,
    RecurringDonation,
    StripeEvent,
)


@admin.register(Donation)
class DonationAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "supporter",
        "amount",
        "currency",
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


@admin.register(RecurringDonation)
class RecurringDonationAdmin(admin.ModelAdmin):
    list_display = [
        "supporter",
        "amount",
        "currency",
        "interval",
        "status",
        "current_period_end",
        "failure_count",
    ]
    list_filter = ["status", "interval"]
    search_fields = ["supporter__email", "stripe_subscription_id"]
    raw_id_fields = ["supporter"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = [
        "occurred_at",
        "kind",
        "gross",
        "fee",
        "net",
        "currency",
        "stripe_balance_transaction_id",
    ]
    list_filter = ["kind", "currency"]
    search_fields = ["stripe_balance_transaction_id", "stripe_source_id", "stripe_payout_id"]
    raw_id_fields = ["donation"]

    # The ledger is append-only: it records what Stripe did, staff never edit it.
    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ["received_at", "type", "stripe_id", "status", "attempts"]
    list_filter = ["status", "type"]
    search_fields = ["stripe_id"]
    readonly_fields = [f.name for f in StripeEvent._meta.fields]


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
        return f"{obj.amount / 100:,.2f}"
