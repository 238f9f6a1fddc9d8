"""Idempotency-Key: replay, refusal on a different body or endpoint, errors replayed too."""

import pytest
import stripe


def test_the_same_key_and_body_replays_the_first_response(client, em):
    first = client.v1.payment_intents.create(
        params={"amount": 1000, "currency": "usd"}, options={"idempotency_key": "gift-1"}
    )
    again = client.v1.payment_intents.create(
        params={"amount": 1000, "currency": "usd"}, options={"idempotency_key": "gift-1"}
    )
    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(em.by_type["payment_intent"]) == 1


def test_the_same_key_with_a_different_body_is_refused(client):
    client.v1.customers.create(
        params={"email": "a@example.com"}, options={"idempotency_key": "k-1"}
    )
    with pytest.raises(stripe.IdempotencyError) as caught:
        client.v1.customers.create(
            params={"email": "b@example.com"}, options={"idempotency_key": "k-1"}
        )
    assert caught.value.http_status == 400
    assert caught.value.json_body["error"]["type"] == "idempotency_error"
    assert "same parameters" in caught.value.user_message


def test_the_same_key_on_another_endpoint_is_refused(client):
    client.v1.customers.create(options={"idempotency_key": "k-2"})
    with pytest.raises(stripe.IdempotencyError) as caught:
        client.v1.products.create(params={"name": "x"}, options={"idempotency_key": "k-2"})
    assert "same endpoint" in caught.value.user_message


def test_a_card_decline_is_replayed_not_retried(client, em):
    params = {
        "amount": 1000,
        "currency": "usd",
        "payment_method": "pm_card_chargeDeclined",
        "confirm": True,
    }
    for _ in range(2):
        with pytest.raises(stripe.CardError):
            client.v1.payment_intents.create(
                params=params, options={"idempotency_key": "decline-1"}
            )
    assert len(em.by_type["charge"]) == 1


def test_a_request_refused_before_it_ran_saves_nothing(client):
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.create(params={"emial": "x"}, options={"idempotency_key": "k-3"})
    customer = client.v1.customers.create(
        params={"email": "x@example.com"}, options={"idempotency_key": "k-3"}
    )
    assert customer.email == "x@example.com"


def test_keys_are_per_api_key(em):
    one = em.stripe_client("sk_test_one").v1.customers.create(options={"idempotency_key": "shared"})
    two = em.stripe_client("sk_test_two").v1.customers.create(options={"idempotency_key": "shared"})
    assert one.id != two.id
