"""The emulator refuses what Stripe refuses for the pinned API version: the parameter names
come from the SDK's generated types, not from a list kept by hand."""

import pytest
import stripe

import fakestripe.resources  # noqa: F401  (registers every route)
from fakestripe import routing, sdk_params


def test_every_parameter_the_emulator_takes_is_one_the_pinned_sdk_knows():
    assert sdk_params.routes_beyond_the_sdk(routing.ROUTES) == []


def test_every_secret_key_route_is_typed_by_the_sdk():
    # Stripe documents GET /v1/charges/{charge}/refunds, but the SDK has no method for it.
    assert sdk_params.untyped_routes(routing.ROUTES) == ["GET /v1/charges/{charge_id}/refunds"]


@pytest.mark.parametrize(
    ("call", "param"),
    [
        (
            lambda c: c.v1.payment_intents.create(
                params={"amount": 500, "currency": "usd", "payment_method_types": ["card"]}
            ),
            "payment_method_types",
        ),
        (
            lambda c: c.v1.customers.create(params={"email": "a@example.com", "shoe_size": "9"}),
            "shoe_size",
        ),
        (lambda c: c.v1.payment_methods.list(params={"created": 1}), "created"),
    ],
)
def test_a_parameter_the_api_version_does_not_have_is_refused(client, call, param):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        call(client)
    assert (caught.value.code, caught.value.param) == ("parameter_unknown", param)


def test_nested_names_are_checked_against_the_nested_types():
    check = sdk_params.unknown_parameter
    path = "/v1/payment_intents/{pi_id}/confirm"
    assert check("POST", path, {"shipping": {"name": "A", "colour": "red"}}) == "shipping[colour]"
    assert check("POST", path, {"shipping": {"name": "A", "address": {"city": "X"}}}) is None
    assert check("POST", "/v1/payment_intents", {"metadata": {"anything": "1"}}) is None
    assert check("POST", path, {"metadata": {"anything": "1"}}) == "metadata"
    assert check("POST", path, {"idempotency_key": "k"}) == "idempotency_key"


def test_nested_and_free_form_parameters_stripe_knows_pass(client):
    intent = client.v1.payment_intents.create(
        params={
            "amount": 500,
            "currency": "usd",
            "metadata": {"any_key_of_ours": "1"},
            "automatic_payment_methods": {"enabled": True},
        }
    )
    assert intent.metadata["any_key_of_ours"] == "1"
