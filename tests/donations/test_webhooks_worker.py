"""End to end with real processes: the emulator over HTTP signs and POSTs each webhook to
the app under live_server, the view stores it, and a real `celery worker` (Redis and
PostgreSQL in CI, the filesystem broker and SQLite here) processes it, asking the
emulator over HTTP for what the handlers read."""

import pytest

from donations import gateway
from donations.models import Donation, LedgerEntry, RecurringDonation, StripeEvent
from tests.donations import gifts

pytestmark = [pytest.mark.slow]


@pytest.fixture
def worker_reaches_stripe(stripe_server, monkeypatch):
    """The worker process is configured from the environment, like production: point its
    Stripe client at the emulator's HTTP address. Requested before `celery_worker`."""
    monkeypatch.setenv("STRIPE_API_BASE", stripe_server.url)
    return stripe_server


@pytest.fixture
def delivering(worker_reaches_stripe, celery_worker, live_server):
    emulator = worker_reaches_stripe.emulator
    emulator.add_webhook_endpoint(live_server.url + "/stripe/webhook/")
    return emulator


def _settled() -> bool:
    rows = list(StripeEvent.objects.values_list("status", flat=True))
    return bool(rows) and all(status in ("processed", "ignored") for status in rows)


def _wait_for_deliveries(emulator, worker) -> None:
    assert emulator.webhooks.wait_for_http(timeout=30)
    worker.wait_for(
        lambda: StripeEvent.objects.count() >= len(emulator.events) and _settled(), timeout=60
    )


def test_a_real_worker_processes_a_monthly_gift_its_renewal_and_a_refund(delivering, celery_worker):
    emulator = delivering
    # Stripe repeats and reorders; the rows must not care.
    emulator.delivery.duplicate = True
    emulator.delivery.reverse = True
    donation = gifts.give(emulator, frequency="monthly")
    emulator.flush_webhooks()
    _wait_for_deliveries(emulator, celery_worker)

    donation.refresh_from_db()
    recurring = RecurringDonation.objects.get()
    assert donation.status == Donation.Status.SUCCEEDED
    assert recurring.status == RecurringDonation.Status.ACTIVE

    emulator.advance_past_next_renewal()
    emulator.flush_webhooks()
    _wait_for_deliveries(emulator, celery_worker)
    assert recurring.payments.filter(status=Donation.Status.SUCCEEDED).count() == 2

    charge_id = emulator.retrieve(donation.stripe_payment_intent_id)["latest_charge"]
    gateway.client().v1.refunds.create(params={"charge": charge_id})
    emulator.flush_webhooks()
    _wait_for_deliveries(emulator, celery_worker)
    donation.refresh_from_db()
    assert donation.status == Donation.Status.REFUNDED
    assert sorted(LedgerEntry.objects.values_list("kind", flat=True)) == [
        "charge",
        "charge",
        "refund",
    ]
    assert StripeEvent.objects.count() == len(emulator.events)


def test_a_real_worker_retries_an_event_for_a_row_not_yet_written(celery_worker, client):
    from tests.donations import stripe_events as se
    from tests.factories import DonationFactory

    public_id = "5b0e7a6c-1d2f-4c3b-8a9e-0f1e2d3c4b5a"
    pi = {
        "id": "pi_writtenlater",
        "object": "payment_intent",
        "status": "succeeded",
        "latest_charge": None,
        "metadata": {"donation_id": public_id},
    }
    evt = se.event("payment_intent.succeeded", pi)
    assert se.post(client, se.encode(evt)).status_code == 200
    row = celery_worker.wait_for(
        lambda: StripeEvent.objects.filter(stripe_id=evt["id"], status="retrying").first()
    )
    assert "RowNotYetWritten" in row.last_error
    # The checkout's transaction commits a moment later; the task's own retry (5 s
    # backoff) applies the event, with no sweep involved.
    DonationFactory(
        public_id=public_id,
        status=Donation.Status.PENDING,
        stripe_payment_intent_id="pi_writtenlater",
    )
    celery_worker.wait_for(
        lambda: Donation.objects.filter(public_id=public_id, status="succeeded").exists(),
        timeout=30,
    )
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("processed", 2)
