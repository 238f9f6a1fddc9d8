"""Webhooks: signed as Stripe signs them, delivered in-process and over HTTP, with the
duplicate / hold / reverse switches."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import stripe

from fakestripe import webhooks
from tests.fakestripe.conftest import SECRET, types

ISSUE_EVENT_TYPES = {
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "invoice.paid",
    "invoice.payment_failed",
    "invoice.payment_action_required",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "charge.refunded",
    "refund.created",
    "charge.dispute.created",
    "charge.dispute.closed",
    "payout.paid",
    "payout.reconciliation_completed",
}


def everything(client, em):
    """A day in the life of the newsroom's Stripe account, producing every event type."""
    customer = client.v1.customers.create(params={"email": "d@example.com"})
    ok = client.v1.payment_intents.create(
        params={
            "amount": 5000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    with pytest.raises(stripe.CardError):
        client.v1.payment_intents.create(
            params={
                "amount": 5000,
                "currency": "usd",
                "payment_method": "pm_card_chargeDeclined",
                "confirm": True,
            }
        )
    pending = client.v1.payment_intents.create(params={"amount": 5000, "currency": "usd"})
    client.v1.payment_intents.cancel(pending.id)
    client.v1.refunds.create(params={"payment_intent": ok.id, "amount": 1000})
    disputed = client.v1.payment_intents.create(
        params={
            "amount": 3000,
            "currency": "usd",
            "payment_method": "pm_card_createDispute",
            "confirm": True,
        }
    )
    dispute = client.v1.disputes.list(params={"payment_intent": disputed.id}).data[0]
    em.close_dispute(dispute.id, status="won")
    price = client.v1.prices.create(
        params={
            "currency": "usd",
            "unit_amount": 1000,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Monthly"},
        }
    )
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "payment_behavior": "default_incomplete",
            "payment_settings": {"save_default_payment_method": "on_subscription"},
            "expand": ["latest_invoice.confirmation_secret"],
        }
    )
    em.confirm_with_card(sub.latest_invoice.confirmation_secret.client_secret, "4000002760003184")
    em.complete_3ds(
        client.v1.invoices.retrieve(sub.latest_invoice.id, params={"expand": ["payments"]})
        .payments.data[0]
        .payment.payment_intent
    )
    em.advance_past_next_renewal(sub.id)  # 3184 asks again: invoice.payment_action_required
    failing = client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", params={"customer": customer.id}
    )
    with pytest.raises(stripe.CardError):  # paying it with 0341 fails: invoice.payment_failed
        client.v1.invoices.pay(
            client.v1.subscriptions.retrieve(sub.id).latest_invoice,
            params={"payment_method": failing.id},
        )
    em.advance_clock(days=4)  # payouts run daily: payout.paid
    client.v1.subscriptions.cancel(sub.id)


def test_every_event_type_is_delivered_and_verifies(client, em, inbox):
    everything(client, em)
    assert set(types(inbox)) >= ISSUE_EVENT_TYPES
    assert len({e.id for e in inbox}) == len(inbox)


def test_the_signature_is_stripes_scheme(em):
    deliveries = []
    em.add_webhook_listener(lambda payload, header: deliveries.append((payload, header)))
    em.stripe_client().v1.customers.create()
    payload, header = deliveries[0]
    timestamp, signature = (part.split("=", 1)[1] for part in header.split(","))
    assert header.startswith("t=") and ",v1=" in header
    expected = stripe.WebhookSignature._compute_signature(f"{timestamp}.{payload.decode()}", SECRET)
    assert signature == expected
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, header, "whsec_wrong")


def test_events_are_signed_with_wall_time_even_after_the_clock_moves(client, em, inbox):
    em.advance_clock(days=40)
    client.v1.customers.create()
    assert (
        inbox[-1].created >= em.now() - 5
    )  # created on the emulator clock, verified on the wall clock


def test_duplicate_delivers_each_event_twice(client, em, inbox):
    em.delivery.duplicate = True
    client.v1.customers.create()
    assert [e.type for e in inbox] == ["customer.created", "customer.created"]
    assert inbox[0].id == inbox[1].id


def test_hold_queues_until_flushed(client, em, inbox):
    em.delivery.hold = True
    client.v1.customers.create()
    assert inbox == []
    em.flush_webhooks()
    assert types(inbox) == ["customer.created"]


def test_reverse_delivers_newest_first_on_flush(client, em, inbox):
    em.delivery.reverse = True
    client.v1.payment_intents.create(
        params={
            "amount": 5000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    assert inbox == []
    em.flush_webhooks()
    assert types(inbox) == [
        "payment_intent.succeeded",
        "charge.succeeded",
        "payment_intent.created",
    ]


def test_a_listener_may_call_the_emulator_back(client, em):
    seen = []

    def listener(payload: bytes, header: str) -> None:
        event = json.loads(payload)
        if event["type"] == "payment_intent.succeeded":
            seen.append(
                em.stripe_client().v1.payment_intents.retrieve(event["data"]["object"]["id"]).status
            )

    em.add_webhook_listener(listener)
    client.v1.payment_intents.create(
        params={
            "amount": 5000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    assert seen == ["succeeded"]


def test_a_failing_listener_raises_unless_told_otherwise(em):
    def broken(payload: bytes, header: str) -> None:
        raise RuntimeError("handler bug")

    em.add_webhook_listener(broken)
    with pytest.raises(RuntimeError):
        em.stripe_client().v1.customers.create()
    em.delivery.raise_errors = False
    em.stripe_client().v1.customers.create()
    assert em.webhooks.log[-1].error == "RuntimeError('handler bug')"


class _Receiver(BaseHTTPRequestHandler):
    received: list = []
    fail_first = 0

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if type(self).fail_first > 0:
            type(self).fail_first -= 1
            self.send_response(500)
        else:
            type(self).received.append(
                stripe.Webhook.construct_event(body, self.headers["Stripe-Signature"], SECRET)
            )
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        """Quiet: the test reads requests, not an access log."""


@pytest.fixture
def receiver():
    _Receiver.received = []
    _Receiver.fail_first = 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/stripe/webhook/", _Receiver
    httpd.shutdown()
    httpd.server_close()


def test_http_endpoints_receive_signed_posts(em, receiver):
    url, handler = receiver
    em.add_webhook_endpoint(url)
    em.stripe_client().v1.customers.create()
    assert em.webhooks.wait_for_http(timeout=10)
    assert [e.type for e in handler.received] == ["customer.created"]


def test_http_delivery_retries_after_an_error(em, receiver, monkeypatch):
    monkeypatch.setattr(webhooks, "RETRY_DELAYS_SECONDS", (0.01, 0.01))
    url, handler = receiver
    handler.fail_first = 1
    em.add_webhook_endpoint(url)
    em.stripe_client().v1.customers.create()
    assert em.webhooks.wait_for_http(timeout=10)
    assert [e.type for e in handler.received] == ["customer.created"]
    assert [record.status for record in em.webhooks.log] == [500, 200]


def test_the_control_endpoint_registers_a_url(server, receiver):
    import urllib.parse
    import urllib.request

    url, handler = receiver
    data = urllib.parse.urlencode({"url": url}).encode()
    urllib.request.urlopen(f"{server.url}/_emulator/webhook_endpoints", data=data, timeout=5)
    server.emulator.stripe_client().v1.customers.create()
    assert server.emulator.webhooks.wait_for_http(timeout=10)
    assert len(handler.received) == 1
