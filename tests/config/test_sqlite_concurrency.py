"""The demo's SQLite file takes concurrent writers: staff pausing, resuming and cancelling
recurring gifts in the admin, and donors doing the same from /account/, in several
threads while the emulator's signed webhooks
arrive over HTTP and a real Celery worker process applies them, all on the settings
`make demo` uses (a file database, the filesystem broker, the emulator over HTTP).

Without WAL, a busy timeout and IMMEDIATE transactions this fails with "database is
locked": an admin action's transaction reads the row and then writes, and SQLite refuses
that upgrade outright when the worker committed in between."""

import re
import threading
import time

import pytest
from django.db import connection
from django.test import Client

from donations.models import AuditEntry, RecurringDonation, StripeEvent
from members.signin import signin_token
from tests.donations import gifts

pytestmark = [pytest.mark.slow]

CHANGELIST = "/admin/donations/recurringdonation/"
STAFF_THREADS = 3
GIFTS_PER_THREAD = 2
DONOR_THREADS = 2
# Each gift goes through these, one POST a step, while the others' webhooks land.
STAFF_ACTIONS = ["pause", "resume", "pause", "resume", "cancel_now"]
STAFF_AUDIT = [
    "recurring.pause",
    "recurring.resume",
    "recurring.pause",
    "recurring.resume",
    "recurring.cancel",
]
DONOR_ACTIONS = ["pause", "resume", "pause", "resume", "cancel"]
DONOR_AUDIT = [*STAFF_AUDIT[:4], "recurring.cancel_at_period_end"]
# Before its next step a thread waits until the webhooks of its own gifts are applied, so
# each step's outcome can be checked on its own; the other threads and the worker carry
# on meanwhile. (Event ordering is tested in tests/donations/test_recurring_admin.py.)
WEBHOOKS_APPLIED_WITHIN_SECONDS = 60


def _wait_for_webhooks_about(emulator, subscription_ids: set[str]) -> None:
    deadline = time.monotonic() + WEBHOOKS_APPLIED_WITHIN_SECONDS
    while time.monotonic() < deadline:
        sent = sum(
            1 for e in list(emulator.events) if e["data"]["object"].get("id") in subscription_ids
        )
        applied = StripeEvent.objects.filter(
            payload__data__object__id__in=subscription_ids,
            status__in=[StripeEvent.Status.PROCESSED, StripeEvent.Status.IGNORED],
        ).count()
        if applied >= sent:
            return
        time.sleep(0.1)
    stored = StripeEvent.objects.filter(payload__data__object__id__in=subscription_ids)
    raise AssertionError(
        f"{sent} webhooks about {subscription_ids}, not applied in time: "
        f"{list(stored.values_list('type', 'status', 'attempts', 'last_error'))}"
    )


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


def _messages(page: bytes) -> list[str]:
    return re.findall(r'<li class="[^"]*">(.*?)</li>', page.decode(), re.S)[:5]


def _staff_work(emulator, user, gifts: list[RecurringDonation], failures: list[str]) -> None:
    """One member of staff, in their own thread and database connection, working through
    their gifts in the changelist as the admin's action menu posts them."""
    browser = Client()
    browser.force_login(user)
    try:
        for action in STAFF_ACTIONS:
            for gift in gifts:
                response = browser.post(
                    CHANGELIST, {"action": action, "_selected_action": [gift.pk]}, follow=True
                )
                # The page, not response.context: the test client gathers contexts through
                # a process-wide signal, so other threads' pages would mix in.
                if response.status_code != 200 or b"recurring gift(s)" not in response.content:
                    failures.append(
                        f"{action} on {gift.pk}: {response.status_code} "
                        f"{_messages(response.content)}"
                    )
            _wait_for_webhooks_about(emulator, {g.stripe_subscription_id for g in gifts})
    except Exception as error:  # the test client re-raises the view's exception
        failures.append(f"{type(error).__name__}: {error}")
    finally:
        connection.close()


def _donor_work(emulator, gift: RecurringDonation, failures: list[str]) -> None:
    """A donor signed in through their emailed link, managing their gift at /account/."""
    browser = Client()
    try:
        assert browser.post(f"/account/sign-in/{signin_token(gift.supporter)}/").status_code == 302
        for action in DONOR_ACTIONS:
            response = browser.post(f"/account/recurring/{gift.public_id}/{action}/", follow=True)
            # Every confirmation starts "Your gift"; a refusal or Stripe error does not.
            if response.status_code != 200 or b"Your gift" not in response.content:
                failures.append(f"donor {action} on {gift.pk}: {response.status_code}")
            _wait_for_webhooks_about(emulator, {gift.stripe_subscription_id})
    except Exception as error:
        failures.append(f"{type(error).__name__}: {error}")
    finally:
        connection.close()


def test_staff_actions_and_webhooks_write_side_by_side_without_database_is_locked(
    demo_stack, celery_worker, admin_user
):
    if connection.vendor != "sqlite":
        pytest.skip("the demo's SQLite settings under load; CI runs it again on SQLite")
    assert connection.settings_dict["NAME"] != ":memory:"
    emulator = demo_stack
    # One gift at a time, each settled before the next: the contention under test is
    # the staff's and the worker's below.
    for index in range(STAFF_THREADS * GIFTS_PER_THREAD + DONOR_THREADS):
        gifts.give(emulator, frequency="monthly", amount=1500, email=f"donor{index}@example.com")
        _wait_until_every_webhook_is_applied(emulator, celery_worker)
    recurring = list(RecurringDonation.objects.order_by("pk"))
    assert {r.status for r in recurring} == {RecurringDonation.Status.ACTIVE}
    first_new_event = (StripeEvent.objects.order_by("-pk").values_list("pk", flat=True)[0]) + 1

    staff_gifts, donor_gifts = recurring[:-DONOR_THREADS], recurring[-DONOR_THREADS:]

    failures: list[str] = []
    shares = [
        staff_gifts[i * GIFTS_PER_THREAD : (i + 1) * GIFTS_PER_THREAD] for i in range(STAFF_THREADS)
    ]
    threads = [
        *(
            threading.Thread(target=_staff_work, args=(emulator, admin_user, share, failures))
            for share in shares
        ),
        *(
            threading.Thread(target=_donor_work, args=(emulator, gift, failures))
            for gift in donor_gifts
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []

    _wait_until_every_webhook_is_applied(emulator, celery_worker)
    # Every action left its audit entry, in the order it was taken.
    stripe = emulator.stripe_client("sk_test_emulator").v1.subscriptions
    for gift in recurring:
        trail = AuditEntry.objects.filter(object_id=str(gift.public_id)).order_by("at", "pk")
        expected = STAFF_AUDIT if gift in staff_gifts else DONOR_AUDIT
        assert list(trail.values_list("action", flat=True)) == expected
        gift.refresh_from_db()
        at_stripe = stripe.retrieve(gift.stripe_subscription_id)
        if gift in staff_gifts:
            assert (gift.status, at_stripe.status) == ("canceled", "canceled")
        else:
            assert (gift.status, gift.cancel_at_period_end) == ("active", True)
            assert (at_stripe.status, at_stripe.cancel_at_period_end) == ("active", True)
    # Each webhook the actions caused was applied at its first attempt: none met a lock.
    new_events = StripeEvent.objects.filter(pk__gte=first_new_event)
    assert new_events.count() >= len(recurring) * len(STAFF_ACTIONS)
    assert list(new_events.exclude(attempts=1).values_list("type", "last_error")) == []
    assert "database is locked" not in "".join(celery_worker.output)
