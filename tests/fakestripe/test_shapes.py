"""Every object the emulator returns has the shape of Stripe's published example."""

import json

import pytest

from tests.fakestripe.shapes import FIXTURES, check, compare
from tests.fakestripe.test_webhooks import everything

COVERED = {
    "customer",
    "payment_method",
    "setup_intent",
    "payment_intent",
    "charge",
    "balance_transaction",
    "product",
    "price",
    "subscription",
    "invoice",
    "invoice_payment",
    "refund",
    "dispute",
    "payout",
    "event",
}


@pytest.fixture
def busy(client, em):
    everything(client, em)
    customer = client.v1.customers.create(params={"email": "setup@example.com"})
    seti = client.v1.setup_intents.create(params={"customer": customer.id})
    em.confirm_with_card(seti.client_secret, "4242424242424242")
    gone = client.v1.customers.create()
    client.v1.customers.delete(gone.id)
    return em


def test_every_stored_object_matches_its_fixture(busy):
    seen = set()
    problems = []
    for obj in busy.objects.values():
        seen.add(obj["object"])
        problems += check(busy.render(obj, []))
    assert problems == []
    assert seen >= COVERED


def test_every_event_payload_matches(busy):
    problems = [p for event in busy.events for p in check(event)]
    assert problems == []


def test_expanded_responses_match(client, busy):
    pis = client.v1.payment_intents.list(
        params={
            "limit": 100,
            "expand": ["data.latest_charge", "data.customer", "data.payment_method"],
        }
    )
    subs = client.v1.subscriptions.list(
        params={
            "status": "all",
            "expand": [
                "data.latest_invoice.payments",
                "data.latest_invoice.confirmation_secret",
                "data.default_payment_method",
            ],
        }
    )
    raw = json.loads(pis.last_response.body)["data"] + json.loads(subs.last_response.body)["data"]
    assert len(raw) > 5
    assert [p for obj in raw for p in check(obj)] == []


def test_the_balance_matches(client, busy):
    balance = json.loads(client.v1.balance.retrieve().last_response.body)
    assert compare(balance, FIXTURES["balance"], "balance") == []


def test_the_comparison_catches_a_missing_key():
    broken = dict(FIXTURES["refund"])
    del broken["reason"]
    broken["surprise"] = 1
    assert compare(broken, FIXTURES["refund"], "refund") == [
        "refund: missing ['reason']",
        "refund: extra ['surprise']",
    ]


def test_the_comparison_catches_a_wrong_type():
    broken = dict(FIXTURES["charge"], amount="100")
    assert compare(broken, FIXTURES["charge"], "charge") == [
        "charge.amount: str where Stripe has int"
    ]


def test_includable_fields_are_checked_too(client, em, busy):
    customer = client.v1.customers.create()
    price = client.v1.prices.create(
        params={
            "currency": "usd",
            "unit_amount": 900,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Monthly"},
        }
    )
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "payment_behavior": "default_incomplete",
            "expand": ["latest_invoice.confirmation_secret", "latest_invoice.payments"],
        }
    )
    raw = json.loads(sub.last_response.body)
    assert raw["latest_invoice"]["confirmation_secret"]["client_secret"]
    assert raw["latest_invoice"]["payments"]["data"]
    assert check(raw) == []
    raw["latest_invoice"]["confirmation_secret"]["extra"] = 1
    assert check(raw) != []
