"""Subscriptions: the default_incomplete flow, renewals on the clock, failures and retries."""

import calendar
from datetime import UTC, datetime

import pytest
import stripe

from tests.fakestripe.conftest import types

DAY = 86400


def start(client, em, customer, price, card="4242424242424242", **extra):
    """Create with default_incomplete and pay the first invoice as the browser would."""
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "payment_behavior": "default_incomplete",
            "payment_settings": {"save_default_payment_method": "on_subscription"},
            "expand": ["latest_invoice.confirmation_secret"],
            **extra,
        }
    )
    if card:
        em.confirm_with_card(sub.latest_invoice.confirmation_secret.client_secret, card)
    return sub


def switch_to_failing_card(client, customer, sub):
    """4000 0000 0000 0341 attaches fine and fails when charged: the renewal will fail."""
    failing = client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", params={"customer": customer.id}
    )
    client.v1.subscriptions.update(sub.id, params={"default_payment_method": failing.id})


def past_renewal(client, em, sub):
    """Past the period end and the renewal's first charge: the renewal invoice has been
    made and tried once (whatever the month's length)."""
    em.advance_past_next_renewal(sub.id)


def test_default_incomplete_returns_the_first_invoices_confirmation_secret(
    client, customer, monthly_price
):
    sub = start(client, None, customer, monthly_price, card=None)
    assert sub.status == "incomplete"
    invoice = sub.latest_invoice
    assert invoice.status == "open" and invoice.amount_due == 1500
    assert invoice.billing_reason == "subscription_create"
    assert invoice.parent.subscription_details.subscription == sub.id
    assert invoice.confirmation_secret.type == "payment_intent"
    assert invoice.confirmation_secret.client_secret.startswith("pi_")


def test_confirmation_secret_is_only_there_when_expanded(client, customer, monthly_price):
    sub = start(client, None, customer, monthly_price, card=None)
    invoice = client.v1.invoices.retrieve(sub.latest_invoice.id)
    assert "confirmation_secret" not in invoice
    assert "payments" not in invoice


def test_paying_the_first_invoice_activates_the_subscription(
    client, em, customer, monthly_price, inbox
):
    sub = start(client, em, customer, monthly_price)
    sub = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice.payments"]})
    assert sub.status == "active"
    assert sub.default_payment_method.startswith("pm_")
    invoice = sub.latest_invoice
    assert invoice.status == "paid" and invoice.amount_paid == 1500
    payment = invoice.payments.data[0]
    assert payment.status == "paid" and payment.payment.type == "payment_intent"
    pi = client.v1.payment_intents.retrieve(payment.payment.payment_intent)
    assert pi.status == "succeeded"
    seen = types(inbox)
    for expected in (
        "customer.subscription.created",
        "invoice.created",
        "invoice.finalized",
        "payment_intent.succeeded",
        "invoice.paid",
        "invoice.payment_succeeded",
        "customer.subscription.updated",
    ):
        assert expected in seen
    updated = [e for e in inbox if e.type == "customer.subscription.updated"][-1]
    assert updated.data.object.status == "active"
    assert updated.data.previous_attributes.status == "incomplete"


def test_the_item_carries_the_period(client, em, customer, monthly_price):
    sub = start(client, em, customer, monthly_price)
    item = client.v1.subscriptions.retrieve(sub.id).items.data[0]
    assert item.current_period_end - item.current_period_start in range(28 * DAY, 32 * DAY)
    assert item.price.unit_amount == 1500 and item.plan.interval == "month"


def test_a_renewal_creates_and_pays_the_next_invoice(client, em, customer, monthly_price, inbox):
    sub = start(client, em, customer, monthly_price)
    em.advance_past_next_renewal(sub.id)
    invoices = client.v1.invoices.list(params={"subscription": sub.id})
    assert [(i.billing_reason, i.status) for i in invoices.data] == [
        ("subscription_cycle", "paid"),
        ("subscription_create", "paid"),
    ]
    renewal = invoices.data[0]
    paid_event = [e for e in inbox if e.type == "invoice.paid"][-1]
    assert paid_event.data.object.id == renewal.id
    assert paid_event.created >= renewal.created
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "active" and sub.latest_invoice == renewal.id


def test_twelve_renewals_over_a_year(client, em, customer, monthly_price):
    sub = start(client, em, customer, monthly_price)
    anchor = client.v1.subscriptions.retrieve(sub.id).billing_cycle_anchor
    for _ in range(12):
        em.advance_past_next_renewal(sub.id)
    paid = client.v1.invoices.list(params={"subscription": sub.id, "status": "paid", "limit": 100})
    assert len(paid.data) == 13
    # The twelfth renewal starts the period that begins a year after the anchor, to the second.
    started = datetime.fromtimestamp(paid.data[0].period_end, UTC)
    anchored = datetime.fromtimestamp(anchor, UTC)
    assert (started.month, started.day, started.time()) == (
        anchored.month,
        min(anchored.day, calendar.monthrange(started.year, started.month)[1]),
        anchored.time(),
    ) and started.year == anchored.year + 1


def test_moving_past_the_next_renewal_stops_once_it_is_collected(
    client, em, customer, monthly_price
):
    sub = start(client, em, customer, monthly_price)
    period_end = client.v1.subscriptions.retrieve(sub.id).items.data[0].current_period_end

    now = em.advance_past_next_renewal()  # every subscription: here the one

    assert now == period_end + 3600  # drafted at the period end, collected an hour later
    [renewal, _first] = client.v1.invoices.list(params={"subscription": sub.id}).data
    assert renewal.billing_reason == "subscription_cycle" and renewal.status == "paid"
    assert renewal.automatically_finalizes_at is None


def test_moving_past_the_next_payment_attempt_of_a_draft_and_of_a_retry(
    client, em, customer, monthly_price
):
    sub = start(client, em, customer, monthly_price)
    switch_to_failing_card(client, customer, sub)
    period_end = client.v1.subscriptions.retrieve(sub.id).items.data[0].current_period_end
    em.advance_clock(seconds=period_end - em.now())
    draft = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert draft.latest_invoice.status == "draft"
    assert draft.latest_invoice.automatically_finalizes_at == period_end + 3600

    assert em.advance_past_next_payment_attempt() == period_end + 3600
    invoice = client.v1.invoices.retrieve(draft.latest_invoice.id)
    assert invoice.status == "open" and invoice.attempt_count == 1
    retry_at = invoice.next_payment_attempt

    assert em.advance_past_next_payment_attempt(invoice.id) == retry_at
    assert client.v1.invoices.retrieve(invoice.id).attempt_count == 2


def test_there_is_no_next_renewal_for_a_canceled_subscription(client, em, customer, monthly_price):
    sub = start(client, em, customer, monthly_price)
    client.v1.subscriptions.cancel(sub.id)
    with pytest.raises(ValueError):
        em.advance_past_next_renewal(sub.id)
    with pytest.raises(ValueError):
        em.advance_past_next_payment_attempt()


def test_price_data_inline(client, em, customer):
    product = client.v1.products.create(params={"name": "Monthly gift"})
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [
                {
                    "price_data": {
                        "currency": "usd",
                        "product": product.id,
                        "unit_amount": 2200,
                        "recurring": {"interval": "month"},
                    }
                }
            ],
            "payment_behavior": "default_incomplete",
            "expand": ["latest_invoice"],
        }
    )
    assert sub.items.data[0].price.unit_amount == 2200
    assert sub.items.data[0].price.active is False
    assert sub.latest_invoice.amount_due == 2200


def test_a_failing_renewal_goes_past_due_retries_then_unpaid(
    client, em, customer, monthly_price, inbox
):
    sub = start(client, em, customer, monthly_price)
    switch_to_failing_card(client, customer, sub)
    past_renewal(client, em, sub)
    sub_now = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert sub_now.status == "past_due"
    invoice = sub_now.latest_invoice
    assert invoice.status == "open" and invoice.attempt_count == 1
    assert invoice.next_payment_attempt is not None
    assert "invoice.payment_failed" in types(inbox)

    em.advance_clock(days=16)
    invoice = client.v1.invoices.retrieve(invoice.id)
    assert invoice.attempt_count == 4 and invoice.next_payment_attempt is None
    assert client.v1.subscriptions.retrieve(sub.id).status == "unpaid"
    failed = [e for e in inbox if e.type == "invoice.payment_failed"]
    assert len(failed) == 4


def test_a_retry_with_a_new_card_recovers(client, em, customer, monthly_price):
    sub = start(client, em, customer, monthly_price)
    switch_to_failing_card(client, customer, sub)
    past_renewal(client, em, sub)
    good = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    client.v1.subscriptions.update(sub.id, params={"default_payment_method": good.id})
    em.advance_past_next_payment_attempt()
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_paying_the_open_invoice_now(client, em, customer, monthly_price):
    sub = start(client, em, customer, monthly_price)
    switch_to_failing_card(client, customer, sub)
    past_renewal(client, em, sub)
    invoice_id = client.v1.subscriptions.retrieve(sub.id).latest_invoice
    with pytest.raises(stripe.CardError):
        client.v1.invoices.pay(invoice_id)
    paid = client.v1.invoices.pay(invoice_id, params={"payment_method": "pm_card_visa"})
    assert paid.status == "paid"
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_3155_renewals_do_not_ask_again(client, em, customer, monthly_price):
    sub = start(client, em, customer, monthly_price, card="4000002500003155")
    pi_id = (
        client.v1.invoices.retrieve(
            client.v1.subscriptions.retrieve(sub.id).latest_invoice, params={"expand": ["payments"]}
        )
        .payments.data[0]
        .payment.payment_intent
    )
    em.complete_3ds(pi_id)
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    em.advance_past_next_renewal(sub.id)
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_3184_renewals_need_the_customer(client, em, customer, monthly_price, inbox):
    sub = start(client, em, customer, monthly_price, card="4000002760003184")
    first = client.v1.invoices.retrieve(
        client.v1.subscriptions.retrieve(sub.id).latest_invoice, params={"expand": ["payments"]}
    )
    em.complete_3ds(first.payments.data[0].payment.payment_intent)
    past_renewal(client, em, sub)
    assert "invoice.payment_action_required" in types(inbox)
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"


def test_an_unpaid_first_invoice_expires_after_23_hours(client, em, customer, monthly_price, inbox):
    sub = start(client, em, customer, monthly_price, card=None)
    em.advance_clock(hours=24)
    sub = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert sub.status == "incomplete_expired"
    assert sub.latest_invoice.status == "void"
    assert "customer.subscription.deleted" in types(inbox)


def test_a_declined_first_payment_keeps_it_incomplete(client, em, customer, monthly_price):
    sub = start(client, em, customer, monthly_price, card="4000000000000002")
    assert client.v1.subscriptions.retrieve(sub.id).status == "incomplete"
    em.confirm_with_card(sub.latest_invoice.confirmation_secret.client_secret, "4242424242424242")
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_error_if_incomplete_raises_the_card_error_and_creates_nothing(
    client, em, customer, monthly_price
):
    pm = client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", params={"customer": customer.id}
    )
    with pytest.raises(stripe.CardError) as caught:
        client.v1.subscriptions.create(
            params={
                "customer": customer.id,
                "items": [{"price": monthly_price.id}],
                "default_payment_method": pm.id,
                "payment_behavior": "error_if_incomplete",
            }
        )
    assert caught.value.code == "card_declined"
    assert "subscription" not in em.by_type and "invoice" not in em.by_type


def test_error_if_incomplete_with_a_card_needing_authentication(
    client, em, customer, monthly_price
):
    pm = client.v1.payment_methods.attach(
        "pm_card_authenticationRequired", params={"customer": customer.id}
    )
    with pytest.raises(stripe.CardError) as caught:
        client.v1.subscriptions.create(
            params={
                "customer": customer.id,
                "items": [{"price": monthly_price.id}],
                "default_payment_method": pm.id,
                "payment_behavior": "error_if_incomplete",
            }
        )
    assert caught.value.code == "authentication_required"


def test_allow_incomplete_charges_the_default_card_at_once(client, customer, monthly_price):
    pm = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": monthly_price.id}],
            "default_payment_method": pm.id,
        }
    )
    assert sub.status == "active"


def test_change_the_amount_without_proration(client, em, customer, monthly_price, inbox):
    sub = start(client, em, customer, monthly_price)
    item = client.v1.subscriptions.retrieve(sub.id).items.data[0]
    updated = client.v1.subscriptions.update(
        sub.id,
        params={
            "items": [
                {
                    "id": item.id,
                    "price_data": {
                        "currency": "usd",
                        "product": monthly_price.product,
                        "unit_amount": 3000,
                        "recurring": {"interval": "month"},
                    },
                }
            ],
            "proration_behavior": "none",
        },
    )
    assert updated.items.data[0].price.unit_amount == 3000
    assert inbox[-1].type == "customer.subscription.updated"
    em.advance_past_next_renewal(sub.id)
    renewal = client.v1.invoices.list(params={"subscription": sub.id}).data[0]
    assert renewal.amount_paid == 3000


def test_create_prorations_adds_lines_to_the_next_invoice(client, em, customer, monthly_price):
    sub = start(client, em, customer, monthly_price)
    em.advance_clock(days=15)
    item = client.v1.subscriptions.retrieve(sub.id).items.data[0]
    client.v1.subscriptions.update(
        sub.id,
        params={
            "items": [
                {
                    "id": item.id,
                    "price_data": {
                        "currency": "usd",
                        "product": monthly_price.product,
                        "unit_amount": 3000,
                        "recurring": {"interval": "month"},
                    },
                }
            ],
            "proration_behavior": "create_prorations",
        },
    )
    em.advance_clock(days=17)
    renewal = client.v1.invoices.list(params={"subscription": sub.id}).data[0]
    assert len(renewal.lines.data) == 3
    assert 3000 < renewal.amount_paid < 4500


def test_always_invoice_bills_the_difference_now(client, em, customer, monthly_price):
    sub = start(client, em, customer, monthly_price)
    item = client.v1.subscriptions.retrieve(sub.id).items.data[0]
    updated = client.v1.subscriptions.update(
        sub.id,
        params={
            "items": [
                {
                    "id": item.id,
                    "price_data": {
                        "currency": "usd",
                        "product": monthly_price.product,
                        "unit_amount": 3000,
                        "recurring": {"interval": "month"},
                    },
                }
            ],
            "proration_behavior": "always_invoice",
            "expand": ["latest_invoice"],
        },
    )
    assert updated.latest_invoice.billing_reason == "subscription_update"
    assert updated.latest_invoice.status == "paid"
    assert 1400 <= updated.latest_invoice.amount_paid <= 1500


def test_pause_collection_voids_renewals_until_resumed(client, em, customer, monthly_price):
    sub = start(client, em, customer, monthly_price)
    paused = client.v1.subscriptions.update(
        sub.id, params={"pause_collection": {"behavior": "void"}}
    )
    assert paused.pause_collection.behavior == "void" and paused.status == "active"
    em.advance_past_next_renewal(sub.id)
    assert client.v1.invoices.list(params={"subscription": sub.id}).data[0].status == "void"
    resumed = client.v1.subscriptions.update(sub.id, params={"pause_collection": ""})
    assert resumed.pause_collection is None
    em.advance_past_next_renewal(sub.id)
    assert client.v1.invoices.list(params={"subscription": sub.id}).data[0].status == "paid"


def test_cancel_at_period_end(client, em, customer, monthly_price, inbox):
    sub = start(client, em, customer, monthly_price)
    updated = client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    assert updated.cancel_at_period_end is True and updated.status == "active"
    assert updated.cancel_at == updated.items.data[0].current_period_end
    em.advance_past_next_renewal(sub.id)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "canceled" and sub.ended_at is not None
    assert inbox[-1].type == "customer.subscription.deleted"
    assert len(client.v1.invoices.list(params={"subscription": sub.id}).data) == 1


def test_cancel_now(client, em, customer, monthly_price, inbox):
    sub = start(client, em, customer, monthly_price)
    canceled = client.v1.subscriptions.cancel(sub.id)
    assert canceled.status == "canceled" and canceled.canceled_at is not None
    assert canceled.cancellation_details.reason == "cancellation_requested"
    assert inbox[-1].type == "customer.subscription.deleted"
    em.advance_clock(days=40)
    assert len(client.v1.invoices.list(params={"subscription": sub.id}).data) == 1
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.cancel(sub.id)


def test_list_excludes_canceled_unless_asked(client, em, customer, monthly_price):
    live = start(client, em, customer, monthly_price)
    dead = start(client, em, customer, monthly_price)
    client.v1.subscriptions.cancel(dead.id)
    assert [s.id for s in client.v1.subscriptions.list(params={"customer": customer.id}).data] == [
        live.id
    ]
    every = client.v1.subscriptions.list(params={"customer": customer.id, "status": "all"})
    assert {s.id for s in every.data} == {live.id, dead.id}


def test_the_retry_schedule_and_final_outcome_are_settings(
    client, em, customer, monthly_price, inbox
):
    em.billing.retry_days = (1,)
    em.billing.after_final_failure = "canceled"
    sub = start(client, em, customer, monthly_price)
    switch_to_failing_card(client, customer, sub)
    past_renewal(client, em, sub)
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    em.advance_clock(days=1)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "canceled" and sub.cancellation_details.reason == "payment_failed"
    assert inbox[-1].type == "customer.subscription.deleted"


def test_subscription_items_can_be_listed_and_retrieved(client, em, customer, monthly_price):
    sub = start(client, em, customer, monthly_price)
    items = client.v1.subscription_items.list(params={"subscription": sub.id})
    assert [i.price.id for i in items.data] == [monthly_price.id]
    assert client.v1.subscription_items.retrieve(items.data[0].id).subscription == sub.id
