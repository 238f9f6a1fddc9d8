from django.contrib import admin

from members.models import Membership, Newsletter, NewsletterSubscription, Supporter, Tier


class SubscriptionInline(admin.TabularInline):
    model = NewsletterSubscription
    extra = 0
    readonly_fields = [
        "consent_source",
        "consent_at",
        "consent_ip",
        "confirmed_at",
        "unsubscribed_at",
    ]


@admin.register(Supporter)
class SupporterAdmin(admin.ModelAdmin):
    list_display = ["email", "first_name", "last_name", "country", "created_at"]
    search_fields = ["email", "first_name", "last_name", "stripe_customer_id"]
    readonly_fields = ["public_id", "stripe_customer_id", "created_at", "anonymised_at"]
    inlines = [SubscriptionInline]


@admin.register(Newsletter)
class NewsletterAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "offered_on_form", "position"]
    list_editable = ["offered_on_form", "position"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = ["name", "monthly_amount", "yearly_amount", "benefit_value"]
    filter_horizontal = ["newsletters"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["supporter", "tier", "status", "starts_at", "ends_at"]
    list_filter = ["status", "tier"]
    search_fields = ["supporter__email"]
    raw_id_fields = ["supporter"]
