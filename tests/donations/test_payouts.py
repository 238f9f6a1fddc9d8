"""Payouts: the ledger is matched to a payout only once Stripe says its list of balance
transactions is complete, and then a payout's rows add up to the payout, Stripe's own
fees included, whatever order the events arrive in."""

import pytest

from donations import event_handlers, ledger
from donations.models import Donation, LedgerEntry
from tests.donations import gifts

pytestmark = pytest.mark.django_db

DELIVERIES = {
    "once_in_order": {},
    "twice": {"duplicate": True},
    "reversed": {"reverse": True},
}


@pytest.fixture(params=list(DELIVERIES))
def em(request, stripe_webhooks):
    for switch, value in DELIVERIES[request.param].items():
        setattr(stripe_webhooks.delivery, switch, value)
    return stripe_webhooks


def _until_paid_out(em) -> dict:
    """Move the clock to the moment the first payout arrives (paid, not yet reconciled)."""
    em.advance_clock(days=2)  # charges become available two days after they are made
    while not em.events_of("payout.created"):
        em.advance_clock(hours=1)
    payout = em.events_of("payout.created")[0]["data"]["object"]
    em.advance_clock(seconds=payout["arrival_date"] - em.now())
    return em.retrieve(payout["id"])


def _deliver(em) -> None:
    em.flush_webhooks()
    em.delivery.reverse = False


def test_a_paid_payout_is_not_matched_before_its_reconciliation_completes(em):
    gifts.give(em)
    payout = _until_paid_out(em)
    _deliver(em)
    assert payout["status"] == "paid" and payout["reconciliation_status"] == "in_progress"
    assert not LedgerEntry.objects.exclude(stripe_payout_id="").exists()

    em.advance_clock(hours=2)
    _deliver(em)
    assert em.retrieve(payout["id"])["reconciliation_status"] == "completed"
    entry = LedgerEntry.objects.get(kind=LedgerEntry.Kind.CHARGE)
    assert (entry.stripe_payout_id, entry.donation) == (payout["id"], Donation.objects.get())


def test_a_payouts_rows_add_up_to_the_payout_with_stripes_fees(em):
    gifts.give(em, amount=5000)
    gifts.give(em, amount=2500, email="other@example.com")
    em.charge_account_fee(70, description="Billing (2026-11-01 - 2026-11-30)")
    payout = _until_paid_out(em)
    em.advance_clock(hours=2)
    _deliver(em)

    rows = LedgerEntry.objects.filter(stripe_payout_id=payout["id"])
    assert sorted(rows.values_list("kind", flat=True)) == ["charge", "charge", "fee"]
    fee = rows.get(kind=LedgerEntry.Kind.FEE)
    assert (fee.gross, fee.net, fee.donation) == (-70, -70, None)
    assert ledger.payout_net(payout_id=payout["id"]) == payout["amount"]
    assert rows.filter(kind=LedgerEntry.Kind.CHARGE, donation__isnull=True).count() == 0


def test_a_mismatch_between_the_payout_and_its_rows_is_reported(em, caplog):
    gifts.give(em)
    payout = _until_paid_out(em)
    em.advance_clock(hours=2)
    _deliver(em)
    assert "ledger rows net" not in caplog.text
    # The same payout as Stripe would send it if the books had lost a row.
    event = em.events_of("payout.reconciliation_completed")[0]
    event["data"]["object"]["amount"] += 100
    event_handlers.payout_reconciled(event)
    assert f"Payout {payout['id']} paid {payout['amount'] + 100}" in caplog.text
