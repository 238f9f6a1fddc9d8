"""Fixtures for the emulator's own tests: one Emulator, reached both ways in."""

import pytest
import stripe

from fakestripe import Emulator
from fakestripe.server import EmulatorServer

SECRET = "whsec_test_fakestripe"


@pytest.fixture
def em():
    return Emulator(webhook_secret=SECRET)


@pytest.fixture
def server(em):
    srv = EmulatorServer(em).start()
    yield srv
    srv.stop()


@pytest.fixture(params=["in_process", "http"])
def client(request, em):
    """The official SDK, through the in-process HTTP client and through the HTTP server."""
    if request.param == "in_process":
        return em.stripe_client("sk_test_fakestripe")
    srv = request.getfixturevalue("server")
    return stripe.StripeClient("sk_test_fakestripe", base_addresses={"api": srv.url})


@pytest.fixture
def inbox(em):
    """Every webhook delivered in-process, verified as the app verifies it."""
    received: list[stripe.Event] = []

    def listener(payload: bytes, signature: str) -> None:
        received.append(stripe.Webhook.construct_event(payload, signature, SECRET))

    em.add_webhook_listener(listener)
    return received


@pytest.fixture
def customer(client):
    return client.v1.customers.create(params={"email": "donor@example.com", "name": "Dana Donor"})


@pytest.fixture
def monthly_price(client):
    return client.v1.prices.create(
        params={
            "currency": "usd",
            "unit_amount": 1500,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Monthly gift"},
        }
    )


def types(events) -> list[str]:
    return [event.type for event in events]
