"""The periodic sweep: lost tasks are enqueued again, and events that never arrived are
fetched from Stripe's event list and stored like any delivered one."""

from datetime import timedelta

import pytest
from django.utils import timezone

from donations import inbox, tasks
from donations.models import Donation, RecurringDonation, StripeEvent
from tests.donations import gifts
from tests.donations import stripe_events as se

pytestmark = pytest.mark.django_db

UNKNOWN = {"id": "thing_1", "object": "thing"}


def _stored(
    event_type: str = "something.new_happened",
    *,
    status=StripeEvent.Status.PENDING,
    age_seconds: int = 600,
):
    evt = se.event(event_type, UNKNOWN)
    row = StripeEvent.objects.create(
        stripe_id=evt["id"],
        type=evt["type"],
        payload=evt,
        stripe_created=evt["created"],
        status=status,
    )
    StripeEvent.objects.filter(pk=row.pk).update(
        received_at=timezone.now() - timedelta(seconds=age_seconds)
    )
    return row


def _sweep(django_capture_on_commit_callbacks) -> dict:
    with django_capture_on_commit_callbacks(execute=True):
        return tasks.sweep_stripe_inbox.delay().get()


def test_it_processes_a_pending_row_whose_task_was_lost(
    stripe_emulator, django_capture_on_commit_callbacks
):
    row = _stored(age_seconds=600)
    result = _sweep(django_capture_on_commit_callbacks)
    row.refresh_from_db()
    assert row.status == StripeEvent.Status.IGNORED
    assert result["requeued"] == 1


def test_it_leaves_a_fresh_pending_row_to_its_own_task(
    stripe_emulator, django_capture_on_commit_callbacks
):
    row = _stored(age_seconds=5)
    _sweep(django_capture_on_commit_callbacks)
    row.refresh_from_db()
    assert row.status == StripeEvent.Status.PENDING


def test_it_retries_a_row_whose_retry_is_due(stripe_emulator, django_capture_on_commit_callbacks):
    row = _stored(status=StripeEvent.Status.RETRYING, age_seconds=5)
    _sweep(django_capture_on_commit_callbacks)
    row.refresh_from_db()
    assert row.status == StripeEvent.Status.IGNORED


def test_it_does_not_touch_finished_rows(stripe_emulator, django_capture_on_commit_callbacks):
    done = _stored(status=StripeEvent.Status.PROCESSED)
    ignored = _stored(status=StripeEvent.Status.IGNORED)
    assert inbox.claim_stuck_events() == []
    _sweep(django_capture_on_commit_callbacks)
    assert {r.status for r in StripeEvent.objects.filter(pk__in=[done.pk, ignored.pk])} == {
        "processed",
        "ignored",
    }


def test_it_fetches_events_that_never_arrived_and_applies_them(
    stripe_emulator, django_capture_on_commit_callbacks
):
    # No webhook listener: Stripe's deliveries are lost, only its event list knows.
    donation = gifts.give(stripe_emulator, frequency="monthly")
    assert donation.status == Donation.Status.PENDING
    result = _sweep(django_capture_on_commit_callbacks)
    assert result["stored"] == len(stripe_emulator.events)
    donation.refresh_from_db()
    assert donation.status == Donation.Status.SUCCEEDED
    assert RecurringDonation.objects.get().status == RecurringDonation.Status.ACTIVE
    assert not StripeEvent.objects.exclude(status__in=["processed", "ignored"]).exists()


def test_it_stores_nothing_twice_when_the_webhooks_did_arrive(
    stripe_webhooks, django_capture_on_commit_callbacks
):
    gifts.give(stripe_webhooks)
    before = StripeEvent.objects.count()
    assert before == len(stripe_webhooks.events)
    result = _sweep(django_capture_on_commit_callbacks)
    assert result["stored"] == 0
    assert StripeEvent.objects.count() == before


def test_it_catches_up_with_events_missed_between_delivered_ones(
    stripe_webhooks, django_capture_on_commit_callbacks
):
    gifts.give(stripe_webhooks, email="first@example.com")
    stripe_webhooks.delivery.hold = True  # the endpoint is down for a while
    missed = gifts.give(stripe_webhooks, email="second@example.com")
    assert missed.status == Donation.Status.PENDING
    _sweep(django_capture_on_commit_callbacks)
    missed.refresh_from_db()
    assert missed.status == Donation.Status.SUCCEEDED
    # When the endpoint is back and Stripe's retries arrive, they are duplicates: no-ops.
    stripe_webhooks.delivery.hold = False
    count = StripeEvent.objects.count()
    stripe_webhooks.flush_webhooks()
    assert StripeEvent.objects.count() == count


def test_its_event_list_starts_shortly_before_the_newest_stored_event(stripe_emulator, settings):
    newest = _stored()
    asked: list[int] = []

    def list_events(*, created_gte: int, created_lt=None):
        asked.append(created_gte)
        return iter([])

    from donations import gateway

    original = gateway.list_events
    gateway.list_events = list_events
    try:
        inbox.fetch_missed_events()
    finally:
        gateway.list_events = original
    assert asked == [newest.stripe_created - settings.STRIPE_EVENT_SWEEP_OVERLAP_SECONDS]


def test_it_survives_a_broker_that_is_down(stripe_emulator, settings):
    row = _stored(age_seconds=600)
    with se.broker_down():
        result = tasks.sweep_stripe_inbox()
    assert result["requeued"] == 0
    row.refresh_from_db()
    assert row.status == StripeEvent.Status.PENDING


def test_beat_runs_the_sweep(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["donations-stripe-inbox-sweep"]
    assert entry["task"] == "donations.tasks.sweep_stripe_inbox"
    assert entry["schedule"] <= 600


@pytest.mark.django_db(transaction=True)
def test_two_workers_given_the_same_event_apply_it_once():
    """The claim (filter(status=pending).update) in the processing transaction: the second
    worker waits for the first to commit, then finds nothing left to claim."""
    import threading

    from django.db import connection

    from donations.hooks import GiftFact, listen
    from tests.factories import DonationFactory

    donation = DonationFactory(status=Donation.Status.PENDING, stripe_payment_intent_id="pi_race")
    pi = {
        "id": "pi_race",
        "object": "payment_intent",
        "status": "succeeded",
        "latest_charge": None,
        "metadata": {},
    }
    row = _stored("payment_intent.succeeded", age_seconds=0)
    StripeEvent.objects.filter(pk=row.pk).update(payload=se.event("payment_intent.succeeded", pi))
    announced = []
    listener = listen(GiftFact.SUCCEEDED)(lambda event: announced.append(event.donation_id))
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def worker() -> None:
        start.wait()
        try:
            outcomes.append(inbox.process_event(event_pk=row.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        from donations.hooks import _listeners

        _listeners[GiftFact.SUCCEEDED].remove(listener)
    assert sorted(outcomes) == ["processed", "skipped"]
    assert announced == [donation.pk]
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("processed", 1)


def test_it_still_requeues_when_stripe_cannot_be_reached(
    stripe_emulator, django_capture_on_commit_callbacks
):
    import stripe

    from donations import gateway

    row = _stored(age_seconds=600)
    down = stripe.StripeClient(
        "sk_test_emulator", base_addresses={"api": "http://127.0.0.1:1"}, max_network_retries=0
    )
    with gateway.use_client(down):
        result = _sweep(django_capture_on_commit_callbacks)
    assert (result["requeued"], result["listed"]) == (1, 0)
    row.refresh_from_db()
    assert row.status == StripeEvent.Status.IGNORED
