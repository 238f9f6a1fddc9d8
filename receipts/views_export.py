"""Finance export pages: the form, the streamed file, the progress page and the download.

Every view here answers 403 to anyone signed in who is not finance staff (and sends the
signed-out to the login page); the same decorator guards the export screens in the admin.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from receipts.exports.filters import ExportFilters, ExportForm
from receipts.exports.services import (
    CONTENT_TYPES,
    ExportTooLarge,
    can_export,
    export_begin,
    export_file_is_ready,
    export_goes_async,
    export_stream,
)
from receipts.models import ExportLog
from receipts.tasks_export import write_export


def finance_required(view: Callable) -> Callable:
    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not can_export(request.user):
            raise PermissionDenied("Exports are for finance staff.")
        return view(request, *args, **kwargs)

    return guarded


def _context(request: HttpRequest, **extra) -> dict:
    # The pages extend the admin's base template, which needs the admin site's context.
    return {**admin.site.each_context(request), **extra}


@finance_required
@require_http_methods(["GET", "POST"])
def export_new(request: HttpRequest) -> HttpResponse:
    form = ExportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        filters = form.export_filters()
        file_format = form.cleaned_data["file_format"]
        try:
            log, rows = export_begin(
                user=request.user, requested_via="web", filters=filters, file_format=file_format
            )
        except ExportTooLarge as error:
            form.add_error("file_format", str(error))
        else:
            if export_goes_async(file_format=file_format, rows=rows):
                write_export.delay(log.pk)
                return redirect("receipts:export_detail", pk=log.pk)
            return _streaming_response(log, filters)
    context = _context(
        request, form=form, title="New export", time_zone=settings.TIME_ZONE,
        sync_limit=f"{settings.EXPORT_SYNC_MAX_ROWS:,}", xlsx_sync_limit=f"{settings.EXPORT_XLSX_SYNC_MAX_ROWS:,}",
    )  # fmt: skip
    return render(request, "receipts/export_form.html", context, status=400 if form.errors else 200)


def _streaming_response(log: ExportLog, filters: ExportFilters) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        export_stream(log=log, filters=filters), content_type=CONTENT_TYPES[log.file_format]
    )
    response["Content-Disposition"] = f'attachment; filename="{filters.filename(log.file_format)}"'
    response["Cache-Control"] = "no-store"
    # Let a proxy (nginx) pass bytes on as they come instead of buffering the file.
    response["X-Accel-Buffering"] = "no"
    response["X-Export-Id"] = str(log.pk)
    return response


@finance_required
@require_GET
def export_detail(request: HttpRequest, pk: int) -> HttpResponse:
    log = get_object_or_404(ExportLog, pk=pk)
    filters = ExportFilters.from_json(log.filters)
    expected = log.filters.get("rows_expected") or 0
    percent = (
        100
        if log.status == ExportLog.Status.DONE
        else min(99, int(100 * log.rows / expected) if expected else 0)
    )
    context = _context(
        request, log=log, period=filters.describe(), expected=expected, percent=percent,
        ready=export_file_is_ready(log), title=f"Export {log.pk}",
    )  # fmt: skip
    return render(request, "receipts/export_detail.html", context)


@finance_required
@require_GET
def export_status(request: HttpRequest, pk: int) -> JsonResponse:
    log = get_object_or_404(ExportLog, pk=pk)
    ready = export_file_is_ready(log)
    return JsonResponse(
        {
            "id": log.pk,
            "status": log.status,
            "rows": log.rows,
            "rows_expected": log.filters.get("rows_expected"),
            "error": log.error,
            "download_url": reverse("receipts:export_download", args=[log.pk]) if ready else None,
        }
    )


@finance_required
@require_GET
def export_download(request: HttpRequest, pk: int) -> FileResponse:
    log = get_object_or_404(ExportLog, pk=pk)
    if not export_file_is_ready(log):
        raise Http404("This export has no finished file.")
    try:
        handle = default_storage.open(log.file.name, "rb")
    except FileNotFoundError:
        raise Http404("The export file is gone; run the export again.") from None
    response = FileResponse(handle, as_attachment=True, filename=os.path.basename(log.file.name),
                            content_type=CONTENT_TYPES.get(log.file_format))  # fmt: skip
    response["Cache-Control"] = "no-store"
    return response
