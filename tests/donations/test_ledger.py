"""The ledger: one row per Stripe balance transaction, whatever order the news comes in."""

import pytest

from donations import ledger
from donations.models import LedgerEntry
from tests.factories import DonationFactory

pytestmark = pytest.mark.django_db


def _bt(
    bt_id: str = "txn_1",
    *,
    amount: int = 2500,
    fee: int = 103,
    kind: str = "charge",
    source: str = "ch_1",
    category: str = "",
):
    return {
        "id": bt_id,
        "object": "balance_transaction",
        "amount": amount,
        "fee": fee,
        "net": amount - fee,
        "currency": "usd",
        "created": 1_790_000_000,
        "type": kind,
        "reporting_category": category or kind,
        "source": source,
        "a_field_stripe_adds_next_year": {"nested": True},
    }


def test_it_records_gross_fee_and_net_from_the_balance_transaction():
    donation = DonationFactory()
    entry = ledger.record(
        balance_transaction=_bt(), kind=LedgerEntry.Kind.CHARGE, source_id="ch_1", donation=donation
    )
    assert (entry.gross, entry.fee, entry.net, entry.currency) == (2500, 103, 2397, "usd")
    assert entry.stripe_balance_transaction_id == "txn_1"
    assert entry.occurred_at.timestamp() == 1_790_000_000
    assert entry.donation == donation


def test_it_writes_each_balance_transaction_once():
    donation = DonationFactory()
    for _ in range(3):
        ledger.record(
            balance_transaction=_bt(),
            kind=LedgerEntry.Kind.CHARGE,
            source_id="ch_1",
            donation=donation,
        )
    assert LedgerEntry.objects.count() == 1


def test_a_payout_reported_first_writes_the_row_and_the_charge_links_it_later():
    ledger.record_payout(payout_id="po_1", balance_transactions=[_bt()])
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.stripe_payout_id, entry.donation) == ("charge", "po_1", None)
    donation = DonationFactory()
    ledger.record(
        balance_transaction=_bt(), kind=LedgerEntry.Kind.CHARGE, source_id="ch_1", donation=donation
    )
    entry.refresh_from_db()
    assert (entry.stripe_payout_id, entry.donation) == ("po_1", donation)
    assert LedgerEntry.objects.count() == 1


def test_a_payout_stamps_rows_already_written():
    donation = DonationFactory()
    ledger.record(
        balance_transaction=_bt(), kind=LedgerEntry.Kind.CHARGE, source_id="ch_1", donation=donation
    )
    assert ledger.record_payout(payout_id="po_9", balance_transactions=[_bt()]) == 1
    assert LedgerEntry.objects.get().stripe_payout_id == "po_9"
    assert ledger.record_payout(payout_id="po_9", balance_transactions=[_bt()]) == 0


def test_a_payout_keeps_stripes_fees_and_adjustments_but_not_itself():
    ledger.record_payout(
        payout_id="po_1",
        balance_transactions=[
            _bt("txn_fee", amount=-500, fee=0, kind="stripe_fee", category="fee", source=""),
            _bt("txn_adj", amount=-25, fee=0, kind="adjustment", category="other_adjustment"),
            _bt("txn_po", amount=-9000, fee=0, kind="payout"),
        ],
    )
    kinds = dict(LedgerEntry.objects.values_list("stripe_balance_transaction_id", "kind"))
    assert kinds == {"txn_fee": "fee", "txn_adj": "adjustment"}
    assert ledger.payout_net(payout_id="po_1") == -525


def test_a_payout_sorts_dispute_adjustments_by_sign():
    ledger.record_payout(
        payout_id="po_1",
        balance_transactions=[
            _bt(
                "txn_d",
                amount=-2500,
                fee=1500,
                kind="adjustment",
                category="dispute",
                source="dp_1",
            ),
            _bt(
                "txn_r",
                amount=2500,
                fee=0,
                kind="adjustment",
                category="dispute_reversal",
                source="dp_1",
            ),
        ],
    )
    kinds = dict(LedgerEntry.objects.values_list("stripe_balance_transaction_id", "kind"))
    assert kinds == {"txn_d": "dispute", "txn_r": "dispute_reversal"}


def test_a_dispute_withdrawal_and_reinstatement_are_told_apart():
    donation = DonationFactory()
    out = ledger.record_dispute_transaction(
        balance_transaction=_bt("txn_d", amount=-2500, fee=1500),
        dispute_id="dp_1",
        donation=donation,
    )
    back = ledger.record_dispute_transaction(
        balance_transaction=_bt("txn_r", amount=2500, fee=-1500),
        dispute_id="dp_1",
        donation=donation,
    )
    assert (out.kind, out.net, out.stripe_source_id) == ("dispute", -4000, "dp_1")
    assert (back.kind, back.net) == ("dispute_reversal", 4000)


def test_a_failed_refund_nets_to_no_money_moved():
    donation = DonationFactory()
    refund = {
        "id": "re_1",
        "status": "failed",
        "balance_transaction": _bt("txn_x", amount=-2500, fee=0, kind="refund"),
        "failure_balance_transaction": _bt("txn_y", amount=2500, fee=0, kind="refund_failure"),
    }
    for _ in range(2):  # a repeated event writes nothing twice
        entry = ledger.record_refund(refund=refund, donation=donation)
    assert entry.kind == LedgerEntry.Kind.REFUND_FAILURE
    rows = LedgerEntry.objects.order_by("gross").values_list("kind", "gross", "stripe_source_id")
    assert list(rows) == [("refund", -2500, "re_1"), ("refund_failure", 2500, "re_1")]


def test_a_refund_without_a_balance_transaction_moves_no_money():
    donation = DonationFactory()
    refund = {"id": "re_1", "status": "failed", "balance_transaction": None}
    assert ledger.record_refund(refund=refund, donation=donation) is None
    assert not LedgerEntry.objects.exists()


def test_a_refund_row_carries_the_refund_id():
    donation = DonationFactory()
    refund = {
        "id": "re_1",
        "status": "succeeded",
        "balance_transaction": _bt("txn_re", amount=-1000, fee=0, kind="refund"),
    }
    entry = ledger.record_refund(refund=refund, donation=donation)
    assert (entry.kind, entry.gross, entry.stripe_source_id) == ("refund", -1000, "re_1")
