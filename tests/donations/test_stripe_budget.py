"""Stripe slow: a web request's Stripe calls end within its budget, and the donor gets our
"try again" answer with the pending gift marked, never the web server's bare error page.

Stripe here is the emulator over real HTTP, reached by the gateway's own production client
(its timeouts and retries are what is under test); the emulator's "slow" fault holds each
answer back."""

import time

import pytest
import stripe

from donations import checkout, gateway
from donations.models import Donation
from fakestripe import Emulator
from fakestripe.server import EmulatorServer
from tests.donations.test_checkout import give

pytestmark = pytest.mark.django_db

BUDGET = 1.5
SLOWER_THAN_BUDGET = 4.0


@pytest.fixture
def slow_stripe(settings):
    """The emulator over HTTP, called through the gateway's real client, with a small budget."""
    emulator = Emulator(webhook_secret=settings.STRIPE_WEBHOOK_SECRET)
    server = EmulatorServer(emulator, port=0).start()
    settings.STRIPE_API_BASE = server.url
    settings.STRIPE_WEB_BUDGET_SECONDS = BUDGET
    yield emulator
    server.stop()


@pytest.fixture
def quick_retries(monkeypatch):
    monkeypatch.setattr(stripe.HTTPClient, "INITIAL_DELAY", 0.01)
    monkeypatch.setattr(stripe.HTTPClient, "MAX_DELAY", 0.02)


@pytest.mark.parametrize("slow_path", ["/v1/customers", "/v1/payment_intents"])
def test_a_slow_stripe_gets_our_try_again_within_the_budget(client, slow_stripe, slow_path):
    slow_stripe.inject_fault("slow", path=slow_path, delay=SLOWER_THAN_BUDGET, times=10)
    started = time.monotonic()
    response = give(client, custom_amount="25")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["errors"]["__all__"] == [checkout.UNREACHABLE_MESSAGE]
    assert elapsed < BUDGET + 0.5  # not STRIPE_TIMEOUT_SECONDS (20 s) x 3 tries
    donation = Donation.objects.get()
    assert (donation.status, donation.failure_code) == ("pending", checkout.STRIPE_UNREACHABLE)


def test_a_retry_after_stripe_recovers_completes_the_same_gift(client, slow_stripe):
    slow_stripe.inject_fault("slow", path="/v1/payment_intents", delay=BUDGET + 0.3)
    first = give(client, custom_amount="25").json()
    assert first["errors"]["__all__"] == [checkout.UNREACHABLE_MESSAGE]
    time.sleep(0.5)  # the slow call finishes at Stripe's end, unheard
    again = give(client, custom_amount="25", donation_id=first["donation_id"])
    assert again.status_code == 200
    donation = Donation.objects.get()
    assert donation.failure_code == ""
    # The idempotency key gave back the intent the slow call made: one, not two.
    assert slow_stripe.by_type["payment_intent"] == [donation.stripe_payment_intent_id]


def test_a_quick_stripe_is_not_limited(client, slow_stripe):
    assert give(client, custom_amount="25").status_code == 200
    assert Donation.objects.get().stripe_payment_intent_id


# --- The gateway's deadline, outside the form ----------------------------------------------


def test_outside_a_web_request_calls_keep_their_retries(slow_stripe, quick_retries):
    slow_stripe.inject_fault("api_error", path="/v1/customers", times=2)
    customer = gateway.create_customer(email="a@example.com", name="A", idempotency_key="k-1")
    assert customer.id.startswith("cus_")


def test_with_no_time_left_no_call_is_made(slow_stripe):
    with gateway.deadline(0.1), pytest.raises(gateway.StripeTooSlow):
        gateway.create_customer(email="a@example.com", name="A", idempotency_key="k-2")
    assert "customer" not in slow_stripe.by_type


def test_retries_stop_when_the_time_left_cannot_hold_one(slow_stripe):
    # Every try fails with a 500; the SDK would retry twice, backing off up to 1 s each.
    slow_stripe.inject_fault("api_error", path="/v1/customers", times=10)
    started = time.monotonic()
    with gateway.deadline(1.0), pytest.raises(stripe.APIError):
        gateway.create_customer(email="a@example.com", name="A", idempotency_key="k-3")
    assert time.monotonic() - started < 1.0


def test_the_stripe_budget_fits_inside_the_web_timeout(settings):
    assert settings.STRIPE_WEB_BUDGET_SECONDS <= settings.WEB_TIMEOUT_SECONDS * 2 / 3
