"""The webhook intake: signed Stripe JSON in, one inbox row, a 2xx; anything else refused."""

import time

import pytest

from donations.models import StripeEvent
from tests.donations import stripe_events as se

pytestmark = pytest.mark.django_db

UNKNOWN = {"id": "xyz_123", "object": "something_new", "colour": "teal"}


def _post_event(client, evt, **kwargs):
    return se.post(client, se.encode(evt), **kwargs)


def test_it_stores_a_signed_event_and_answers_200(client, django_capture_on_commit_callbacks):
    evt = se.event("something.new_happened", UNKNOWN)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post_event(client, evt)
    assert response.status_code == 200
    row = StripeEvent.objects.get(stripe_id=evt["id"])
    assert row.type == "something.new_happened"
    assert row.payload == evt
    assert row.stripe_created == evt["created"]


def test_it_stores_an_unknown_type_and_marks_it_ignored(client, django_capture_on_commit_callbacks):
    evt = se.event("something.new_happened", UNKNOWN)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post_event(client, evt)
    assert response.status_code == 200
    row = StripeEvent.objects.get(stripe_id=evt["id"])
    assert row.status == StripeEvent.Status.IGNORED
    assert row.processed_at is not None


def test_it_enqueues_processing_only_after_the_row_is_committed(
    client, django_capture_on_commit_callbacks
):
    evt = se.event("charge.refunded", {"id": "ch_123", "object": "charge"})
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _post_event(client, evt)
    assert StripeEvent.objects.get(stripe_id=evt["id"]).status == StripeEvent.Status.PENDING
    assert len(callbacks) == 1


def test_an_ignored_type_costs_no_task(client, django_capture_on_commit_callbacks):
    evt = se.event("something.new_happened", UNKNOWN)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _post_event(client, evt)
    assert StripeEvent.objects.get(stripe_id=evt["id"]).status == StripeEvent.Status.IGNORED
    assert callbacks == []


def test_it_ignores_a_duplicate_event(client, django_capture_on_commit_callbacks):
    evt = se.event("something.new_happened", UNKNOWN)
    with django_capture_on_commit_callbacks(execute=True):
        _post_event(client, evt)
    first = StripeEvent.objects.get(stripe_id=evt["id"])
    changed = dict(evt, type="charge.refunded", data={"object": {"id": "ch_other"}})
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _post_event(client, changed)
    assert response.status_code == 200
    assert callbacks == []  # nothing enqueued again
    again = StripeEvent.objects.get(stripe_id=evt["id"])
    assert StripeEvent.objects.count() == 1
    assert (again.type, again.payload, again.status, again.attempts, again.processed_at) == (
        first.type,
        first.payload,
        first.status,
        first.attempts,
        first.processed_at,
    )


def test_it_refuses_a_body_that_is_not_json(client):
    response = se.post(client, b"this is not json {")
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_it_refuses_a_body_that_is_not_utf8(client):
    response = se.post(client, b"\xff\xfe{\x00}")
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'"evt_1"',
        b"{}",
        b'{"id": "evt_1"}',
        b'{"type": "charge.refunded"}',
        b'{"id": 5, "type": "x"}',
    ],
)
def test_it_refuses_json_that_is_not_an_event(client, body):
    response = se.post(client, body)
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_it_refuses_an_unsigned_event(client):
    response = _post_event(client, se.event("payment_intent.succeeded", UNKNOWN), secret=None)
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_it_refuses_an_event_signed_with_another_secret(client):
    response = _post_event(
        client, se.event("payment_intent.succeeded", UNKNOWN), secret="whsec_someone_else"
    )
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_it_refuses_a_signature_older_than_five_minutes(client):
    evt = se.event("payment_intent.succeeded", UNKNOWN)
    response = _post_event(client, evt, timestamp=int(time.time()) - 301)
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_it_accepts_a_signature_a_little_old(client, django_capture_on_commit_callbacks):
    evt = se.event("something.new_happened", UNKNOWN)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post_event(client, evt, timestamp=int(time.time()) - 200)
    assert response.status_code == 200


@pytest.mark.parametrize("header", ["", "garbage", "t=abc,v1=def", "v1=0123", "t=1700000000"])
def test_it_refuses_a_malformed_signature_header(client, header):
    response = _post_event(client, se.event("payment_intent.succeeded", UNKNOWN), header=header)
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_it_refuses_a_body_changed_after_signing(client):
    evt = se.event("payment_intent.succeeded", UNKNOWN)
    body = se.encode(evt)
    header = se.signature(body, "whsec_emulator")
    tampered = body.replace(b"teal", b"gold")
    response = se.post(client, tampered, header=header)
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_it_accepts_any_of_several_signatures_during_secret_rotation(
    client, django_capture_on_commit_callbacks
):
    evt = se.event("something.new_happened", UNKNOWN)
    body = se.encode(evt)
    ours = se.signature(body, "whsec_emulator")
    theirs = se.signature(body, "whsec_old_secret")
    header = f"{theirs},{ours.split(',')[1]}"
    with django_capture_on_commit_callbacks(execute=True):
        response = se.post(client, body, header=header)
    assert response.status_code == 200


def test_it_answers_405_to_a_get(client):
    assert client.get(se.WEBHOOK_URL).status_code == 405


def test_it_stores_and_acknowledges_while_the_broker_is_down(
    client, settings, django_capture_on_commit_callbacks
):
    settings.STRIPE_WEBHOOK_ENQUEUE = "direct"  # publish in the request, where a failure would show
    evt = se.event("payment_intent.succeeded", UNKNOWN)
    started = time.monotonic()
    # Port 1 on loopback: nothing listens, the connection is refused.
    with se.broker_down(), django_capture_on_commit_callbacks(execute=True):
        response = _post_event(client, evt)
    assert response.status_code == 200
    assert time.monotonic() - started < 5
    assert StripeEvent.objects.get(stripe_id=evt["id"]).status == StripeEvent.Status.PENDING


def test_an_event_in_another_api_version_is_logged_and_still_applied(
    client, caplog, django_capture_on_commit_callbacks
):
    from donations import gateway

    evt = dict(se.event("something.new_happened", {"id": "thing_1"}), api_version="2024-06-20")
    with django_capture_on_commit_callbacks(execute=True):
        assert se.post(client, se.encode(evt)).status_code == 200
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("2024-06-20" in w and gateway.API_VERSION in w for w in warnings)
    assert StripeEvent.objects.get(stripe_id=evt["id"]).status == "ignored"


def test_an_event_in_the_pinned_api_version_logs_nothing(
    client, caplog, django_capture_on_commit_callbacks
):
    from donations import gateway

    evt = dict(
        se.event("something.new_happened", {"id": "thing_1"}), api_version=gateway.API_VERSION
    )
    with django_capture_on_commit_callbacks(execute=True):
        se.post(client, se.encode(evt))
    assert not [r for r in caplog.records if "API version" in r.getMessage()]
