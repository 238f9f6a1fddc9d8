"""PaymentIntents with each of Stripe's test cards, through both ways in."""

import pytest
import stripe


def create_pi(client, customer=None, **extra):
    params = {"amount": 2500, "currency": "usd", "metadata": {"donation": "d-1"}, **extra}
    if customer is not None:
        params["customer"] = customer.id
    return client.v1.payment_intents.create(params=params)


def test_a_new_payment_intent_waits_for_a_payment_method(client, customer):
    pi = create_pi(client, customer)
    assert pi.status == "requires_payment_method"
    assert pi.client_secret.startswith(pi.id + "_secret_")
    assert pi.metadata["donation"] == "d-1"
    assert pi.latest_charge is None


def test_4242_succeeds_with_a_charge_and_stripes_fee(client, em, customer):
    pi = create_pi(client, customer)
    confirmed = em.confirm_with_card(pi.client_secret, "4242424242424242")
    assert confirmed["status"] == "succeeded"

    pi = client.v1.payment_intents.retrieve(
        pi.id, params={"expand": ["latest_charge.balance_transaction"]}
    )
    assert pi.amount_received == 2500
    charge = pi.latest_charge
    assert charge.paid and charge.status == "succeeded"
    assert charge.payment_method_details.card.last4 == "4242"
    txn = charge.balance_transaction
    # 2.9% + 30c of $25.00 = 72.5 + 30 -> 103 cents (half rounds up)
    assert (txn.amount, txn.fee, txn.net) == (2500, 103, 2397)
    assert txn.type == "charge" and txn.source == charge.id


def test_latest_charge_is_an_id_unless_expanded(client, em):
    pi = create_pi(client)
    em.confirm_with_card(pi.client_secret)
    pi = client.v1.payment_intents.retrieve(pi.id)
    assert isinstance(pi.latest_charge, str) and pi.latest_charge.startswith("ch_")


@pytest.mark.parametrize(
    ("number", "code", "decline_code", "message"),
    [
        ("4000000000000002", "card_declined", "generic_decline", "Your card was declined."),
        (
            "4000000000009995",
            "card_declined",
            "insufficient_funds",
            "Your card has insufficient funds.",
        ),
        ("4000000000009987", "card_declined", "lost_card", "Your card was declined."),
        ("4000000000000069", "expired_card", None, "Your card has expired."),
        ("4000000000000127", "incorrect_cvc", None, "Your card's security code is incorrect."),
    ],
)
def test_declining_cards_leave_the_error_on_the_payment_intent(
    client, em, number, code, decline_code, message
):
    pi = create_pi(client)
    confirmed = em.confirm_with_card(pi.client_secret, number)
    assert confirmed["status"] == "requires_payment_method"
    error = confirmed["last_payment_error"]
    assert (error["type"], error["code"], error.get("decline_code"), error["message"]) == (
        "card_error",
        code,
        decline_code,
        message,
    )
    charge = client.v1.charges.retrieve(confirmed["latest_charge"])
    assert charge.status == "failed" and charge.failure_code == code


@pytest.mark.parametrize(
    ("alias", "decline_code"),
    [
        ("pm_card_chargeDeclined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
        ("pm_card_chargeDeclinedLostCard", "lost_card"),
        ("pm_card_chargeCustomerFail", "generic_decline"),
    ],
)
def test_a_decline_through_the_api_raises_the_sdks_card_error(client, alias, decline_code):
    with pytest.raises(stripe.CardError) as caught:
        create_pi(client, payment_method=alias, confirm=True)
    err = caught.value
    assert err.http_status == 402
    assert err.code == "card_declined"
    assert err.error.decline_code == decline_code
    assert err.error.payment_intent.status == "requires_payment_method"
    assert err.error.payment_intent.last_payment_error.decline_code == decline_code


def test_pm_card_visa_confirms_server_side(client):
    pi = create_pi(client, payment_method="pm_card_visa", confirm=True)
    assert pi.status == "succeeded"
    assert pi.payment_method.startswith("pm_") and pi.payment_method != "pm_card_visa"


def test_3155_needs_3d_secure_and_completes(client, em):
    pi = create_pi(client)
    confirmed = em.confirm_with_card(pi.client_secret, "4000002500003155")
    assert confirmed["status"] == "requires_action"
    assert confirmed["next_action"]["type"] == "use_stripe_sdk"
    done = em.complete_3ds(pi.id, succeed=True)
    assert done["status"] == "succeeded"
    charge = client.v1.charges.retrieve(done["latest_charge"])
    assert charge.payment_method_details.card.three_d_secure.result == "authenticated"


def test_failing_3d_secure_returns_the_intent_to_requires_payment_method(client, em):
    pi = create_pi(client)
    em.confirm_with_card(pi.client_secret, "4000002500003155")
    failed = em.complete_3ds(pi.id, succeed=False)
    assert failed["status"] == "requires_payment_method"
    assert failed["last_payment_error"]["code"] == "payment_intent_authentication_failure"


def test_3184_off_session_is_declined_as_authentication_required(client, customer):
    pm = client.v1.payment_methods.attach(
        "pm_card_authenticationRequired", params={"customer": customer.id}
    )
    with pytest.raises(stripe.CardError) as caught:
        create_pi(client, customer, payment_method=pm.id, confirm=True, off_session=True)
    assert caught.value.code == "authentication_required"


def test_0259_succeeds_then_is_disputed(client, em, inbox):
    pi = create_pi(client, payment_method="pm_card_createDispute", confirm=True)
    assert pi.status == "succeeded"
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert charge.disputed is True
    assert [e.type for e in inbox].index("payment_intent.succeeded") < [
        e.type for e in inbox
    ].index("charge.dispute.created")


def test_cancel_a_pending_intent(client, inbox):
    pi = create_pi(client)
    canceled = client.v1.payment_intents.cancel(pi.id, params={"cancellation_reason": "abandoned"})
    assert canceled.status == "canceled" and canceled.cancellation_reason == "abandoned"
    assert inbox[-1].type == "payment_intent.canceled"


def test_a_succeeded_intent_cannot_be_canceled_or_confirmed_again(client):
    pi = create_pi(client, payment_method="pm_card_visa", confirm=True)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.cancel(pi.id)
    assert caught.value.code == "payment_intent_unexpected_state"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa"})
    assert "already succeeded" in caught.value.user_message


def test_update_amount_before_confirmation(client, inbox):
    pi = create_pi(client)
    updated = client.v1.payment_intents.update(pi.id, params={"amount": 3000})
    assert updated.amount == 3000
    assert inbox[-1].type == "payment_intent.updated"
    assert inbox[-1].data.previous_attributes.amount == 2500


def test_expand_customer_and_payment_method(client, customer):
    pi = create_pi(
        client,
        customer,
        payment_method="pm_card_visa",
        confirm=True,
        expand=["customer", "payment_method", "latest_charge"],
    )
    assert pi.customer.email == "donor@example.com"
    assert pi.payment_method.card.last4 == "4242"
    assert pi.latest_charge.object == "charge"


def test_search_by_metadata(client):
    pi = create_pi(client, metadata={"donation": "abc-123"})
    create_pi(client, metadata={"donation": "other"})
    found = client.v1.payment_intents.search(params={"query": "metadata['donation']:'abc-123'"})
    assert [p.id for p in found.data] == [pi.id]


def test_list_is_newest_first_and_paginates(client, customer):
    ids = [create_pi(client, customer).id for _ in range(3)]
    page = client.v1.payment_intents.list(params={"customer": customer.id, "limit": 2})
    assert [p.id for p in page.data] == ids[::-1][:2] and page.has_more
    rest = client.v1.payment_intents.list(
        params={"customer": customer.id, "starting_after": page.data[-1].id}
    )
    assert [p.id for p in rest.data] == [ids[0]] and not rest.has_more
