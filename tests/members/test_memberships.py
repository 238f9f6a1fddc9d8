"""Memberships follow giving: tiers are earned by a monthly commitment or a yearly total."""

from datetime import UTC, datetime, timedelta

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
from members.models import Membership, NewsletterSubscription, Supporter
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


def current(supporter) -> Membership | None:
    return supporter.memberships.filter(status__in=["active", "grace"]).first()


def test_a_monthly_gift_earns_the_highest_tier_it_reaches(tiers):
    recurring = RecurringDonationFactory(amount=2000)
    membership = membership_refresh(supporter_id=recurring.supporter_id)
    assert membership.tier == tiers["member"]
    assert membership.status == Membership.Status.ACTIVE


def test_fee_cover_does_not_count_towards_a_tier(tiers):
    recurring = RecurringDonationFactory(amount=1530, fee_covered=75)  # 14.55 given
    assert membership_refresh(supporter_id=recurring.supporter_id).tier == tiers["reader"]


def test_an_annual_gift_counts_as_a_twelfth_a_month(tiers):
    recurring = RecurringDonationFactory(amount=18000, interval=RecurringDonation.Interval.YEAR)
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
    recurring = RecurringDonationFactory(amount=1500, status=RecurringDonation.Status.PAST_DUE)
    membership = membership_refresh(supporter_id=recurring.supporter_id)
    assert (membership.tier, membership.status) == (tiers["member"], Membership.Status.GRACE)


def test_a_cancelled_gift_lapses_the_membership_and_keeps_its_history(tiers):
    recurring = RecurringDonationFactory(amount=1500)
    first = membership_refresh(supporter_id=recurring.supporter_id)
    recurring.status = RecurringDonation.Status.CANCELED
    recurring.save()
    assert membership_refresh(supporter_id=recurring.supporter_id) is None
    first.refresh_from_db()
    assert first.status == Membership.Status.LAPSED and first.ends_at is not None


def test_a_raise_moves_to_a_new_membership(tiers):
    recurring = RecurringDonationFactory(amount=500)
    old = membership_refresh(supporter_id=recurring.supporter_id)
    recurring.amount = 1500
    recurring.save()
    new = membership_refresh(supporter_id=recurring.supporter_id)
    old.refresh_from_db()
    assert (old.status, new.tier, new.pk != old.pk) == (
        Membership.Status.LAPSED,
        tiers["member"],
        True,
    )


def test_refreshing_twice_changes_nothing(tiers):
    recurring = RecurringDonationFactory(amount=1500)
    membership_refresh(supporter_id=recurring.supporter_id)
    membership_refresh(supporter_id=recurring.supporter_id)
    assert Membership.objects.filter(supporter=recurring.supporter).count() == 1


def test_a_tier_subscribes_to_its_newsletters_but_never_over_an_unsubscribe(tiers):
    recurring = RecurringDonationFactory(amount=1500)
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
    Donation.objects.filter(pk=donation.pk).update(
        succeeded_at=timezone.now() - timedelta(days=366)
    )
    assert refresh_all_memberships() == 1
    assert current(donation.supporter) is None


# --- Lost refreshes heal: retries, then the daily job ----------------------------------


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
    recurring = RecurringDonationFactory(amount=1500)
    Membership.objects.create(
        supporter=recurring.supporter,
        tier=tiers["member"],
        status=Membership.Status.LAPSED,
        ends_at=timezone.now() - timedelta(days=3),
    )
    run_the_daily_job()
    membership = current(recurring.supporter)
    assert (membership.tier, membership.status) == (tiers["member"], Membership.Status.ACTIVE)


def test_the_daily_job_visits_only_supporters_whose_giving_can_earn_a_tier(tiers, pinned_clock):
    in_window = DonationFactory(amount=6000, succeeded_at=timezone.now() - timedelta(days=364))
    monthly = RecurringDonationFactory(amount=500)
    member = RecurringDonationFactory(amount=1500)
    membership_refresh(supporter_id=member.supporter_id)
    RecurringDonation.objects.filter(pk=member.pk).update(status=RecurringDonation.Status.CANCELED)
    DonationFactory(amount=90000, succeeded_at=timezone.now() - timedelta(days=366))
    DonationFactory(amount=90000, status=Donation.Status.REFUNDED, succeeded_at=timezone.now())
    RecurringDonationFactory(amount=90000, status=RecurringDonation.Status.CANCELED)
    SupporterFactory()

    assert refresh_all_memberships() == 3
    assert current(in_window.supporter).tier == tiers["reader"]
    assert current(monthly.supporter).tier == tiers["reader"]
    assert current(member.supporter) is None  # visited because its membership was current
    assert Membership.objects.filter(status__in=["active", "grace"]).count() == 2


def test_the_daily_job_carries_on_past_a_locked_database_and_retries_that_one(
    tiers, pinned_clock, locked_database
):
    first = DonationFactory(amount=6000, succeeded_at=timezone.now())
    second = DonationFactory(amount=6000, succeeded_at=timezone.now())
    locked_database["failures"] = 1
    assert refresh_all_memberships() == 1  # the other one went to its own retrying task
    assert current(first.supporter).tier == tiers["reader"]
    assert current(second.supporter).tier == tiers["reader"]


@pytest.fixture
def eager_retries():
    """Tasks run in-process as everywhere in the tests, but a retry runs again at once
    instead of raising to the caller: Celery's eager mode does that only when eager
    exceptions do not propagate. (The countdowns are retry_countdown's, tested below.)"""
    saved = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_eager_propagates = saved


def test_a_refresh_that_meets_a_locked_database_is_retried(
    tiers, locked_database, eager_retries, django_capture_on_commit_callbacks
):
    donation = DonationFactory(amount=10000, succeeded_at=timezone.now())
    locked_database["failures"] = 3
    with django_capture_on_commit_callbacks(execute=True):
        announce(
            GiftEvent(
                fact=GiftFact.SUCCEEDED, supporter_id=donation.supporter_id, donation_id=donation.pk
            )
        )
    assert locked_database["calls"] == 4
    assert current(donation.supporter).tier == tiers["reader"]


def test_retries_are_bounded(tiers, locked_database, eager_retries):
    donation = DonationFactory(amount=10000, succeeded_at=timezone.now())
    locked_database["failures"] = 1000
    result = memberships.refresh_membership.delay(donation.supporter_id)
    assert result.state == "FAILURE" and isinstance(result.result, OperationalError)
    assert locked_database["calls"] == memberships.MAX_RETRIES + 1
    assert current(donation.supporter) is None


def test_retries_back_off_up_to_ten_minutes():
    waits = [memberships.retry_countdown(n) for n in range(memberships.MAX_RETRIES)]
    assert waits == [5, 10, 20, 40, 80, 160, 320, 600]


def test_an_error_that_would_repeat_is_not_retried(tiers, locked_database, eager_retries):
    result = memberships.refresh_membership.delay(987654321)  # no such supporter
    assert result.state == "FAILURE" and isinstance(result.result, Supporter.DoesNotExist)
    assert locked_database["calls"] == 0
