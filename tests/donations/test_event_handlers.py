"""Every event type, end to end through the emulator's signed webhooks: the rows it leaves
are the same whether Stripe delivers each event once, twice, in reverse order, or both.

Each scenario runs the gift the way the app does (donations.checkout, then the card as
the browser would confirm it) with the emulator delivering to /stripe/webhook/; the
summary (tests/donations/gifts.py) lists every row written, without random Stripe ids.
"""

import datetime as dt
from collections import Counter

import pytest
import time_machine

from donations import gateway
from donations.hooks import GiftFact, listen
from donations.models import Donation, LedgerEntry, RecurringDonation, StripeEvent
from tests.donations import gifts

pytestmark = pytest.mark.django_db

DELIVERIES = {
    "once_in_order": {},
    "twice": {"duplicate": True},
    "reversed": {"reverse": True},
    "twice_reversed": {"duplicate": True, "reverse": True},
}
DECLINE = "4000000000000002"
FEE_2500 = 103  # the emulator's card pricing: 2.9% + 30 cents, rounded


@pytest.fixture(params=list(DELIVERIES))
def delivery(request, stripe_webhooks):
    """The emulator with one delivery pattern; call `done()` to deliver what was held."""
    for switch, value in DELIVERIES[request.param].items():
        setattr(stripe_webhooks.delivery, switch, value)

    class Delivery:
        em = stripe_webhooks
        name = request.param

        @staticmethod
        def done() -> None:
            stripe_webhooks.flush_webhooks()
            stripe_webhooks.delivery.reverse = False

    return Delivery


@pytest.fixture
def facts():
    """Every fact announced through donations.hooks during the test."""
    heard: list = []

    def record(event) -> None:
        heard.append(event)

    listen(*GiftFact)(record)
    yield heard
    from donations.hooks import _listeners

    for fact in GiftFact:
        if record in _listeners[fact]:
            _listeners[fact].remove(record)


def _charge_of(em, donation: Donation) -> str:
    return em.retrieve(donation.stripe_payment_intent_id)["latest_charge"]


def _charge(
    gross: int = 2500, fee: int = FEE_2500, *, paid_out: bool = False, status: str = "succeeded"
):
    return ("charge", gross, fee, gross - fee, "usd", paid_out, status)


# --- One-time gifts -------------------------------------------------------------------


def test_a_one_time_gift_succeeds_with_its_ledger_row(delivery):
    gifts.give(delivery.em)
    delivery.done()
    assert gifts.summary() == {
        "donations": [("one_time", "succeeded", 2500, 0, True, False, True, "", True)],
        "recurring": [],
        "ledger": [_charge()],
        "inbox_unsettled": 0,
    }


def test_a_declined_card_fails_the_gift(delivery):
    gifts.give(delivery.em, card=DECLINE)
    delivery.done()
    summary = gifts.summary()
    assert summary["donations"] == [
        ("one_time", "failed", 2500, 0, True, False, True, "generic_decline", False)
    ]
    assert summary["ledger"] == []
    assert Donation.objects.get().failure_message


def test_a_retry_with_another_card_succeeds_and_a_late_decline_cannot_undo_it(delivery):
    started = gifts.start()
    delivery.em.confirm_with_card(started.client_secret, card_number=DECLINE)
    delivery.em.confirm_with_card(started.client_secret, card_number="4242424242424242")
    delivery.done()
    assert gifts.summary()["donations"] == [
        ("one_time", "succeeded", 2500, 0, True, False, True, "", True)
    ]
    assert gifts.summary()["ledger"] == [_charge()]


def test_a_canceled_payment_intent_cancels_the_gift(delivery):
    started = gifts.start()
    gateway.cancel_payment_intent(started.donation.stripe_payment_intent_id)
    delivery.done()
    assert gifts.summary()["donations"] == [
        ("one_time", "canceled", 2500, 0, True, False, False, "", False)
    ]


# --- Refunds and disputes -------------------------------------------------------------


def test_a_partial_then_full_refund_moves_the_gift_and_adds_ledger_rows(delivery):
    donation = gifts.give(delivery.em)
    charge_id = _charge_of(delivery.em, donation)
    gateway.client().v1.refunds.create(params={"charge": charge_id, "amount": 1000})
    gateway.client().v1.refunds.create(params={"charge": charge_id})
    delivery.done()
    summary = gifts.summary()
    assert summary["donations"] == [
        ("one_time", "refunded", 2500, 2500, True, False, True, "", True)
    ]
    assert summary["ledger"] == sorted(
        [
            _charge(status="refunded"),
            ("refund", -1000, 0, -1000, "usd", False, "refunded"),
            ("refund", -1500, 0, -1500, "usd", False, "refunded"),
        ]
    )
    assert summary["inbox_unsettled"] == 0


def test_a_partial_refund_leaves_the_gift_partially_refunded(delivery):
    donation = gifts.give(delivery.em)
    gateway.client().v1.refunds.create(
        params={"charge": _charge_of(delivery.em, donation), "amount": 500}
    )
    delivery.done()
    assert gifts.summary()["donations"] == [
        ("one_time", "partially_refunded", 2500, 500, True, False, True, "", True)
    ]


def test_a_refund_that_fails_is_reversed_with_a_ledger_row(delivery):
    donation = gifts.give(delivery.em)
    refund = gateway.client().v1.refunds.create(
        params={"charge": _charge_of(delivery.em, donation)}
    )
    delivery.done()
    assert gifts.summary()["donations"][0][1:4] == ("refunded", 2500, 2500)

    delivery.em.fail_refund(refund["id"])
    delivery.done()
    summary = gifts.summary()
    assert summary["donations"] == [("one_time", "succeeded", 2500, 0, True, False, True, "", True)]
    assert summary["ledger"] == sorted(
        [
            _charge(),
            ("refund", -2500, 0, -2500, "usd", False, "succeeded"),
            ("refund_failure", 2500, 0, 2500, "usd", False, "succeeded"),
        ]
    )
    assert summary["inbox_unsettled"] == 0


def test_a_failed_refund_delivered_with_the_refund_never_counts_it(delivery):
    donation = gifts.give(delivery.em)
    delivery.done()
    charge_id = _charge_of(delivery.em, donation)
    gateway.client().v1.refunds.create(params={"charge": charge_id, "amount": 1000})
    second = gateway.client().v1.refunds.create(params={"charge": charge_id})
    delivery.em.fail_refund(second["id"])
    delivery.done()
    summary = gifts.summary()
    assert summary["donations"] == [
        ("one_time", "partially_refunded", 2500, 1000, True, False, True, "", True)
    ]
    assert [row[:2] for row in summary["ledger"]] == [
        ("charge", 2500),
        ("refund", -1500),
        ("refund", -1000),
        ("refund_failure", 1500),
    ]


@pytest.mark.parametrize("outcome", ["won", "lost"])
def test_a_dispute_marks_the_gift_and_its_outcome_settles_it(delivery, outcome):
    donation = gifts.give(delivery.em)
    dispute = delivery.em.dispute_charge(_charge_of(delivery.em, donation))
    delivery.em.close_dispute(dispute["id"], status=outcome)
    delivery.done()
    summary = gifts.summary()
    final = "succeeded" if outcome == "won" else "disputed"
    assert summary["donations"] == [("one_time", final, 2500, 0, True, False, True, "", True)]
    kinds = Counter(row[0] for row in summary["ledger"])
    assert kinds == Counter(
        {"charge": 1, "dispute": 1, **({"dispute_reversal": 1} if outcome == "won" else {})}
    )
    withdrawal = next(row for row in summary["ledger"] if row[0] == "dispute")
    assert withdrawal[1] == -2500
    assert summary["inbox_unsettled"] == 0


def test_an_open_dispute_marks_the_gift_disputed(delivery):
    donation = gifts.give(delivery.em)
    delivery.em.dispute_charge(_charge_of(delivery.em, donation))
    delivery.done()
    assert gifts.summary()["donations"][0][1] == "disputed"


# --- Recurring gifts ------------------------------------------------------------------


def test_a_monthly_gift_activates_its_recurring_gift(delivery):
    gifts.give(delivery.em, frequency="monthly")
    delivery.done()
    assert gifts.summary() == {
        "donations": [("monthly", "succeeded", 2500, 0, True, True, True, "", True)],
        "recurring": [("active", 0, True, True, False)],
        "ledger": [_charge()],
        "inbox_unsettled": 0,
    }


def test_a_renewal_a_month_later_adds_a_donation(delivery):
    gifts.give(delivery.em, frequency="monthly")
    delivery.em.advance_past_next_renewal()
    delivery.done()
    summary = gifts.summary()
    assert (
        summary["donations"] == [("monthly", "succeeded", 2500, 0, True, True, True, "", True)] * 2
    )
    assert summary["recurring"] == [("active", 0, True, True, False)]
    # The first charge was in the emulator's daily payout during that month.
    assert summary["ledger"] == sorted([_charge(paid_out=True), _charge()])
    renewal = Donation.objects.order_by("created_at", "pk").last()
    assert renewal.recurring == RecurringDonation.objects.get()
    assert (
        renewal.stripe_invoice_id
        != Donation.objects.order_by("created_at", "pk").first().stripe_invoice_id
    )
    assert summary["inbox_unsettled"] == 0


def test_a_failed_renewal_marks_the_recurring_gift_past_due(delivery):
    gifts.give(delivery.em, frequency="monthly")
    gifts.make_renewals_fail(RecurringDonation.objects.get().stripe_subscription_id)
    delivery.em.advance_past_next_renewal()
    delivery.done()
    summary = gifts.summary()
    assert summary["recurring"] == [("past_due", 1, True, True, False)]
    assert [d[1] for d in summary["donations"]] == ["succeeded", "failed"]
    failed = Donation.objects.get(status=Donation.Status.FAILED)
    assert failed.stripe_invoice_id and failed.failure_message
    assert summary["inbox_unsettled"] == 0


def test_a_canceled_subscription_cancels_the_recurring_gift(delivery):
    gifts.give(delivery.em, frequency="monthly")
    gateway.cancel_subscription(RecurringDonation.objects.get().stripe_subscription_id)
    delivery.done()
    recurring = RecurringDonation.objects.get()
    assert recurring.status == RecurringDonation.Status.CANCELED
    assert recurring.canceled_at is not None
    assert gifts.summary()["inbox_unsettled"] == 0


def test_a_payout_stamps_the_ledger_rows_it_paid(delivery):
    gifts.give(delivery.em)
    delivery.em.advance_clock(days=5)
    delivery.done()
    entry = LedgerEntry.objects.get()
    assert entry.stripe_payout_id.startswith("po_")
    assert entry.donation == Donation.objects.get()


# --- What is announced ----------------------------------------------------------------


def test_it_announces_a_success_once_however_often_stripe_repeats_it(stripe_webhooks, facts):
    stripe_webhooks.delivery.duplicate = True
    donation = gifts.give(stripe_webhooks)
    succeeded = [f for f in facts if f.fact == GiftFact.SUCCEEDED]
    assert len(succeeded) == 1
    assert succeeded[0].donation_id == donation.pk
    assert succeeded[0].supporter_id == donation.supporter_id


def test_it_announces_each_refund_with_the_running_total(stripe_webhooks, facts):
    donation = gifts.give(stripe_webhooks)
    charge_id = _charge_of(stripe_webhooks, donation)
    gateway.client().v1.refunds.create(params={"charge": charge_id, "amount": 1000})
    gateway.client().v1.refunds.create(params={"charge": charge_id})
    refunds = [f.details for f in facts if f.fact == GiftFact.REFUNDED]
    assert refunds == [
        {"amount_refunded": 1000, "fully_refunded": False},
        {"amount_refunded": 2500, "fully_refunded": True},
    ]


def test_it_announces_a_dispute_and_its_outcome(stripe_webhooks, facts):
    donation = gifts.give(stripe_webhooks)
    dispute = stripe_webhooks.dispute_charge(_charge_of(stripe_webhooks, donation))
    stripe_webhooks.close_dispute(dispute["id"], status="won")
    opened = [f for f in facts if f.fact == GiftFact.DISPUTE_OPENED]
    closed = [f for f in facts if f.fact == GiftFact.DISPUTE_CLOSED]
    assert len(opened) == 1 and opened[0].donation_id == donation.pk
    assert [f.details["outcome"] for f in closed] == ["won"]


def test_it_announces_a_failed_gift(stripe_webhooks, facts):
    donation = gifts.give(stripe_webhooks, card=DECLINE)
    failed = [f for f in facts if f.fact == GiftFact.FAILED]
    assert [f.donation_id for f in failed] == [donation.pk]


def test_it_announces_recurring_status_changes(stripe_webhooks, facts):
    gifts.give(stripe_webhooks, frequency="monthly")
    gifts.make_renewals_fail(RecurringDonation.objects.get().stripe_subscription_id)
    stripe_webhooks.advance_past_next_renewal()
    statuses = [f.details["status"] for f in facts if f.fact == GiftFact.RECURRING_CHANGED]
    assert statuses == ["active", "past_due"]


def test_each_renewal_is_announced_as_its_own_succeeded_gift(stripe_webhooks, facts):
    gifts.give(stripe_webhooks, frequency="monthly")
    stripe_webhooks.advance_past_next_renewal()
    succeeded = [f for f in facts if f.fact == GiftFact.SUCCEEDED]
    assert len(succeeded) == 2
    assert len({f.donation_id for f in succeeded}) == 2
    assert all(f.recurring_donation_id == RecurringDonation.objects.get().pk for f in succeeded)


# --- Rows not written yet, and stale news -----------------------------------------------


def test_an_event_for_a_row_not_yet_written_is_kept_and_applied_later(
    stripe_webhooks, client, django_capture_on_commit_callbacks
):
    from donations import tasks
    from tests.donations import stripe_events as se
    from tests.factories import DonationFactory

    public_id = "7d1f0d8e-3b7c-4a52-9a49-2f1b1f3c9a10"
    pi = {
        "id": "pi_notyetours",
        "object": "payment_intent",
        "status": "succeeded",
        "amount": 2500,
        "latest_charge": None,
        "metadata": {"donation_id": public_id},
    }
    evt = se.event("payment_intent.succeeded", pi)
    with django_capture_on_commit_callbacks(execute=True):
        assert se.post(client, se.encode(evt)).status_code == 200
    row = StripeEvent.objects.get(stripe_id=evt["id"])
    assert row.status == StripeEvent.Status.RETRYING
    assert "RowNotYetWritten" in row.last_error
    donation = DonationFactory(
        public_id=public_id,
        status=Donation.Status.PENDING,
        stripe_payment_intent_id="pi_notyetours",
    )
    # Its retry was lost (in-process, there is none): once the lease lapses, the sweep.
    with (
        time_machine.travel(row.next_attempt_at + dt.timedelta(seconds=1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        tasks.sweep_stripe_inbox.delay()
    row.refresh_from_db()
    assert row.status == StripeEvent.Status.PROCESSED
    assert row.attempts == 2
    donation.refresh_from_db()
    assert donation.status == Donation.Status.SUCCEEDED


def test_a_late_older_subscription_event_does_not_roll_the_status_back(stripe_webhooks):
    from donations import reconcile

    gifts.give(stripe_webhooks, frequency="monthly")
    recurring = RecurringDonation.objects.get()
    subscription = gateway.retrieve_subscription(recurring.stripe_subscription_id).to_dict()
    stale = dict(subscription, status="past_due")
    reconcile.sync_subscription(subscription=stale, event_created=recurring.last_event_created - 10)
    recurring.refresh_from_db()
    assert recurring.status == RecurringDonation.Status.ACTIVE


def test_a_renewal_that_needs_authentication_waits_with_its_reason(delivery):
    # 3184 asks for 3-D Secure on every payment, renewals included.
    started = gifts.start(frequency="monthly")
    delivery.em.confirm_with_card(started.client_secret, card_number="4000002760003184")
    delivery.em.complete_3ds(started.donation.stripe_payment_intent_id)
    delivery.em.advance_past_next_renewal()
    delivery.done()
    first, renewal = Donation.objects.order_by("created_at", "pk")
    assert first.status == Donation.Status.SUCCEEDED
    assert (renewal.status, renewal.failure_code) == ("pending", "authentication_required")
    assert RecurringDonation.objects.get().status == RecurringDonation.Status.PAST_DUE
    assert renewal.stripe_invoice_id
    assert gifts.summary()["inbox_unsettled"] == 0
