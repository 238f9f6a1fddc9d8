"""Customers, payment methods, setup intents, products and prices."""

from decimal import Decimal

import pytest
import stripe


def test_customer_create_update_and_metadata_merge(client, inbox):
    customer = client.v1.customers.create(
        params={
            "email": "a@example.com",
            "name": "A",
            "metadata": {"supporter": "1", "source": "form"},
        }
    )
    updated = client.v1.customers.update(
        customer.id, params={"name": "Ann", "metadata": {"source": "", "tier": "gold"}}
    )
    assert updated.name == "Ann"
    assert updated.metadata.to_dict() == {"supporter": "1", "tier": "gold"}
    assert inbox[-1].type == "customer.updated"
    assert inbox[-1].data.previous_attributes.name == "A"


def test_customer_list_by_email_and_search(client):
    wanted = client.v1.customers.create(
        params={"email": "Find.Me@example.com", "metadata": {"supporter": "42"}}
    )
    client.v1.customers.create(params={"email": "other@example.com"})
    listed = client.v1.customers.list(params={"email": "Find.Me@example.com"})
    assert [c.id for c in listed.data] == [wanted.id]
    found = client.v1.customers.search(params={"query": "metadata['supporter']:'42'"})
    assert [c.id for c in found.data] == [wanted.id]
    found = client.v1.customers.search(params={"query": "email:'find.me@example.com'"})
    assert [c.id for c in found.data] == [wanted.id]


def test_deleting_a_customer_leaves_a_tombstone_and_cancels_subscriptions(
    client, em, monthly_price
):
    customer = client.v1.customers.create()
    pm = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": monthly_price.id}],
            "default_payment_method": pm.id,
        }
    )
    deleted = client.v1.customers.delete(customer.id)
    assert deleted.deleted is True
    assert client.v1.customers.retrieve(customer.id).deleted is True
    assert client.v1.subscriptions.retrieve(sub.id).status == "canceled"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.update(customer.id, params={"name": "x"})


def test_attach_detach_and_default_payment_method(client, customer, inbox):
    pm = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "5555555555554444", "exp_month": 4, "exp_year": 2031, "cvc": "123"},
        }
    )
    assert (pm.card.brand, pm.card.last4, pm.card.exp_year) == ("mastercard", "4444", 2031)
    client.v1.payment_methods.attach(pm.id, params={"customer": customer.id})
    updated = client.v1.customers.update(
        customer.id, params={"invoice_settings": {"default_payment_method": pm.id}}
    )
    assert updated.invoice_settings.default_payment_method == pm.id
    listed = client.v1.customers.payment_methods.list(customer.id)
    assert [p.id for p in listed.data] == [pm.id]
    detached = client.v1.payment_methods.detach(pm.id)
    assert detached.customer is None
    assert client.v1.customers.retrieve(customer.id).invoice_settings.default_payment_method is None
    assert "payment_method.attached" in [e.type for e in inbox]
    assert inbox[-1].type == "payment_method.detached"


def test_a_declining_card_refuses_to_attach_but_0341_attaches(client, customer):
    with pytest.raises(stripe.CardError) as caught:
        client.v1.payment_methods.attach("pm_card_chargeDeclined", params={"customer": customer.id})
    assert caught.value.code == "card_declined"
    pm = client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", params={"customer": customer.id}
    )
    assert pm.customer == customer.id and pm.card.last4 == "0341"


def test_a_setup_intent_saves_a_card_for_later(client, em, customer, inbox):
    seti = client.v1.setup_intents.create(params={"customer": customer.id, "usage": "off_session"})
    assert seti.status == "requires_payment_method"
    done = em.confirm_with_card(seti.client_secret, "4242424242424242")
    assert done["status"] == "succeeded"
    pm = client.v1.payment_methods.retrieve(done["payment_method"])
    assert pm.customer == customer.id
    assert inbox[-1].type == "setup_intent.succeeded"


def test_a_setup_intent_with_3155_asks_for_authentication(client, em, customer):
    seti = client.v1.setup_intents.create(params={"customer": customer.id})
    assert (
        em.confirm_with_card(seti.client_secret, "4000002500003155")["status"] == "requires_action"
    )
    assert em.complete_3ds(seti.id)["status"] == "succeeded"
    # Set up for off-session use: a later off-session charge needs no authentication.
    pi = client.v1.payment_intents.create(
        params={
            "amount": 1000,
            "currency": "usd",
            "customer": customer.id,
            "payment_method": client.v1.setup_intents.retrieve(seti.id).payment_method,
            "confirm": True,
            "off_session": True,
        }
    )
    assert pi.status == "succeeded"


def test_a_declined_setup_intent(client, em, customer):
    seti = client.v1.setup_intents.create(params={"customer": customer.id})
    failed = em.confirm_with_card(seti.client_secret, "4000000000000002")
    assert failed["status"] == "requires_payment_method"
    assert failed["last_setup_error"]["decline_code"] == "generic_decline"
    with pytest.raises(stripe.CardError):
        client.v1.setup_intents.confirm(
            seti.id, params={"payment_method": "pm_card_chargeDeclined"}
        )


def test_products_and_prices(client):
    product = client.v1.products.create(
        params={"name": "Membership", "metadata": {"tier": "basic"}}
    )
    price = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "usd",
            "unit_amount": 12000,
            "lookup_key": "annual",
            "recurring": {"interval": "year"},
        }
    )
    assert (price.type, price.recurring.interval, price.unit_amount_decimal) == (
        "recurring",
        "year",
        Decimal("12000"),
    )
    found = client.v1.prices.list(params={"lookup_keys": ["annual"]})
    assert [p.id for p in found.data] == [price.id]
    client.v1.prices.update(price.id, params={"active": False})
    assert client.v1.prices.list(params={"active": True, "product": product.id}).data == []
    one_time = client.v1.prices.create(
        params={"product": product.id, "currency": "usd", "unit_amount": 500}
    )
    assert one_time.type == "one_time" and one_time.recurring is None


def test_an_annual_subscription_renews_yearly(client, em, customer):
    price = client.v1.prices.create(
        params={
            "currency": "usd",
            "unit_amount": 12000,
            "recurring": {"interval": "year"},
            "product_data": {"name": "Annual"},
        }
    )
    pm = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "default_payment_method": pm.id,
        }
    )
    em.advance_clock(days=200)
    assert len(client.v1.invoices.list(params={"subscription": sub.id}).data) == 1
    em.advance_clock(days=170)
    assert len(client.v1.invoices.list(params={"subscription": sub.id}).data) == 2
