"""The inbox tells permanent failures from transient ones, and keeps one retry chain a row.

An event naming something that does not exist is retried (the row may not be written
yet) but only under a lease, so sweeps never pile up chains, and only up to an attempt
cap; a Stripe 404 is given up at once. Given-up rows are `failed`, in the admin. A signed
body with NUL, lone surrogates or absurd numbers is stored safely or refused with a 400,
never a 500 (run this file with DATABASE_URL set to PostgreSQL too: jsonb refuses \\u0000).
"""

import datetime as dt

import pytest
import time_machine
from django.db import DataError
from django.utils import timezone

from donations import inbox, tasks
from donations.models import StripeEvent
from tests.donations import stripe_events as se

pytestmark = pytest.mark.django_db

UNKNOWN_GIFT = "5b0e7a6c-1d2f-4c3b-8a9e-0f1e2d3c4b5a"


def _event_for_a_gift_that_does_not_exist() -> dict:
    return se.event(
        "payment_intent.succeeded",
        {
            "id": "pi_nowhere",
            "object": "payment_intent",
            "status": "succeeded",
            "latest_charge": None,
            "metadata": {"donation_id": UNKNOWN_GIFT},
        },
    )


@pytest.fixture
def sends(monkeypatch) -> list[int]:
    """Every processing task published (each one starts a retry chain)."""
    published: list[int] = []
    real = tasks.send_processing_task

    def send(pk: int) -> None:
        published.append(pk)
        real(pk)

    monkeypatch.setattr(tasks, "send_processing_task", send)
    return published


def _sweep(capture) -> dict:
    with capture(execute=True):
        return tasks.sweep_stripe_inbox()


def test_sweeps_never_start_a_second_chain_for_a_leased_row(
    client, stripe_emulator, django_capture_on_commit_callbacks, sends, settings
):
    settings.STRIPE_INBOX_MAX_ATTEMPTS = 4
    evt = _event_for_a_gift_that_does_not_exist()
    with django_capture_on_commit_callbacks(execute=True):
        assert se.post(client, se.encode(evt)).status_code == 200
    row = StripeEvent.objects.get(stripe_id=evt["id"])
    assert (row.status, row.attempts) == ("retrying", 1)
    assert "RowNotYetWritten" in row.last_error

    # Three sweeps while the row's own retry is scheduled: none starts another chain.
    for _ in range(3):
        assert _sweep(django_capture_on_commit_callbacks)["requeued"] == 0
    row.refresh_from_db()
    assert row.attempts == 1

    # Each time the lease runs out, exactly one sweep hands the row on, up to the cap.
    now = timezone.now()
    for step in range(1, 10):
        with time_machine.travel(now + dt.timedelta(hours=step), tick=False):
            requeued = [_sweep(django_capture_on_commit_callbacks)["requeued"] for _ in range(3)]
        row.refresh_from_db()
        if row.status == "failed":
            break
        assert requeued == [1, 0, 0]
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 4, None)
    assert sends.count(row.pk) == 4

    # Given up: later sweeps leave it to staff.
    with time_machine.travel(now + dt.timedelta(days=3), tick=False):
        assert _sweep(django_capture_on_commit_callbacks)["requeued"] == 0


def test_a_stripe_404_fails_the_event_at_once(
    client, stripe_emulator, django_capture_on_commit_callbacks
):
    evt = se.event("charge.refunded", {"id": "ch_nosuchcharge", "object": "charge"})
    with django_capture_on_commit_callbacks(execute=True):
        assert se.post(client, se.encode(evt)).status_code == 200
    row = StripeEvent.objects.get(stripe_id=evt["id"])
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error.startswith("permanent:") and "No such charge" in row.last_error
    with time_machine.travel(timezone.now() + dt.timedelta(hours=2), tick=False):
        assert _sweep(django_capture_on_commit_callbacks)["requeued"] == 0


def test_staff_see_failed_events_and_can_retry_them(
    client, admin_user, stripe_emulator, django_capture_on_commit_callbacks
):
    evt = se.event("charge.refunded", {"id": "ch_nosuchcharge", "object": "charge"})
    with django_capture_on_commit_callbacks(execute=True):
        se.post(client, se.encode(evt))
    row = StripeEvent.objects.get(stripe_id=evt["id"])
    client.force_login(admin_user)
    listing = client.get("/admin/donations/stripeevent/", {"status__exact": "failed"})
    assert evt["id"] in listing.content.decode()
    assert "No such charge" in listing.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/donations/stripeevent/", {"action": "retry", "_selected_action": [row.pk]}
        )
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 1)  # tried afresh, and Stripe still says 404


def test_the_sweep_survives_an_event_the_database_refuses(
    stripe_emulator, django_capture_on_commit_callbacks, monkeypatch
):
    from tests.donations import gifts

    gifts.give(stripe_emulator)  # no webhooks: only the event list knows
    listed = len(stripe_emulator.events)
    bad_id = stripe_emulator.events[0]["id"]
    real_store = inbox.store_event

    def store(event):
        if event["id"] == bad_id:
            raise DataError("value out of range")
        return real_store(event)

    monkeypatch.setattr(inbox, "store_event", store)
    result = _sweep(django_capture_on_commit_callbacks)
    assert result["stored"] == listed - 1
    assert not StripeEvent.objects.filter(stripe_id=bad_id).exists()


STRANGE_BODIES = {
    "nul in a name": ('"name": "Ada\\u0000Reader"', 200),
    "nul in a key": ('"na\\u0000me": "Ada"', 200),
    "lone high surrogate": ('"name": "Ada\\ud800"', 200),
    "lone low surrogate": ('"name": "\\udfffAda"', 200),
    "a real surrogate pair": ('"name": "Ada \\ud83d\\ude00"', 200),
    "a number too large for a float": ('"amount": 1e999999', 400),
    "NaN": ('"amount": NaN', 400),
    "Infinity": ('"amount": -Infinity', 400),
    "a 5000-digit integer": ('"amount": ' + "9" * 5000, 400),
    "an integer beyond bigint": ('"amount": ' + "9" * 40, 200),
    "deep nesting": ('"x": ' + "[" * 100_000 + "]" * 100_000, 400),
}


@pytest.mark.parametrize("name", list(STRANGE_BODIES))
def test_a_strange_signed_body_is_stored_safely_or_refused(client, name):
    fragment, expected = STRANGE_BODIES[name]
    body = (
        '{"id": "evt_strange", "object": "event", "type": "customer.updated", '
        '"created": 99999999999999999999999, '
        f'"data": {{"object": {{"id": "cus_1", "object": "customer", {fragment}}}}}}}'
    ).encode()
    response = se.post(client, body)
    assert response.status_code == expected
    stored = StripeEvent.objects.filter(stripe_id="evt_strange").first()
    if expected == 400:
        assert stored is None
        return
    obj = stored.payload["data"]["object"]
    text = repr(obj)
    assert "\x00" not in text and not any(0xD800 <= ord(ch) <= 0xDFFF for ch in str(obj))
    if name == "a real surrogate pair":
        assert obj["name"] == "Ada \U0001f600"
    if name.startswith(("nul", "lone")):
        assert "\ufffd" in str(obj)
    assert stored.stripe_created == 0
