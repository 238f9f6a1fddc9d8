"""The donation form's endpoints. Thin: validation is the form's, the workflow is
donations.checkout's, the cached page is donations.page's."""

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from donations import checkout, page, ratelimit, turnstile
from donations.fees import format_amount, format_plain
from donations.forms import DonationForm
from donations.gateway import StripeError
from donations.models import Donation, RecurringDonation
from members.signin import signed_in_supporter

log = logging.getLogger(__name__)

HONEYPOT_MESSAGE = "We could not accept this form. Please reload the page and try again."
NO_SCRIPT_NOTICE = (
    "Your details look right. To enter your card securely this page needs JavaScript, which "
    "seems to be off in your browser: please turn it on and give again, or write to us."
)
CHALLENGE_MESSAGE = "Please complete the check below to continue."
# Which submitted fields a re-rendered page gives back to the donor.
_ECHOED = [
    "frequency", "amount_one_time", "amount_monthly", "amount_annual", "custom_amount", "cover_fee",
    "first_name", "last_name", "email", "address_line1", "address_line2", "city", "region",
    "postal_code", "country", "dedication_kind", "dedication_name", "source", "campaign", "donation_id",
]  # fmt: skip


def _html(built: page.Page, state: dict, *, status: int = 200) -> HttpResponse:
    response = HttpResponse(
        built.render(state), content_type="text/html; charset=utf-8", status=status
    )
    # The page carries the visitor's CSRF token: no shared cache may keep it.
    response["Cache-Control"] = "private, no-cache"
    return response


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _refuse(
    request: HttpRequest, errors: dict[str, list[str]], *, status: int, **extra
) -> HttpResponse:
    """The errors as JSON for the page's script, or the page again with each error beside its field."""
    if _wants_json(request):
        return JsonResponse({"errors": errors, **extra}, status=status)
    state = {name: request.POST.get(name, "")[:300] for name in _ECHOED}
    state["newsletters"] = request.POST.getlist("newsletters")
    state["csrfmiddlewaretoken"] = get_token(request)
    if "donation_id" in extra:
        state["donation_id"] = extra["donation_id"]
    page.add_totals(state)
    return _html(page.build(errors=errors), state, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
def donate(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _submit(request)
    built = page.current()
    return _html(built, page.visitor_state(built, request.GET, csrf_token=get_token(request)))


def _submit(request: HttpRequest) -> HttpResponse:
    form = DonationForm(request.POST)
    if form.is_bot:
        # Say little: the honeypot is only useful while bots do not know it is there.
        return _refuse(request, {"__all__": [HONEYPOT_MESSAGE]}, status=400)
    if not form.is_valid():
        return _refuse(request, _messages(form), status=400)
    if request.POST.get("validate_only") and _wants_json(request):
        # The script asks while the card is still incomplete, to show every error at once.
        return JsonResponse({"valid": True})
    if not _wants_json(request):
        state = {name: request.POST.get(name, "")[:300] for name in _ECHOED}
        state["newsletters"] = request.POST.getlist("newsletters")
        state["csrfmiddlewaretoken"] = get_token(request)
        page.add_totals(state)
        return _html(page.build(notice=NO_SCRIPT_NOTICE), state)

    gift = form.gift()
    ip = ratelimit.client_ip(request)
    verdict = ratelimit.check(ip=ip, email=gift.email)
    if not verdict.allowed:
        return _refuse(request, {"__all__": [verdict.message]}, status=429)
    if verdict.challenge and not ratelimit.passes_challenge(request):
        return _refuse(
            request,
            {"__all__": [CHALLENGE_MESSAGE]},
            status=403,
            challenge=True,
            challenge_widget=turnstile.widget(),
        )
    try:
        started = checkout.start_gift(gift=gift, ip=ip, signed_in=signed_in_supporter(request))
    except checkout.TooManyStarts as error:
        return _refuse(request, {"__all__": [str(error)]}, status=429)
    except checkout.StripeUnavailable as error:
        return _refuse(
            request,
            {"__all__": [str(error)]},
            status=503,
            donation_id=str(error.donation.public_id),
        )
    except checkout.GiftRefused as error:
        return _refuse(request, {error.field: [error.message]}, status=400)
    except checkout.AlreadyGiven as error:
        return JsonResponse({"redirect": _thanks_url(error.donation)})
    donation = started.donation
    return JsonResponse(
        {
            "client_secret": started.client_secret,
            "return_url": request.build_absolute_uri(_thanks_url(donation)),
            "donation_id": str(donation.public_id),
            "amount": donation.amount,
            "mode": "payment"
            if donation.frequency == Donation.Frequency.ONE_TIME
            else "subscription",
        }
    )


def _messages(form: DonationForm) -> dict[str, list[str]]:
    return {name: [str(message) for message in messages] for name, messages in form.errors.items()}


def _thanks_url(donation: Donation) -> str:
    return reverse("donations:thanks", args=[donation.public_id])


@require_POST
def declined(request: HttpRequest) -> JsonResponse:
    """The page reports a declined card. We ask Stripe rather than believe the page; the
    decline then counts toward the card-testing limits and marks the gift failed."""
    donation = checkout.donation_for_page(request.POST.get("donation_id", ""))
    if donation is None or not donation.stripe_payment_intent_id:
        return JsonResponse({"errors": {"__all__": ["Unknown gift."]}}, status=404)
    ip = ratelimit.client_ip(request)
    donation = _refreshed(donation, ip=ip, page_name="declined")
    verdict = ratelimit.check(ip=ip, email=donation.supporter.email)
    return JsonResponse(
        {
            "status": donation.status,
            "allowed": verdict.allowed,
            "message": "" if verdict.allowed else verdict.message,
        }
    )


# Once a gift is settled our rows (kept current by webhooks) say all the page needs.
# FAILED is not here: the donor may retry the same PaymentIntent with another card.
_SETTLED = {
    Donation.Status.SUCCEEDED,
    Donation.Status.PARTIALLY_REFUNDED,
    Donation.Status.REFUNDED,
    Donation.Status.DISPUTED,
    Donation.Status.CANCELED,
}


def _refreshed(donation: Donation, *, ip: str, page_name: str) -> Donation:
    """The gift as Stripe last told us, asking Stripe again only while the gift is unsettled
    and at most once per gift and page every DONATION_STATUS_REFRESH_SECONDS: these pages
    are public, and each request would otherwise be one Stripe call (a cheap way to spend
    our API quota). cache.add is atomic, so concurrent requests ask once. The key names the
    page so a decline report does not hide the success the donor's retry lands on."""
    if donation.status in _SETTLED:
        return donation
    window = settings.DONATION_STATUS_REFRESH_SECONDS
    if window > 0 and not cache.add(
        f"donate:status-refresh:{page_name}:{donation.pk}", 1, timeout=window
    ):
        return donation
    try:
        donation, _intent = checkout.refresh_from_stripe(donation=donation, ip=ip)
    except StripeError:
        # Show what we know; the webhook will bring the rest.
        log.warning(
            "could not refresh donation %s (%s page)", donation.public_id, page_name, exc_info=True
        )
    return donation


def _outcome(donation: Donation) -> str:
    settled = {
        Donation.Status.SUCCEEDED,
        Donation.Status.PARTIALLY_REFUNDED,
        Donation.Status.REFUNDED,
        Donation.Status.DISPUTED,
    }
    if donation.status in settled:
        return "succeeded"
    if donation.status in {
        Donation.Status.PROCESSING,
        Donation.Status.FAILED,
        Donation.Status.CANCELED,
    }:
        return str(donation.status)
    return "waiting"


@require_GET
def thanks(request: HttpRequest, public_id: str) -> HttpResponse:
    """Our return_url: the real status, read from Stripe now, not from the query string."""
    donation = checkout.donation_for_page(public_id)
    if donation is None:
        raise Http404("No such gift.")
    donation = _refreshed(donation, ip=ratelimit.client_ip(request), page_name="thanks")
    recurring = (
        RecurringDonation.objects.filter(pk=donation.recurring_id).first()
        if donation.recurring_id
        else None
    )
    gift_amount = donation.amount - donation.fee_covered
    query = {"amount": format_plain(gift_amount), "frequency": donation.frequency}
    if donation.source:
        query["source"] = donation.source
    response = render(
        request,
        "donations/thanks.html",
        {
            "donation": donation,
            "outcome": _outcome(donation),
            "amount_text": format_amount(donation.amount, donation.currency),
            "gift_description": {
                "one_time": "gift",
                "monthly": "monthly gift",
                "annual": "annual gift",
            }[donation.frequency],
            "recurring_active": recurring is not None
            and recurring.status == RecurringDonation.Status.ACTIVE,
            "failure_message": donation.failure_message,
            "retry_url": reverse("donations:donate") + "?" + urlencode(query),
        },
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response
