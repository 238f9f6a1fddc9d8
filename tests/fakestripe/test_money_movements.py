"""Refunds, disputes, balance transactions and payouts."""

import pytest
import stripe

from tests.fakestripe.conftest import types


@pytest.fixture
def paid(client):
    return client.v1.payment_intents.create(
        params={
            "amount": 10000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )


def test_a_full_refund(client, paid, inbox):
    refund = client.v1.refunds.create(params={"payment_intent": paid.id})
    assert (refund.amount, refund.status, refund.charge) == (10000, "succeeded", paid.latest_charge)
    charge = client.v1.charges.retrieve(paid.latest_charge)
    assert charge.refunded is True and charge.amount_refunded == 10000
    txn = client.v1.balance_transactions.retrieve(refund.balance_transaction)
    assert (txn.type, txn.amount, txn.fee, txn.net) == ("refund", -10000, 0, -10000)
    assert types(inbox)[-2:] == ["refund.created", "charge.refunded"]
    assert inbox[-1].data.previous_attributes.amount_refunded == 0


def test_partial_refunds_then_the_rest(client, paid):
    client.v1.refunds.create(params={"payment_intent": paid.id, "amount": 2500})
    client.v1.refunds.create(
        params={"charge": paid.latest_charge, "amount": 2500, "reason": "requested_by_customer"}
    )
    charge = client.v1.charges.retrieve(paid.latest_charge)
    assert charge.amount_refunded == 5000 and charge.refunded is False
    last = client.v1.refunds.create(params={"payment_intent": paid.id})
    assert last.amount == 5000
    assert client.v1.charges.retrieve(paid.latest_charge).refunded is True
    listed = client.v1.refunds.list(params={"payment_intent": paid.id})
    assert [r.amount for r in listed.data] == [5000, 2500, 2500]


def test_an_over_refund_is_refused(client, paid):
    client.v1.refunds.create(params={"payment_intent": paid.id, "amount": 6000})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": paid.id, "amount": 5000})
    assert (caught.value.code, caught.value.param) == ("amount_too_large", "amount")
    assert caught.value.user_message == (
        "Refund amount ($50.00) is greater than unrefunded amount on charge ($40.00)"
    )


def test_refunding_a_refunded_charge_is_refused(client, paid):
    client.v1.refunds.create(params={"payment_intent": paid.id})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": paid.id})
    assert caught.value.code == "charge_already_refunded"


def test_refunding_an_unpaid_intent_is_refused(client):
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={"payment_intent": pi.id})


def test_a_dispute_withdraws_the_amount_and_a_fee(client, em, paid, inbox):
    dispute = em.dispute_charge(paid.latest_charge)
    assert dispute["status"] == "needs_response" and dispute["amount"] == 10000
    txn = dispute["balance_transactions"][0]
    assert (txn["amount"], txn["fee"], txn["net"]) == (-10000, 1500, -11500)
    assert client.v1.charges.retrieve(paid.latest_charge).disputed is True
    assert "charge.dispute.created" in types(inbox)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": paid.id})
    assert caught.value.code == "charge_disputed"


def test_a_won_dispute_reinstates_the_money(client, em, paid, inbox):
    dispute = em.dispute_charge(paid.latest_charge)
    closed = em.close_dispute(dispute["id"], status="won")
    assert closed["status"] == "won"
    assert sum(t["net"] for t in closed["balance_transactions"]) == 0
    assert types(inbox)[-1] == "charge.dispute.closed"
    assert inbox[-1].data.object.status == "won"


def test_a_lost_dispute_keeps_the_withdrawal(client, em, paid):
    dispute = em.dispute_charge(paid.latest_charge)
    em.close_dispute(dispute["id"], status="lost")
    got = client.v1.disputes.retrieve(dispute["id"])
    assert got.status == "lost" and len(got.balance_transactions) == 1


def test_accepting_a_dispute_through_the_api_loses_it(client, em, paid):
    dispute = em.dispute_charge(paid.latest_charge)
    assert client.v1.disputes.close(dispute["id"]).status == "lost"


def test_submitting_evidence(client, em, paid):
    dispute = em.dispute_charge(paid.latest_charge)
    updated = client.v1.disputes.update(
        dispute["id"], params={"evidence": {"uncategorized_text": "Donor confirmed by email."}}
    )
    assert updated.status == "under_review" and updated.evidence_details.has_evidence


def test_the_daily_payout_groups_available_transactions(client, em, paid, inbox):
    other = client.v1.payment_intents.create(
        params={
            "amount": 5000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    em.advance_clock(days=4)
    payouts = client.v1.payouts.list()
    assert len(payouts.data) == 1
    payout = payouts.data[0]
    assert payout.status == "paid" and payout.automatic is True
    grouped = client.v1.balance_transactions.list(params={"payout": payout.id, "limit": 100})
    sources = {t.source for t in grouped.data if t.type == "charge"}
    assert sources == {paid.latest_charge, other.latest_charge}
    net = sum(t.net for t in grouped.data if t.type != "payout")
    assert payout.amount == net
    assert "payout.paid" in types(inbox)


def test_a_manual_payout_is_limited_to_the_available_balance(client, em, paid):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payouts.create(params={"amount": 100, "currency": "usd"})
    assert caught.value.code == "balance_insufficient"
    em.automatic_payouts = False
    em.advance_clock(days=3)
    assert client.v1.balance.retrieve().available[0].amount == 10000 - 320
    payout = client.v1.payouts.create(params={"amount": 5000, "currency": "usd"})
    assert payout.status == "in_transit" and payout.automatic is False


def test_balance_transactions_filter_by_source_and_type(client, paid):
    charges = client.v1.balance_transactions.list(params={"type": "charge"})
    assert [t.source for t in charges.data] == [paid.latest_charge]
    by_source = client.v1.balance_transactions.list(params={"source": paid.latest_charge})
    assert len(by_source.data) == 1
