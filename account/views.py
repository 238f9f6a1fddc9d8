"""The donor's own pages: sign in with an emailed link, then manage recurring gifts,
newsletters and receipts. Thin views: the work is in the domain apps' services."""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from account.forms import SignInRequestForm
from donations import recurring as recurring_services
from donations.fees import format_amount
from donations.forms import RecurringAmountForm
from donations.gateway import StripeError
from donations.models import RecurringDonation
from donations.ratelimit import bump, client_ip
from members import signin
from members.models import Newsletter, NewsletterSubscription, Supporter
from members.services import newsletter_subscribe, newsletter_unsubscribe
from members.tasks import send_signin_link
from receipts.models import Receipt
from receipts.views import pdf_response

BY_DONOR = "by the donor, signed in with an emailed link"


def donor_required(view):
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        supporter = signin.signed_in_supporter(request)
        if supporter is None:
            return redirect("account:request")
        return view(request, supporter, *args, **kwargs)

    return never_cache(wrapper)


def _ip_over_limit(request: HttpRequest) -> bool:
    """Count one request against the client's IP; True past SIGNIN_REQUESTS_PER_HOUR.

    Only the IP is refused. An address is never refused (that would let anyone lock a
    donor out by asking for their address); its emails are coalesced instead."""
    key = signin.limit_key("ip", client_ip(request))
    return bump(key, window_seconds=3600) > settings.SIGNIN_REQUESTS_PER_HOUR


@never_cache
@require_http_methods(["GET", "POST"])
def request_link(request: HttpRequest) -> HttpResponse:
    form = SignInRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        if _ip_over_limit(request):
            form.add_error(None, "Too many sign-in emails were asked for. Try again in an hour.")
        else:
            # The same work and the same answer whether or not we know the address: the
            # page must not tell a stranger, by its words or its timing, who gives to us.
            if signin.first_request_in_window(email):
                transaction.on_commit(lambda: send_signin_link.delay(email))
            return render(request, "account/link_sent.html", {"email": email})
    return render(request, "account/request.html", {"form": form})


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest, token: str) -> HttpResponse:
    # GET only shows a button: mail scanners follow links, and the link works once.
    try:
        if request.method == "POST":
            supporter = signin.claim_link(token)
            signin.sign_in(request, supporter)
            return redirect("account:home")
        supporter = signin.supporter_for_signin(token)
    except signin.LinkRefused as refusal:
        form = SignInRequestForm()
        return render(
            request, "account/request.html", {"form": form, "refusal": str(refusal)}, status=403
        )
    return render(request, "account/sign_in.html", {"supporter": supporter})


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    signin.sign_out(request)
    return redirect("account:request")


@donor_required
def home(request: HttpRequest, supporter: Supporter) -> HttpResponse:
    subscribed = set(
        supporter.subscriptions.filter(status=NewsletterSubscription.Status.SUBSCRIBED).values_list(
            "newsletter_id", flat=True
        )
    )
    context = {
        "supporter": supporter,
        "recurring_gifts": [
            (gift, format_amount(gift.amount, gift.currency))
            for gift in supporter.recurring_donations.filter(
                status__in=recurring_services.LIVE
            ).order_by("-created_at")
        ],
        "newsletters": [(n, n.pk in subscribed) for n in Newsletter.objects.all()],
        "receipts": supporter.receipts.order_by("-issued_at")[:50],
    }
    return render(request, "account/home.html", context)


@require_POST
@donor_required
def recurring_action(
    request: HttpRequest, supporter: Supporter, public_id, action: str
) -> HttpResponse:
    recurring = get_object_or_404(RecurringDonation, public_id=public_id, supporter=supporter)
    try:
        if action == "amount":
            form = RecurringAmountForm(request.POST, currency=recurring.currency)
            if not form.is_valid():
                messages.error(request, " ".join(form.errors.get("amount", ["Enter an amount."])))
                return redirect("account:home")
            recurring_services.recurring_change_amount(
                recurring=recurring, amount=form.amount_minor, actor=None, reason=BY_DONOR
            )
            messages.success(request, "Your new amount applies from your next payment.")
        elif action == "pause":
            recurring_services.recurring_pause(recurring=recurring, actor=None, reason=BY_DONOR)
            messages.success(request, "Your gift is paused. Resume it whenever you like.")
        elif action == "resume":
            was = recurring.status
            recurring_services.recurring_resume(recurring=recurring, actor=None, reason=BY_DONOR)
            if was == RecurringDonation.Status.PAYMENT_PAUSED:
                messages.success(
                    request,
                    "Your gift is running again: we have just tried your card for this "
                    "period's payment. Thank you!",
                )
            else:
                messages.success(request, "Your gift is running again. Thank you!")
        elif action == "cancel":
            recurring_services.recurring_cancel(
                recurring=recurring, actor=None, at_period_end=True, reason=BY_DONOR
            )
            messages.success(request, "Your gift will end after the period you have paid for.")
        else:
            return HttpResponse("Unknown action.", status=404, content_type="text/plain")
    except recurring_services.ActionRefused as refusal:
        messages.error(request, str(refusal))
    except StripeError:
        messages.error(request, "We could not reach our card processor. Please try again.")
    return redirect("account:home")


@require_POST
@donor_required
def newsletters(request: HttpRequest, supporter: Supporter) -> HttpResponse:
    wanted = set(request.POST.getlist("newsletters"))
    for newsletter in Newsletter.objects.all():
        subscription = supporter.subscriptions.filter(newsletter=newsletter).first()
        is_on = subscription is not None and subscription.status == "subscribed"
        if newsletter.slug in wanted and not is_on:
            newsletter_subscribe(
                supporter=supporter, newsletter=newsletter, source="account", ip=client_ip(request)
            )
        elif newsletter.slug not in wanted and is_on:
            newsletter_unsubscribe(subscription=subscription)
    messages.success(request, "Your newsletters are saved.")
    return redirect("account:home")


@donor_required
def receipt_pdf(request: HttpRequest, supporter: Supporter, number: str) -> HttpResponse:
    return pdf_response(get_object_or_404(Receipt, supporter=supporter, number=number))
