"""Memberships follow giving: tiers are earned by a monthly commitment or a yearly total."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from config.celery import app as celery_app
from donations import memberships
from donations.hooks import GiftEvent, GiftFact, announce
from donations.memberships import membership_refresh, refresh_all_memberships
from donations.models import Donation, RecurringDonation
from members.models import Membership, NewsletterSubscription
from tests.factories import (
    DonationFactory,
    NewsletterFactory,
    RecurringDonationFactory,
    SupporterFactory,
    TierFactory,
)


@pytest.fixture
def tiers(db):
    members_letter = NewsletterFactory(slug="members", offered_on_form=False)
    reader = TierFactory(name="Reader", monthly_amount=500, yearly_amount=6000)
    member = TierFactory(
        name="Member", monthly_amount=1500, yearly_amount=18000, benefit_value=1500
    )
    member.newsletters.add(members_letter)
    return {"reader": reader, "member": member, "letter": members_letter}


def pay(recurring: RecurringDonation, amount: int | None = None) -> Donation:
    """One succeeded payment of the recurring gift, now."""
    annual = recurring.interval == RecurringDonation.Interval.YEAR
    return DonationFactory(
        supporter=recurring.supporter,
        recurring=recurring,
        frequency=Donation.Frequency.ANNUAL if annual else Donation.Frequency.MONTHLY,
        amount=amount if amount is not None else recurring.amount,
        fee_covered=recurring.fee_covered,
        succeeded_at=timezone.now(),
    )


def paying(**fields) -> RecurringDonation:
    """A recurring gift with its first payment made: tiers count only what was paid."""
    recurring = RecurringDonationFactory(**fields)
    pay(recurring)
    return recurring


def current(supporter) -> Membership | None:
    return supporter.memberships.filter(status__in=["active", "grace"]).first()


def test_a_monthly_gift_earns_the_highest_tier_it_reaches(tiers):
    recurring = paying(amount=2000)
    membership = membership_refresh(supporter_id=recurring.supporter_id)
    assert membership.tier == tiers["member"]
    assert membership.status == Membership.Status.ACTIVE


def test_fee_cover_does_not_count_towards_a_tier(tiers):
    recurring = paying(amount=1530, fee_covered=75)  # 14.55 given
    assert membership_refresh(supporter_id=recurring.supporter_id).tier == tiers["reader"]


def test_an_annual_gift_counts_as_a_twelfth_a_month(tiers):
    recurring = paying(amount=18000, interval=RecurringDonation.Interval.YEAR)
    assert membership_refresh(supporter_id=recurring.supporter_id).tier == tiers["member"]


def test_one_time_gifts_over_twelve_months_earn_a_tier(tiers):
    supporter = SupporterFactory()
    DonationFactory(
        supporter=supporter, amount=10000, succeeded_at=timezone.now() - timedelta(days=200)
    )
    DonationFactory(supporter=supporter, amount=8000, succeeded_at=timezone.now())
    assert membership_refresh(supporter_id=supporter.pk).tier == tiers["member"]


def test_refunded_money_does_not_count(tiers):
    supporter = SupporterFactory()
    DonationFactory(
        supporter=supporter,
        amount=18000,
        amount_refunded=10000,
        status=Donation.Status.PARTIALLY_REFUNDED,
        succeeded_at=timezone.now(),
    )
    assert membership_refresh(supporter_id=supporter.pk).tier == tiers["reader"]  # 80.00 kept


def test_a_past_due_monthly_gift_keeps_the_tier_in_grace(tiers):
    recurring = paying(amount=1500, status=RecurringDonation.Status.PAST_DUE)
    membership = membership_refresh(supporter_id=recurring.supporter_id)
    assert (membership.tier, membership.status) == (tiers["member"], Membership.Status.GRACE)


def test_a_cancelled_gift_lapses_the_membership_and_keeps_its_history(tiers):
    recurring = paying(amount=1500)
    first = membership_refresh(supporter_id=recurring.supporter_id)
    recurring.status = RecurringDonation.Status.CANCELED
    recurring.save()
    assert membership_refresh(supporter_id=recurring.supporter_id) is None
    first.refresh_from_db()
    assert first.status == Membership.Status.LAPSED and first.ends_at is not None


def test_a_raise_moves_to_a_new_membership(tiers):
    recurring = paying(amount=500)
    old = membership_refresh(supporter_id=recurring.supporter_id)
    recurring.amount = 1500
    recurring.save()
    pay(recurring)
    new = membership_refresh(supporter_id=recurring.supporter_id)
    old.refresh_from_db()
    assert (old.status, new.tier, new.pk != old.pk) == (
        Membership.Status.LAPSED,
        tiers["member"],
        True,
    )


def test_refreshing_twice_changes_nothing(tiers):
    recurring = paying(amount=1500)
    membership_refresh(supporter_id=recurring.supporter_id)
    membership_refresh(supporter_id=recurring.supporter_id)
    assert Membership.objects.filter(supporter=recurring.supporter).count() == 1


def test_a_tier_subscribes_to_its_newsletters_but_never_over_an_unsubscribe(tiers):
    recurring = paying(amount=1500)
    membership_refresh(supporter_id=recurring.supporter_id)
    subscription = NewsletterSubscription.objects.get(
        supporter=recurring.supporter, newsletter=tiers["letter"]
    )
    assert (subscription.status, subscription.consent_source) == ("subscribed", "membership")
    subscription.status = NewsletterSubscription.Status.UNSUBSCRIBED
    subscription.save()
    Membership.objects.all().delete()
    membership_refresh(supporter_id=recurring.supporter_id)
    subscription.refresh_from_db()
    assert subscription.status == NewsletterSubscription.Status.UNSUBSCRIBED


def test_a_gift_announced_through_the_hook_refreshes_the_membership(
    tiers, django_capture_on_commit_callbacks
):
    donation = DonationFactory(amount=6000, succeeded_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        announce(
            GiftEvent(
                fact=GiftFact.SUCCEEDED, supporter_id=donation.supporter_id, donation_id=donation.pk
            )
        )
    assert current(donation.supporter).tier == tiers["reader"]


def test_the_daily_refresh_lapses_a_yearly_gift_after_twelve_months(tiers):
    donation = DonationFactory(amount=6000, succeeded_at=timezone.now())
    membership_refresh(supporter_id=donation.supporter_id)
    # Older than any twelve months, which are 365 or 366 days.
    Donation.objects.filter(pk=donation.pk).update(
        succeeded_at=timezone.now() - timedelta(days=367)
    )
    assert refresh_all_memberships() == 1
    assert current(donation.supporter) is None


def test_a_promised_amount_never_paid_earns_nothing(tiers):
    recurring = RecurringDonationFactory(amount=2000)
    assert membership_refresh(supporter_id=recurring.supporter_id) is None


def test_a_raise_then_a_cancellation_before_paying_it_keeps_the_tier_on_what_was_paid(tiers):
    patron = TierFactory(name="Patron", monthly_amount=100_000, yearly_amount=1_200_000)
    recurring = paying(amount=1500)
    RecurringDonation.objects.filter(pk=recurring.pk).update(
        amount=999_999_999, cancel_at_period_end=True
    )
    assert refresh_all_memberships() == 1
    membership = current(recurring.supporter)
    assert membership.tier == tiers["member"] != patron


def test_a_refunded_latest_payment_no_longer_holds_the_monthly_tier(tiers):
    recurring = paying(amount=1500)
    payment = recurring.payments.get()
    Donation.objects.filter(pk=payment.pk).update(
        amount_refunded=1000, status=Donation.Status.PARTIALLY_REFUNDED
    )
    membership = membership_refresh(supporter_id=recurring.supporter_id)
    assert membership.tier == tiers["reader"]  # 5.00 kept: not Member's 15.00 any more


NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("now", "given", "counts"),
    [
        # A leap year's twelve months are 366 days: on 29 February 2028 a gift from
        # 1 March 2027 is still inside them (a 365-day window dropped it a day early).
        ("2028-02-29 12:00", "2027-03-01 10:00", True),
        ("2028-03-01 12:00", "2027-03-01 13:00", True),
        ("2028-03-01 12:00", "2027-03-01 11:00", False),
        # From 29 February, twelve months back is 28 February.
        ("2028-02-29 12:00", "2027-02-28 13:00", True),
        ("2028-02-29 12:00", "2027-02-28 11:00", False),
        # New Year's Eve in New York is already 1 January in UTC.
        ("2026-12-31 23:30", "2025-12-31 23:45", True),
        ("2026-12-31 23:30", "2025-12-31 23:15", False),
    ],
)
def test_a_one_time_gift_counts_for_exactly_twelve_calendar_months(
    tiers, settings, time_machine, now, given, counts
):
    settings.TIME_ZONE = "America/New_York"
    time_machine.move_to(datetime.fromisoformat(now).replace(tzinfo=NEW_YORK), tick=False)
    donation = DonationFactory(
        amount=6000, succeeded_at=datetime.fromisoformat(given).replace(tzinfo=NEW_YORK)
    )

    membership = membership_refresh(supporter_id=donation.supporter_id)

    assert (membership is not None and membership.tier == tiers["reader"]) is counts


# --- Lost refreshes heal: the daily job ------------------------------------------------


@pytest.fixture
def pinned_clock():
    # Any fixed moment: the tier window is counted back from "now".
    with time_machine.travel(datetime(2030, 3, 1, 12, tzinfo=UTC), tick=False):
        yield


def run_the_daily_job() -> None:
    """What beat does once a day: send the task its schedule names."""
    name = settings.CELERY_BEAT_SCHEDULE["donations-refresh-memberships"]["task"]
    celery_app.tasks[name].delay()


@pytest.fixture
def locked_database(monkeypatch):
    """The next `failures` membership writes meet SQLite's "database is locked"."""
    state = {"failures": 0, "calls": 0}
    real_apply = memberships.membership_apply

    def apply(**kwargs):
        state["calls"] += 1
        if state["failures"]:
            state["failures"] -= 1
            raise OperationalError("database is locked")
        return real_apply(**kwargs)

    monkeypatch.setattr(memberships, "membership_apply", apply)
    return state


def test_the_daily_job_gives_a_one_time_donor_their_missing_membership(tiers, pinned_clock):
    donation = DonationFactory(amount=10000, succeeded_at=timezone.now() - timedelta(days=364))
    assert current(donation.supporter) is None  # the refresh after the gift was lost
    run_the_daily_job()
    assert current(donation.supporter).tier == tiers["reader"]


def test_the_daily_job_restores_an_active_monthly_donor_shown_as_lapsed(tiers, pinned_clock):
    recurring = paying(amount=1500)
    Membership.objects.filter(supporter=recurring.supporter).delete()
    Membership.objects.create(
        supporter=recurring.supporter,
        tier=tiers["member"],
        status=Membership.Status.LAPSED,
        ends_at=timezone.now() - timedelta(days=3),
    )
    run_the_daily_job()
    membership = current(recurring.supporter)
    assert (membership.tier, membership.status) == (tiers["member"], Membership.Status.ACTIVE)


def test_the_daily_job_carries_on_past_a_locked_database(tiers, pinned_clock, locked_database):
    first = DonationFactory(amount=6000, succeeded_at=timezone.now())
    second = DonationFactory(amount=6000, succeeded_at=timezone.now())
    locked_database["failures"] = 1
    assert refresh_all_memberships() == 1
    assert [current(first.supporter), current(second.supporter)].count(None) == 1
    assert refresh_all_memberships() == 1  # the next run (or the outbox sweep) heals it
    assert current(first.supporter).tier == current(second.supporter).tier == tiers["reader"]
