"""Injected faults: Stripe down, rate limiting, dropped connections, slow answers."""

import time

import pytest
import stripe


@pytest.fixture
def quick_retries(monkeypatch):
    monkeypatch.setattr(stripe.HTTPClient, "INITIAL_DELAY", 0.01)
    monkeypatch.setattr(stripe.HTTPClient, "MAX_DELAY", 0.02)


@pytest.fixture(params=["in_process", "http"])
def retrying_client(request, em):
    if request.param == "in_process":
        return em.stripe_client("sk_test_x", max_network_retries=2)
    srv = request.getfixturevalue("server")
    return stripe.StripeClient("sk_test_x", base_addresses={"api": srv.url}, max_network_retries=2)


def test_an_api_error_raises_apierror(client, em):
    em.inject_fault("api_error", method="POST", path="/v1/payment_intents")
    with pytest.raises(stripe.APIError) as caught:
        client.v1.payment_intents.create(params={"amount": 500, "currency": "usd"})
    assert caught.value.http_status == 500
    assert "payment_intent" not in em.by_type


def test_a_rate_limit_raises_ratelimiterror(client, em):
    em.inject_fault("rate_limit")
    with pytest.raises(stripe.RateLimitError):
        client.v1.customers.create()
    assert client.v1.customers.create().id.startswith("cus_")


def test_a_dropped_connection_raises_apiconnectionerror(client, em):
    em.inject_fault("connection", path="/v1/customers")
    with pytest.raises(stripe.APIConnectionError):
        client.v1.customers.create()
    assert "customer" not in em.by_type


def test_the_sdk_retries_a_500(retrying_client, em, quick_retries):
    em.inject_fault("api_error", times=2)
    assert retrying_client.v1.customers.create().id.startswith("cus_")


def test_a_lost_response_retried_with_its_key_charges_once(retrying_client, em, quick_retries):
    em.inject_fault("lost_response", method="POST", path="/v1/payment_intents")
    pi = retrying_client.v1.payment_intents.create(
        params={
            "amount": 500,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
        },
        options={"idempotency_key": "gift-42"},
    )
    assert pi.status == "succeeded"
    assert pi.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(em.by_type["charge"]) == 1


def test_a_slow_answer(client, em):
    em.inject_fault("slow", delay=0.3)
    started = time.monotonic()
    client.v1.customers.create()
    assert time.monotonic() - started >= 0.3


def test_faults_are_used_up(client, em):
    em.inject_fault("api_error", times=1)
    with pytest.raises(stripe.APIError):
        client.v1.customers.create()
    client.v1.customers.create()


def test_an_unknown_fault_kind_is_refused(em):
    with pytest.raises(ValueError):
        em.inject_fault("meteor")
