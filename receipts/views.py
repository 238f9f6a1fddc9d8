"""The donor's own receipts, reached through the signed, time-limited emailed link."""

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from members.models import Supporter
from receipts import links
from receipts.delivery import pdf_bytes
from receipts.models import Receipt


def _supporter_or_refusal(request: HttpRequest, token: str) -> Supporter | HttpResponse:
    try:
        return links.supporter_for_token(token)
    except signing.SignatureExpired:
        reason = "This link has expired. Use the link in your most recent receipt email, or write to us for a new one."
    except (signing.BadSignature, Supporter.DoesNotExist):
        reason = "This link is not valid. Check that you copied the whole link from your email."
    return render(request, "receipts/link_refused.html", {"reason": reason}, status=403)


@never_cache
@require_GET
def mine(request: HttpRequest, token: str) -> HttpResponse:
    supporter = _supporter_or_refusal(request, token)
    if isinstance(supporter, HttpResponse):
        return supporter
    receipts = supporter.receipts.order_by("-issued_at")
    return render(
        request,
        "receipts/mine.html",
        {"supporter": supporter, "receipts": receipts, "token": token},
    )


@never_cache
@require_GET
def mine_pdf(request: HttpRequest, token: str, number: str) -> HttpResponse:
    supporter = _supporter_or_refusal(request, token)
    if isinstance(supporter, HttpResponse):
        return supporter
    receipt = get_object_or_404(Receipt, supporter=supporter, number=number)
    return pdf_response(receipt)


def pdf_response(receipt: Receipt) -> HttpResponse:
    """The stored PDF of a live receipt; a void one is rendered again with its VOID banner."""
    if receipt.is_live and receipt.pdf:
        with receipt.pdf.open("rb") as stored:
            content = stored.read()
    else:
        content = pdf_bytes(receipt)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{receipt.pdf_filename()}"'
    return response
