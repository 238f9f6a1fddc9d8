"""Staff screens for receipts: find by number, donor, date or status; view the PDF;
resend a copy (same number); void with a reason. Each action goes through
receipts.services and is written to the audit log (donations.AuditEntry).

Receipts are never edited or deleted here: what was issued stays as it was issued.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from donations.models import AuditEntry, TransitionNotAllowed
from receipts import services
from receipts.models import GiftAidDeclaration, Receipt, ReceiptEmail, ReceiptProblem
from receipts.money import format_money
from receipts.views import pdf_response


class ReceiptEmailInline(admin.TabularInline):
    model = ReceiptEmail
    extra = 0
    can_delete = False
    fields = ["kind", "to", "status", "attempts", "sent_at", "last_error", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class VoidForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=1000,
        help_text="Printed nowhere, kept in the audit log and told to the donor.",
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why the receipt is void.")
        return reason


@admin.register(Receipt)
class ReceiptAdmin(admin.ModelAdmin):
    change_form_template = "admin/receipts/receipt/change_form.html"
    list_display = [
        "number",
        "kind",
        "supporter",
        "amount",
        "received_at",
        "status",
        "delivery_status",
        "issued_at",
    ]
    list_filter = [
        "status",
        "kind",
        "delivery_status",
        "jurisdiction",
        "tax_year",
        "issued_at",
        "received_at",
    ]
    search_fields = [
        "=number",
        "supporter__email",
        "supporter__first_name",
        "supporter__last_name",
        "donation__stripe_payment_intent_id",
        "donation__public_id",
    ]
    date_hierarchy = "received_at"
    list_select_related = ["supporter"]
    inlines = [ReceiptEmailInline]
    exclude = ["donations"]

    # Money as money in the receipt's currency, never the integer the row stores.
    MONEY = {
        "amount_received": "amount_received_money",
        "benefit_value": "benefit_value_money",
        "deductible_amount": "deductible_amount_money",
    }

    def get_readonly_fields(self, request, obj=None):
        fields = [self.MONEY.get(f.name, f.name) for f in Receipt._meta.fields]
        return fields + ["snapshot_ok", "replaced_by_link"]

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj)

    @admin.display(description="amount received")
    def amount_received_money(self, obj: Receipt) -> str:
        return format_money(obj.amount_received, obj.currency)

    @admin.display(description="benefit value")
    def benefit_value_money(self, obj: Receipt) -> str:
        return format_money(obj.benefit_value, obj.currency)

    @admin.display(description="deductible amount")
    def deductible_amount_money(self, obj: Receipt) -> str:
        return format_money(obj.deductible_amount, obj.currency)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="amount")
    def amount(self, obj: Receipt) -> str:
        return obj.snapshot.get("display", {}).get("amount") or obj.snapshot.get("display", {}).get(
            "total", ""
        )

    @admin.display(description="snapshot intact", boolean=True)
    def snapshot_ok(self, obj: Receipt) -> bool:
        return obj.snapshot_is_intact()

    @admin.display(description="replaced by")
    def replaced_by_link(self, obj: Receipt) -> str:
        replacement = getattr(obj, "replaced_by", None)
        if replacement is None:
            return "—"
        url = reverse("admin:receipts_receipt_change", args=[replacement.pk])
        return format_html('<a href="{}">{}</a>', url, replacement.number)

    def get_urls(self):
        own = [
            path(
                "<int:receipt_id>/pdf/",
                self.admin_site.admin_view(self.pdf_view),
                name="receipts_receipt_pdf",
            ),
            path(
                "<int:receipt_id>/void/",
                self.admin_site.admin_view(self.void_view),
                name="receipts_receipt_void",
            ),
            path(
                "<int:receipt_id>/resend/",
                self.admin_site.admin_view(self.resend_view),
                name="receipts_receipt_resend",
            ),
        ]
        return own + super().get_urls()

    def _receipt(self, request: HttpRequest, receipt_id: int, *, change: bool) -> Receipt:
        receipt = get_object_or_404(Receipt.objects.select_related("supporter"), pk=receipt_id)
        allowed = (
            self.has_change_permission(request, receipt)
            if change
            else self.has_view_permission(request, receipt)
        )
        if not allowed:
            raise PermissionDenied
        return receipt

    def _back(self, receipt: Receipt) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:receipts_receipt_change", args=[receipt.pk]))

    def pdf_view(self, request: HttpRequest, receipt_id: int) -> HttpResponse:
        receipt = self._receipt(request, receipt_id, change=False)
        AuditEntry.objects.create(
            actor=request.user,
            action="receipt.view_pdf",
            object_type="receipts.Receipt",
            object_id=receipt.number,
        )
        return pdf_response(receipt)

    def resend_view(self, request: HttpRequest, receipt_id: int) -> HttpResponse:
        receipt = self._receipt(request, receipt_id, change=True)
        if request.method != "POST":
            context = {**self.admin_site.each_context(request), "opts": self.opts, "receipt": receipt,
                       "title": f"Resend receipt {receipt.number}"}  # fmt: skip
            return TemplateResponse(request, "admin/receipts/receipt/resend.html", context)
        try:
            email = services.resend_receipt(receipt_id=receipt.pk, actor=request.user)
        except TransitionNotAllowed as error:
            self.message_user(request, str(error), messages.ERROR)
            return self._back(receipt)
        if email is None:
            self.message_user(
                request,
                "The donor has no email address (erased?); nothing was sent.",
                messages.WARNING,
            )
        else:
            self.message_user(
                request,
                f"A copy of {receipt.number} is on its way to {email.to}.",
                messages.SUCCESS,
            )
        return self._back(receipt)

    def void_view(self, request: HttpRequest, receipt_id: int) -> HttpResponse:
        receipt = self._receipt(request, receipt_id, change=True)
        form = VoidForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.void_receipt(
                    receipt_id=receipt.pk, reason=form.cleaned_data["reason"], actor=request.user
                )
            except TransitionNotAllowed as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"Receipt {receipt.number} is void; the donor is told.",
                    messages.SUCCESS,
                )
            return self._back(receipt)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "receipt": receipt,
            "form": form,
            "title": f"Void receipt {receipt.number}",
        }
        return TemplateResponse(request, "admin/receipts/receipt/void.html", context)


@admin.register(ReceiptProblem)
class ReceiptProblemAdmin(admin.ModelAdmin):
    list_display = [
        "last_seen_at",
        "kind",
        "supporter",
        "donation",
        "tax_year",
        "code",
        "message",
        "attempts",
        "resolved_at",
    ]
    list_filter = ["code", "kind", "jurisdiction", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["supporter__email", "supporter__last_name", "message"]
    raw_id_fields = ["supporter", "donation"]
    readonly_fields = [f.name for f in ReceiptProblem._meta.fields]
    actions = ["issue_again"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Try issuing again (after fixing the donor's details or settings)")
    def issue_again(self, request, queryset):
        from receipts import statements

        issued = 0
        for problem in queryset.filter(resolved_at__isnull=True):
            if problem.kind == Receipt.Kind.GIFT and problem.donation_id:
                issued += services.issue_gift_receipt(donation_id=problem.donation_id) is not None
            elif problem.tax_year:
                issued += len(statements.issue_annual_statements(year=problem.tax_year).issued)
        self.message_user(request, f"{issued} receipt(s) issued; the rest still show why not.")


@admin.register(GiftAidDeclaration)
class GiftAidDeclarationAdmin(admin.ModelAdmin):
    list_display = ["supporter", "made_at", "covers_from", "cancelled_at", "source"]
    search_fields = ["supporter__email", "supporter__last_name"]
    raw_id_fields = ["supporter"]


# The finance export screens (ExportLog list, "New export", downloads) live in their own module.
from receipts import admin_export  # noqa: E402, F401
