"""The demo's SQLite file takes concurrent writers: staff pausing, resuming and cancelling
recurring gifts in the admin from several threads while the emulator's signed webhooks
arrive over HTTP and a real Celery worker process applies them, all on the settings
`make demo` uses (a file database, the filesystem broker, the emulator over HTTP).

Without WAL, a busy timeout and IMMEDIATE transactions this fails with "database is
locked": an admin action's transaction reads the row and then writes, and SQLite refuses
that upgrade outright when the worker committed in between."""

import threading

import pytest
from django.db import connection
from django.test import Client

from donations.models import AuditEntry, RecurringDonation, StripeEvent
from tests.donations import gifts

pytestmark = [pytest.mark.slow]

CHANGELIST = "/admin/donations/recurringdonation/"
STAFF_THREADS = 3
GIFTS_PER_THREAD = 2
# Each gift goes through this, one admin POST a step, while the others' webhooks land.
ACTIONS = ["pause", "resume", "pause", "resume", "cancel_now"]
AUDITED_AS = {
    "pause": "recurring.pause",
    "resume": "recurring.resume",
    "cancel_now": "recurring.cancel",
}


@pytest.fixture
def demo_stack(stripe_server, celery_worker, live_server):
    """The emulator over HTTP signing and POSTing every webhook to the app under
    live_server, and a real worker process (told the emulator's address through the
    environment, as the demo tells it) processing them."""
    emulator = stripe_server.emulator
    emulator.add_webhook_endpoint(live_server.url + "/stripe/webhook/")
    return emulator


@pytest.fixture(autouse=True)
def _worker_reaches_the_emulator(stripe_server, monkeypatch):
    # Requested before celery_worker (autouse runs first), so the worker's environment has it.
    monkeypatch.setenv("STRIPE_API_BASE", stripe_server.url)


def _settled(expected_at_least: int) -> bool:
    statuses = list(StripeEvent.objects.values_list("status", flat=True))
    return len(statuses) >= expected_at_least and all(
        status in (StripeEvent.Status.PROCESSED, StripeEvent.Status.IGNORED) for status in statuses
    )


def _wait_until_every_webhook_is_applied(emulator, worker) -> None:
    assert emulator.webhooks.wait_for_http(timeout=60)
    worker.wait_for(lambda: _settled(len(emulator.events)), timeout=120, interval=0.3)


def _staff_work(user, recurring_pks: list[int], failures: list[str]) -> None:
    """One member of staff, in their own thread and database connection, working through
    their gifts in the changelist as the admin's action menu posts them."""
    browser = Client()
    browser.force_login(user)
    try:
        for action in ACTIONS:
            for pk in recurring_pks:
                response = browser.post(
                    CHANGELIST, {"action": action, "_selected_action": [pk]}, follow=True
                )
                shown = [str(m) for m in response.context["messages"]] if response.context else []
                if response.status_code != 200 or not any("recurring gift(s)" in m for m in shown):
                    failures.append(f"{action} on {pk}: {response.status_code} {shown}")
    except Exception as error:  # the test client re-raises the view's exception
        failures.append(f"{type(error).__name__}: {error}")
    finally:
        connection.close()


def test_staff_actions_and_webhooks_write_side_by_side_without_database_is_locked(
    demo_stack, celery_worker, admin_user
):
    assert connection.vendor == "sqlite" and connection.settings_dict["NAME"] != ":memory:"
    emulator = demo_stack
    # One gift at a time, each settled before the next: the contention under test is
    # the staff's and the worker's below.
    for index in range(STAFF_THREADS * GIFTS_PER_THREAD):
        gifts.give(emulator, frequency="monthly", amount=1500, email=f"donor{index}@example.com")
        _wait_until_every_webhook_is_applied(emulator, celery_worker)
    recurring = list(RecurringDonation.objects.order_by("pk"))
    assert {r.status for r in recurring} == {RecurringDonation.Status.ACTIVE}
    first_new_event = (StripeEvent.objects.order_by("-pk").values_list("pk", flat=True)[0]) + 1

    failures: list[str] = []
    shares = [
        [r.pk for r in recurring[i * GIFTS_PER_THREAD : (i + 1) * GIFTS_PER_THREAD]]
        for i in range(STAFF_THREADS)
    ]
    staff = [
        threading.Thread(target=_staff_work, args=(admin_user, share, failures)) for share in shares
    ]
    for thread in staff:
        thread.start()
    for thread in staff:
        thread.join(timeout=180)
    assert not any(thread.is_alive() for thread in staff)
    assert failures == []

    _wait_until_every_webhook_is_applied(emulator, celery_worker)
    # Every action left its audit entry, in the order staff took them.
    for gift in recurring:
        trail = AuditEntry.objects.filter(object_id=str(gift.public_id)).order_by("at", "pk")
        assert list(trail.values_list("action", flat=True)) == [AUDITED_AS[a] for a in ACTIONS]
        gift.refresh_from_db()
        assert gift.status == RecurringDonation.Status.CANCELED
        assert (
            emulator.stripe_client("sk_test_emulator")
            .v1.subscriptions.retrieve(gift.stripe_subscription_id)
            .status
            == "canceled"
        )
    # Each webhook the actions caused was applied at its first attempt: none met a lock.
    new_events = StripeEvent.objects.filter(pk__gte=first_new_event)
    assert new_events.count() >= len(recurring) * len(ACTIONS)
    assert list(new_events.exclude(attempts=1).values_list("type", "last_error")) == []
    assert "database is locked" not in "".join(celery_worker.output)
