"""The finance export screens in the admin: the list of past exports (ExportLog), a
"New export" button, and a download link on each finished file.

Imported from receipts/admin.py. Every URL of this ModelAdmin goes through the same
finance_required check as the export views, so anyone signed in but not finance staff
gets 403 here too (the admin alone would send a non-staff user to its login page).
"""

from django.contrib import admin
from django.http import HttpRequest
from django.urls import path, reverse
from django.utils.html import format_html

from receipts.exports.filters import ExportFilters
from receipts.exports.services import can_export, export_file_is_ready
from receipts.models import ExportLog
from receipts.views_export import export_new, finance_required


@admin.register(ExportLog)
class ExportLogAdmin(admin.ModelAdmin):
    change_list_template = "receipts/export_changelist.html"
    list_display = [
        "started_at",
        "user",
        "requested_via",
        "file_format",
        "period",
        "rows",
        "status",
        "download",
    ]
    list_filter = ["status", "file_format", "requested_via"]
    date_hierarchy = "started_at"
    readonly_fields = ["user", "requested_via", "filters", "file_format", "rows", "status", "file",
                       "started_at", "finished_at", "error"]  # fmt: skip

    def has_module_permission(self, request: HttpRequest) -> bool:
        return can_export(request.user)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return can_export(request.user)

    # The log is a record of what happened: nobody edits or deletes it by hand.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_urls(self):
        urls = [path("new/", export_new, name="receipts_exportlog_new"), *super().get_urls()]
        for pattern in urls:
            pattern.callback = finance_required(pattern.callback)
        return urls

    @admin.display(description="period")
    def period(self, log: ExportLog) -> str:
        try:
            return ExportFilters.from_json(log.filters).describe()
        except (KeyError, ValueError):
            return "?"

    @admin.display(description="file")
    def download(self, log: ExportLog) -> str:
        if export_file_is_ready(log):
            return format_html(
                '<a href="{}">download</a>', reverse("receipts:export_download", args=[log.pk])
            )
        if log.status == ExportLog.Status.RUNNING:
            return format_html(
                '<a href="{}">progress</a>', reverse("receipts:export_detail", args=[log.pk])
            )
        return "-"
