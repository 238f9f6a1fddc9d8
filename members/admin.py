from django.contrib import admin

from members.models import (
    PROFILE_FIELDS,
    Membership,
    Newsletter,
    NewsletterSubscription,
    ProfileChange,
    Supporter,
    Tier,
)
from members.services import supporter_update_profile


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


class ProfileChangeInline(admin.TabularInline):
    model = ProfileChange
    extra = 0
    can_delete = False
    fields = readonly_fields = ["at", "source", "actor", "before", "after"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Supporter)
class SupporterAdmin(admin.ModelAdmin):
    list_display = ["email", "first_name", "last_name", "country", "created_at"]
    search_fields = ["email", "first_name", "last_name", "stripe_customer_id"]
    readonly_fields = ["public_id", "stripe_customer_id", "created_at", "anonymised_at"]
    inlines = [SubscriptionInline, ProfileChangeInline]

    def save_model(self, request, obj: Supporter, form, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        # A staff edit of the name, address or email goes through the audited service;
        # anything else on the page is saved as usual.
        profile = {name: getattr(obj, name) for name in PROFILE_FIELDS if name in form.changed_data}
        others = [name for name in form.changed_data if name not in PROFILE_FIELDS]
        if others:
            obj.save(update_fields=others)
        if profile:
            supporter_update_profile(
                supporter=obj,
                changes=profile,
                source=ProfileChange.Source.STAFF,
                actor=request.user,
            )


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
