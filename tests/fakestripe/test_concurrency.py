"""One lock: concurrent requests over HTTP neither lose updates nor charge twice."""

from concurrent.futures import ThreadPoolExecutor

import stripe


def test_concurrent_retries_with_one_key_charge_once(server, em):
    def give(_):
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": server.url})
        return client.v1.payment_intents.create(
            params={
                "amount": 700,
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": True,
            },
            options={"idempotency_key": "same-gift"},
        ).id

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(give, range(16)))
    assert len(ids) == 1
    assert len(em.by_type["charge"]) == 1


def test_concurrent_partial_refunds_never_exceed_the_charge(server, em):
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": server.url})
    pi = client.v1.payment_intents.create(
        params={
            "amount": 1000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )

    def refund(_):
        try:
            return client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 300}).amount
        except stripe.InvalidRequestError:
            return 0

    with ThreadPoolExecutor(8) as pool:
        refunded = sum(pool.map(refund, range(8)))
    assert refunded == 900
    assert client.v1.charges.retrieve(pi.latest_charge).amount_refunded == 900
