"""The project's URLs plus the baseline the webhook intake is measured against.

The baseline does the least a webhook endpoint can: check the HMAC and INSERT one row
(the raw body, unparsed, into the same inbox table), then answer 200.
"""

import hashlib

import stripe
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from donations.models import StripeEvent


@csrf_exempt
def bare_webhook(request: HttpRequest) -> HttpResponse:
    body = request.body
    try:
        stripe.WebhookSignature.verify_header(
            body,
            request.headers.get("Stripe-Signature"),
            settings.STRIPE_WEBHOOK_SECRET,
            tolerance=300,
        )
    except stripe.SignatureVerificationError:
        return HttpResponseBadRequest()
    StripeEvent.objects.create(
        stripe_id="bare_" + hashlib.sha256(body).hexdigest(), type="bench", payload=body.decode()
    )
    return HttpResponse(status=200)


urlpatterns = [
    path("bench/bare-webhook/", bare_webhook),
    path("", include("config.urls")),
]
