"""Memberships follow giving: after a gift succeeds or is refunded, or a recurring gift
changes state, the supporter's tier is worked out again from what they give.

This lives in donations (not members) because only donations knows the gifts; members
just records the result (members.services.membership_apply), so dependencies keep
pointing one way.
"""

import calendar
from datetime import datetime

from celery import shared_task
from django.db.models import F, Sum
from django.utils import timezone

from donations.hooks import GiftEvent, GiftFact, listen
from donations.models import Donation, RecurringDonation
from members.models import Membership, Supporter
from members.services import membership_apply, tier_for_giving

# A monthly gift that failed to renew keeps its benefits while Stripe retries.
GRACE_STATUSES = {RecurringDonation.Status.PAST_DUE}
COMMITTED_STATUSES = {RecurringDonation.Status.ACTIVE, RecurringDonation.Status.PAST_DUE}
COUNTED_STATUSES = [
    Donation.Status.SUCCEEDED,
    Donation.Status.PARTIALLY_REFUNDED,
    Donation.Status.DISPUTED,
]


def monthly_commitment(supporter: Supporter) -> tuple[int, bool]:
    """What the supporter's live recurring gifts come to a month, and whether any of them
    is only in grace (past due)."""
    total, in_grace = 0, False
    for recurring in supporter.recurring_donations.filter(status__in=COMMITTED_STATUSES):
        given = recurring.amount - recurring.fee_covered
        total += given if recurring.interval == RecurringDonation.Interval.MONTH else given // 12
        in_grace |= recurring.status in GRACE_STATUSES
    return total, in_grace


def twelve_months_before(moment: datetime) -> datetime:
    """The same wall-clock time a year earlier in the organisation's zone (29 February
    falls back to the 28th): twelve months are 365 or 366 days, not a fixed count."""
    local = timezone.localtime(moment)
    day = min(local.day, calendar.monthrange(local.year - 1, local.month)[1])
    return local.replace(year=local.year - 1, day=day)


def yearly_total(supporter: Supporter) -> int:
    """Gifts kept (net of refunds and fee cover) over the last twelve months."""
    since = twelve_months_before(timezone.now())
    kept = supporter.donations.filter(
        status__in=COUNTED_STATUSES, succeeded_at__gte=since
    ).aggregate(total=Sum(F("amount") - F("amount_refunded") - F("fee_covered")))
    return max(kept["total"] or 0, 0)


def membership_refresh(*, supporter_id: int) -> Membership | None:
    supporter = Supporter.objects.get(pk=supporter_id)
    monthly, in_grace = monthly_commitment(supporter)
    tier = tier_for_giving(monthly_commitment=monthly, yearly_total=yearly_total(supporter))
    status = Membership.Status.GRACE if in_grace and tier else Membership.Status.ACTIVE
    return membership_apply(supporter=supporter, tier=tier, status=status)


@shared_task(acks_late=True)
def refresh_membership(supporter_id: int) -> None:
    membership_refresh(supporter_id=supporter_id)


@listen(GiftFact.SUCCEEDED, GiftFact.REFUNDED, GiftFact.DISPUTE_CLOSED, GiftFact.RECURRING_CHANGED)
def membership_follows_giving(event: GiftEvent) -> None:
    refresh_membership.delay(event.supporter_id)


@shared_task
def refresh_all_memberships() -> int:
    """Daily: a yearly gift ages out after twelve months without any event saying so."""
    supporter_ids = list(
        Membership.objects.filter(
            status__in=[Membership.Status.ACTIVE, Membership.Status.GRACE]
        ).values_list("supporter_id", flat=True)
    )
    for supporter_id in supporter_ids:
        membership_refresh(supporter_id=supporter_id)
    return len(supporter_ids)
