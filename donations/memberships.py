"""Memberships follow giving: after a gift succeeds or is refunded, or a recurring gift
changes state, the supporter's tier is worked out again from what they have paid.

Only money actually paid counts (succeeded gifts net of refunds and fee cover), never a
recurring gift's promised amount: a donor who raises a monthly gift to any figure and
cancels before paying it stays on what they paid. A live recurring gift counts at its
latest paid payment (monthly, or a twelfth of a yearly one); one-time and other gifts
count toward the twelve-month total.

This lives in donations (not members) because only donations knows the gifts; members
just records the result (members.services.membership_apply), so dependencies keep
pointing one way. `tier_bought_by` answers, for a receipt, which tier a payment buys,
from the same figures, so a receipt never races the membership write.
"""

import calendar
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F, OuterRef, Subquery, Sum
from django.utils import timezone

from donations.hooks import GiftEvent, GiftFact, finds_missed, listen
from donations.models import Donation, RecurringDonation
from members.models import Membership, Supporter, Tier
from members.services import membership_apply, tier_for_giving

log = logging.getLogger(__name__)

# A monthly gift that failed to renew keeps its benefits while Stripe retries.
GRACE_STATUSES = {RecurringDonation.Status.PAST_DUE}
COMMITTED_STATUSES = {RecurringDonation.Status.ACTIVE, RecurringDonation.Status.PAST_DUE}
COUNTED_STATUSES = [
    Donation.Status.SUCCEEDED,
    Donation.Status.PARTIALLY_REFUNDED,
    Donation.Status.DISPUTED,
]
KEPT = F("amount") - F("amount_refunded") - F("fee_covered")


def twelve_months_before(moment: datetime) -> datetime:
    """The same wall-clock time a year earlier in the organisation's zone (29 February
    falls back to the 28th): twelve months are 365 or 366 days, not a fixed count."""
    local = timezone.localtime(moment)
    day = min(local.day, calendar.monthrange(local.year - 1, local.month)[1])
    return local.replace(year=local.year - 1, day=day)


@dataclass(frozen=True)
class Giving:
    monthly: int = 0  # live recurring gifts at their latest paid payment, a month
    yearly_total: int = 0  # everything kept over the last twelve months
    in_grace: bool = False  # a live recurring gift is past due


def _monthly_share(net: int, interval: str) -> int:
    return net if interval == RecurringDonation.Interval.MONTH else net // 12


def _kept(donation: Donation) -> int:
    return max(donation.amount - donation.amount_refunded - donation.fee_covered, 0)


def giving_of(supporter_ids: Iterable[int] | None = None) -> dict[int, Giving]:
    """What each supporter has paid, in four queries whatever their number (None: every
    supporter with a live recurring gift or a gift in the last twelve months)."""
    since = twelve_months_before(timezone.now())
    gifts = Donation.objects.filter(status__in=COUNTED_STATUSES, succeeded_at__gte=since)
    recurring = RecurringDonation.objects.filter(status__in=COMMITTED_STATUSES)
    if supporter_ids is not None:
        ids = list(supporter_ids)
        gifts, recurring = (
            gifts.filter(supporter_id__in=ids),
            recurring.filter(supporter_id__in=ids),
        )
    yearly = dict(
        gifts.values("supporter_id").annotate(total=Sum(KEPT)).values_list("supporter_id", "total")
    )
    latest_paid = (
        Donation.objects.filter(recurring=OuterRef("pk"), status__in=COUNTED_STATUSES)
        .order_by("-succeeded_at", "-pk")
        .annotate(kept=KEPT)
        .values("kept")[:1]
    )
    monthly: dict[int, int] = {}
    in_grace: set[int] = set()
    for supporter_id, interval, status, paid in recurring.annotate(
        paid=Subquery(latest_paid)
    ).values_list("supporter_id", "interval", "status", "paid"):
        monthly[supporter_id] = monthly.get(supporter_id, 0) + _monthly_share(
            max(paid or 0, 0), interval
        )
        if status in GRACE_STATUSES:
            in_grace.add(supporter_id)
    return {
        supporter_id: Giving(
            monthly=monthly.get(supporter_id, 0),
            yearly_total=max(yearly.get(supporter_id) or 0, 0),
            in_grace=supporter_id in in_grace,
        )
        for supporter_id in set(yearly) | set(monthly)
    }


def tier_bought_by(donation: Donation, *, tiers: list[Tier] | None = None) -> Tier | None:
    """The tier the supporter's paid giving reaches with this payment, as of the moment it
    was paid: this payment counts in full (its recurring gift at this payment, whatever
    state the subscription's own news has reached), other live recurring gifts at their
    latest payment before it, and twelve months of kept gifts up to it."""
    when = donation.succeeded_at or donation.created_at
    counted = Donation.objects.filter(
        supporter_id=donation.supporter_id,
        status__in=COUNTED_STATUSES,
        succeeded_at__gt=twelve_months_before(when),
        succeeded_at__lte=when,
    ).exclude(pk=donation.pk)
    yearly = (counted.aggregate(total=Sum(KEPT))["total"] or 0) + _kept(donation)
    monthly = 0
    if donation.recurring_id is not None:
        interval = (
            RecurringDonation.Interval.YEAR
            if donation.frequency == Donation.Frequency.ANNUAL
            else RecurringDonation.Interval.MONTH
        )
        monthly = _monthly_share(_kept(donation), interval)
    others = RecurringDonation.objects.filter(
        supporter_id=donation.supporter_id, status__in=COMMITTED_STATUSES
    ).exclude(pk=donation.recurring_id)
    for other in others:
        latest = counted.filter(recurring=other).order_by("-succeeded_at", "-pk").first()
        if latest is not None:
            monthly += _monthly_share(_kept(latest), other.interval)
    return tier_for_giving(monthly_commitment=monthly, yearly_total=max(yearly, 0), tiers=tiers)


def membership_refresh(*, supporter_id: int) -> Membership | None:
    with transaction.atomic():
        # Two gifts of one supporter settling at once must not both open a membership.
        supporter = Supporter.objects.select_for_update().get(pk=supporter_id)
        giving = giving_of([supporter_id]).get(supporter_id, Giving())
        tier = tier_for_giving(monthly_commitment=giving.monthly, yearly_total=giving.yearly_total)
        status = Membership.Status.GRACE if giving.in_grace and tier else Membership.Status.ACTIVE
        return membership_apply(supporter=supporter, tier=tier, status=status)


@listen(GiftFact.SUCCEEDED, GiftFact.REFUNDED, GiftFact.DISPUTE_CLOSED, GiftFact.RECURRING_CHANGED)
def membership_follows_giving(event: GiftEvent) -> None:
    membership_refresh(supporter_id=event.supporter_id)


def memberships_disagreeing(supporter_ids: Iterable[int] | None = None) -> list[int]:
    """Supporters (of `supporter_ids`, or all) whose current membership (tier and status)
    is not what their paid giving earns: a refresh that never ran, or a yearly gift that
    aged out."""
    ids = None if supporter_ids is None else list(supporter_ids)
    tiers = list(Tier.objects.all())
    giving = giving_of(ids)
    live = Membership.objects.filter(status__in=[Membership.Status.ACTIVE, Membership.Status.GRACE])
    if ids is not None:
        live = live.filter(supporter_id__in=ids)
    current = {
        supporter_id: (tier_id, status)
        for supporter_id, tier_id, status in live.values_list("supporter_id", "tier_id", "status")
    }
    wrong = []
    for supporter_id in sorted(set(giving) | set(current)):
        figures = giving.get(supporter_id, Giving())
        tier = tier_for_giving(
            monthly_commitment=figures.monthly, yearly_total=figures.yearly_total, tiers=tiers
        )
        if tier is None:
            expected = None
        else:
            status = Membership.Status.GRACE if figures.in_grace else Membership.Status.ACTIVE
            expected = (tier.pk, status)
        if current.get(supporter_id) != expected:
            wrong.append(supporter_id)
    return wrong


@finds_missed(membership_follows_giving)
def supporters_whose_tier_disagrees() -> Iterator[GiftEvent]:
    """Supporters whose gifts changed within the lookback and whose tier disagrees (the
    daily refresh covers everyone else, and yearly gifts ageing out)."""
    now = timezone.now()

    def changed_since(when) -> set[int]:
        return set(
            Donation.objects.filter(updated_at__gte=when).values_list("supporter_id", flat=True)
        ) | set(
            RecurringDonation.objects.filter(updated_at__gte=when).values_list(
                "supporter_id", flat=True
            )
        )

    recently_changed = changed_since(
        now - timedelta(seconds=settings.GIFT_CONSEQUENCE_STUCK_AFTER_SECONDS)
    )
    candidates = changed_since(now - timedelta(days=settings.GIFT_OUTBOX_LOOKBACK_DAYS))
    for supporter_id in memberships_disagreeing(candidates):
        if supporter_id in recently_changed:
            continue  # its own consequence is in flight
        yield GiftEvent(
            fact=GiftFact.RECURRING_CHANGED,
            supporter_id=supporter_id,
            details={"found_by": "sweep"},
        )


# Errors that pass: a locked SQLite file, a dropped or restarting database connection.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


@shared_task
def refresh_all_memberships() -> int:
    """Daily: a yearly gift ages out after twelve months without any event saying so, and
    a membership whose refresh was lost is put right (everyone with giving in the window
    or a current membership is compared). One supporter's transient failure does not stop
    the rest: the outbox sweep or tomorrow's run finds them again. Returns how many were
    refreshed."""
    refreshed = 0
    for supporter_id in memberships_disagreeing():
        try:
            membership_refresh(supporter_id=supporter_id)
        except TRANSIENT_ERRORS as error:
            log.warning("membership of supporter %s not refreshed: %r", supporter_id, error)
        else:
            refreshed += 1
    return refreshed
