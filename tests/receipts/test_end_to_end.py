"""From Stripe's signed webhooks to the donor's receipts: the emulator pays, refunds and
disputes real gifts, the app's webhook handlers announce the facts, and the receipts
follow, whether Stripe delivers each event once, twice, in reverse order, or both."""

import pytest

from donations import gateway
from receipts.models import Receipt
from tests.donations import gifts
from tests.receipts.conftest import attached_pdf, pdf_text, receipt_number

pytestmark = pytest.mark.django_db

DELIVERIES = {
    "once_in_order": {},
    "twice": {"duplicate": True},
    "reversed": {"reverse": True},
    "twice_reversed": {"duplicate": True, "reverse": True},
}


@pytest.fixture(params=list(DELIVERIES))
def stripe(request, stripe_webhooks):
    for switch, value in DELIVERIES[request.param].items():
        setattr(stripe_webhooks.delivery, switch, value)
    return stripe_webhooks


def deliver(stripe) -> None:
    stripe.flush_webhooks()
    stripe.delivery.reverse = False


def charge_of(stripe, donation) -> str:
    return stripe.retrieve(donation.stripe_payment_intent_id)["latest_charge"]


def receipts() -> list[tuple[str, str, int, str | None]]:
    return [
        (r.number, r.status, r.amount_received, r.replaces.number if r.replaces else None)
        for r in Receipt.objects.order_by("sequence")
    ]


def numbered(donation, sequence: int) -> str:
    """The gift is paid now, so its receipt's year is this year in the organisation's zone."""
    donation.refresh_from_db()
    return receipt_number(sequence, received=donation.succeeded_at)


def test_a_paid_gift_is_receipted_once_and_emailed(stripe, outbox):
    donation = gifts.give(stripe)
    deliver(stripe)

    assert receipts() == [(numbered(donation, 1), "issued", 2500, None)]
    [message] = outbox
    assert "Dana Donor" in pdf_text(attached_pdf(message))


def test_a_partial_then_full_refund_replaces_then_voids(stripe, outbox):
    donation = gifts.give(stripe)
    deliver(stripe)
    gateway.client().v1.refunds.create(
        params={"charge": charge_of(stripe, donation), "amount": 1000}
    )
    deliver(stripe)

    first, second = numbered(donation, 1), numbered(donation, 2)
    assert receipts() == [
        (first, "replaced", 2500, None),
        (second, "issued", 1500, first),
    ]

    gateway.client().v1.refunds.create(params={"charge": charge_of(stripe, donation)})
    deliver(stripe)

    assert receipts() == [
        (first, "replaced", 2500, None),
        (second, "void", 1500, first),
    ]
    assert [m.subject for m in outbox][-1] == f"Receipt {second} is void"


def test_a_refund_that_fails_brings_back_a_receipt_replacing_the_void_one(stripe, outbox):
    donation = gifts.give(stripe)
    deliver(stripe)
    refund = gateway.client().v1.refunds.create(params={"charge": charge_of(stripe, donation)})
    deliver(stripe)
    [first] = Receipt.objects.all()
    assert first.status == "void"

    stripe.fail_refund(refund["id"])
    deliver(stripe)
    again = Receipt.objects.get(status="issued")
    assert (again.amount_received, again.replaces) == (2500, first)
    assert Receipt.objects.count() == 2
    assert again.number in outbox[-1].subject


def test_a_refund_failing_before_its_events_arrive_leaves_the_receipt_alone(stripe, outbox):
    donation = gifts.give(stripe)
    deliver(stripe)
    stripe.delivery.hold = True  # the refund and its failure reach us together
    refund = gateway.client().v1.refunds.create(params={"charge": charge_of(stripe, donation)})
    stripe.fail_refund(refund["id"])
    stripe.delivery.hold = False
    deliver(stripe)
    [receipt] = Receipt.objects.all()
    assert (receipt.status, receipt.amount_received) == ("issued", 2500)


@pytest.mark.parametrize(("outcome", "final"), [("won", "issued"), ("lost", "void")])
def test_a_dispute_holds_the_receipt_until_it_closes(stripe, outcome, final):
    donation = gifts.give(stripe)
    deliver(stripe)
    dispute = stripe.dispute_charge(charge_of(stripe, donation))
    deliver(stripe)
    assert Receipt.objects.get().status == "held"

    stripe.close_dispute(dispute["id"], status=outcome)
    deliver(stripe)

    assert receipts() == [(numbered(donation, 1), final, 2500, None)]
