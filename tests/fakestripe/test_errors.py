"""Errors come back as Stripe sends them, so the SDK raises its real exception classes."""

import pytest
import stripe


def test_an_unknown_parameter_is_refused_with_400(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.create(params={"emial": "x@example.com"})
    err = caught.value
    assert err.http_status == 400
    assert (err.code, err.param) == ("parameter_unknown", "emial")
    assert err.user_message == "Received unknown parameter: emial"


def test_a_nested_unknown_parameter_names_its_full_path(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.create(
            params={"amount": 500, "currency": "usd", "automatic_payment_methods": {"enable": True}}
        )
    assert caught.value.param == "automatic_payment_methods[enable]"


def test_a_missing_required_parameter(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.create(params={"currency": "usd"})
    assert (caught.value.code, caught.value.param) == ("parameter_missing", "amount")
    assert caught.value.user_message == "Missing required param: amount."


def test_an_invalid_integer(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.create(params={"amount": "ten", "currency": "usd"})
    assert (caught.value.code, caught.value.param) == ("parameter_invalid_integer", "amount")


def test_an_amount_below_stripes_minimum(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.create(params={"amount": 49, "currency": "usd"})
    assert caught.value.code == "amount_too_small"


def test_an_invalid_enum_value(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.create(
            params={"amount": 500, "currency": "usd", "capture_method": "later"}
        )
    assert caught.value.param == "capture_method"
    assert caught.value.user_message.startswith("Invalid capture_method: must be one of")


def test_a_missing_object_is_404_resource_missing(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.retrieve("cus_nope")
    err = caught.value
    assert err.http_status == 404
    assert (err.code, err.param) == ("resource_missing", "id")
    assert err.user_message == "No such customer: 'cus_nope'"


def test_a_missing_object_named_in_a_parameter(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.create(
            params={"amount": 500, "currency": "usd", "customer": "cus_nope"}
        )
    assert (caught.value.code, caught.value.param) == ("resource_missing", "customer")


def test_an_unknown_url(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.raw_request("get", "/v1/nothing_here")
    assert caught.value.http_status == 404
    assert "Unrecognized request URL" in caught.value.user_message


@pytest.mark.parametrize("key", ["sk_live_real_key_1234", "nonsense"])
def test_a_bad_api_key_raises_authentication_error(em, key):
    client = em.stripe_client(key)
    with pytest.raises(stripe.AuthenticationError) as caught:
        client.v1.customers.list()
    assert caught.value.http_status == 401
    assert "Invalid API Key provided" in caught.value.user_message


def test_a_publishable_key_cannot_call_secret_endpoints(em):
    with pytest.raises(stripe.AuthenticationError):
        em.stripe_client("pk_test_emulator").v1.customers.list()


def test_card_error_carries_code_decline_code_and_param(client):
    with pytest.raises(stripe.CardError) as caught:
        client.v1.payment_intents.create(
            params={
                "amount": 500,
                "currency": "usd",
                "payment_method": "pm_card_chargeDeclinedExpiredCard",
                "confirm": True,
            }
        )
    err = caught.value
    assert (err.code, err.param, err.user_message) == (
        "expired_card",
        "exp_month",
        "Your card has expired.",
    )
    assert err.json_body["error"]["type"] == "card_error"
    assert err.json_body["error"]["doc_url"].endswith("/expired-card")


def test_an_incorrect_card_number_is_refused_when_the_payment_method_is_made(client):
    with pytest.raises(stripe.CardError) as caught:
        client.v1.payment_methods.create(
            params={
                "type": "card",
                "card": {"number": "4242424242424241", "exp_month": 12, "exp_year": 2034},
            }
        )
    assert (caught.value.code, caught.value.param) == ("incorrect_number", "number")


def test_the_request_id_header_is_set(client):
    customer = client.v1.customers.create()
    assert customer.last_response.request_id.startswith("req_")


def test_error_on_requires_action_fails_instead_of_waiting(client):
    with pytest.raises(stripe.CardError) as caught:
        client.v1.payment_intents.create(
            params={
                "amount": 500,
                "currency": "usd",
                "payment_method": "pm_card_authenticationRequired",
                "confirm": True,
                "error_on_requires_action": True,
            }
        )
    assert caught.value.code == "authentication_required"


def test_only_cards_are_emulated(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.create(
            params={
                "amount": 500,
                "currency": "usd",
                "allowed_payment_method_types": ["card", "sepa_debit"],
            }
        )
    assert caught.value.param == "allowed_payment_method_types[1]"


def test_an_emulator_bug_is_a_500_api_error_not_a_crash(client, monkeypatch):
    from fakestripe.resources import customers

    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(customers, "shape", broken)
    with pytest.raises(stripe.APIError) as caught:
        client.v1.customers.create()
    assert caught.value.http_status == 500
    assert "fakestripe internal error" in caught.value.user_message


def test_the_clock_only_moves_forward(em):
    with pytest.raises(ValueError):
        em.advance_clock(days=-1)


def test_expanding_a_field_that_is_not_an_id_is_refused(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.create(
            params={"amount": 500, "currency": "usd", "expand": ["currency"]}
        )
    assert caught.value.param == "expand"
    assert caught.value.user_message == "This property cannot be expanded (currency)."


def test_expanding_a_list_property_needs_data(client):
    client.v1.customers.create()
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.list(params={"expand": ["invoice_settings"]})
    assert "data.invoice_settings" in caught.value.user_message


def test_an_unsupported_search_clause_is_a_clear_400(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.search(params={"query": "created>1000"})
    assert caught.value.param == "query"
