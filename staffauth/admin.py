from django.contrib import admin

from staffauth.models import StaffTOTP


@admin.register(StaffTOTP)
class StaffTOTPAdmin(admin.ModelAdmin):
    """Admins see who has an authenticator and can delete one (a lost phone); the secret
    itself is never shown here."""

    list_display = ["user", "confirmed_at", "created_at"]
    fields = ["user", "confirmed_at", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
