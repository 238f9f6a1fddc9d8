"""Receipts count Stripe's own figures, and a payment's benefit is the tier it buys.

Through the emulator's signed webhooks (delivered in order, twice, or reversed), so the
first payment's receipt is issued whatever order the subscription's news arrives in.
"""

import pytest
from django.utils import timezone

from donations.models import AuditEntry, Donation, RecurringDonation
from receipts import services, statements
from receipts.models import Receipt
from tests.donations import gifts
from tests.factories import DonationFactory, RecurringDonationFactory, TierFactory

pytestmark = pytest.mark.django_db(transaction=True)

# Long enough for one monthly renewal (its draft invoice is finalized an hour after it is
# made), short enough never to reach a second, whatever the months' lengths.
ONE_RENEWAL_DAYS = 40


@pytest.fixture(params=["once_in_order", "twice", "reversed"])
def stripe(request, stripe_webhooks):
    if request.param != "once_in_order":
        stripe_webhooks.delivery.duplicate = "twice" in request.param
        stripe_webhooks.delivery.reverse = request.param == "reversed"
    yield stripe_webhooks


@pytest.fixture
def member_tier(db):
    return TierFactory(
        name="Member",
        monthly_amount=1500,
        yearly_amount=18000,
        benefit_value=1500,
        benefit_description="The members' print quarterly for a year",
    )


def settle(stripe) -> None:
    stripe.flush_webhooks()
    stripe.delivery.reverse = False


def give_credit(stripe, donation: Donation, cents: int) -> None:
    """Credit on the donor's Stripe balance (a negative balance), which pays invoices
    first. The emulator does not take `balance` on customers.update, so it is set in
    its state, as Stripe's dashboard would."""
    with stripe.lock:
        stripe.objects[donation.supporter.stripe_customer_id]["balance"] = -cents


# --- Point 2: a $0 invoice is no gift ----------------------------------------------------


def test_a_renewal_paid_from_credit_is_recorded_but_is_no_gift_and_gets_no_receipt(stripe):
    first = gifts.give(stripe, frequency="monthly", amount=1800)
    settle(stripe)
    give_credit(stripe, first, 5000)
    stripe.advance_clock(days=ONE_RENEWAL_DAYS)
    settle(stripe)

    recurring = RecurringDonation.objects.get()
    assert list(recurring.payments.values_list("status", "amount")) == [("succeeded", 1800)]
    assert Receipt.objects.count() == 1
    [record] = AuditEntry.objects.filter(action="invoice.paid_without_payment")
    assert (record.after["amount_paid"], record.after["recurring_donation"]) == (0, recurring.pk)


def test_a_renewal_partly_paid_from_credit_counts_only_what_was_charged(stripe):
    first = gifts.give(stripe, frequency="monthly", amount=1800)
    settle(stripe)
    give_credit(stripe, first, 500)
    stripe.advance_clock(days=ONE_RENEWAL_DAYS)
    settle(stripe)

    renewal = Donation.objects.exclude(pk=first.pk).get()
    assert (renewal.status, renewal.amount) == (Donation.Status.SUCCEEDED, 1300)
    assert Receipt.objects.get(donation=renewal).amount_received == 1300


# --- Point 3: the first payment's receipt carries the benefit it buys --------------------


@pytest.mark.parametrize("amount", [1500, 2500])
def test_the_first_monthly_payment_s_receipt_shows_the_benefit_of_the_tier_it_starts(
    stripe, member_tier, amount
):
    donation = gifts.give(stripe, frequency="monthly", amount=amount)
    settle(stripe)

    receipt = Receipt.objects.get(donation=donation)
    assert (receipt.benefit_value, receipt.deductible_amount) == (125, amount - 125)
    assert receipt.snapshot["gift"]["benefit_description"] == member_tier.benefit_description
    assert "No goods or services" not in str(receipt.snapshot["rules"])
    assert donation.supporter.memberships.get().tier == member_tier


def test_the_benefit_does_not_wait_for_the_membership_row(donor, member_tier):
    recurring = RecurringDonationFactory(supporter=donor, amount=1500)
    payment = DonationFactory(
        supporter=donor,
        recurring=recurring,
        frequency=Donation.Frequency.MONTHLY,
        amount=1500,
        succeeded_at=timezone.now(),
    )
    assert not donor.memberships.exists()  # the membership's consequence has not run yet

    receipt = services.issue_gift_receipt(donation_id=payment.pk)
    assert receipt.benefit_value == 125


def test_the_year_s_statement_repeats_the_benefit_of_each_payment(donor, member_tier):
    recurring = RecurringDonationFactory(supporter=donor, amount=2500)
    payment = DonationFactory(
        supporter=donor,
        recurring=recurring,
        frequency=Donation.Frequency.MONTHLY,
        amount=2500,
        succeeded_at=timezone.now(),
    )
    services.issue_gift_receipt(donation_id=payment.pk)
    statements.issue_annual_statements(year=timezone.localdate(payment.succeeded_at).year)

    statement = Receipt.objects.get(kind=Receipt.Kind.ANNUAL)
    assert (statement.benefit_value, statement.deductible_amount) == (125, 2375)
