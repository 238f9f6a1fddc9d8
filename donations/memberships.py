"""Memberships follow giving: after a gift succeeds or is refunded, or a recurring gift
changes state, the supporter's tier is worked out again from what they give.

This lives in donations (not members) because only donations knows the gifts; members
just records the result (members.services.membership_apply), so dependencies keep
pointing one way.
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.db.models import F, Sum
from django.utils import timezone

from donations.hooks import GiftEvent, GiftFact, listen
from donations.models import Donation, RecurringDonation
from members.models import Membership, Supporter
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
# How far back one-time giving counts towards a tier.
TIER_WINDOW = timedelta(days=365)


def monthly_commitment(supporter: Supporter) -> tuple[int, bool]:
    """What the supporter's live recurring gifts come to a month, and whether any of them
    is only in grace (past due)."""
    total, in_grace = 0, False
    for recurring in supporter.recurring_donations.filter(status__in=COMMITTED_STATUSES):
        given = recurring.amount - recurring.fee_covered
        total += given if recurring.interval == RecurringDonation.Interval.MONTH else given // 12
        in_grace |= recurring.status in GRACE_STATUSES
    return total, in_grace


def yearly_total(supporter: Supporter) -> int:
    """Gifts kept (net of refunds and fee cover) over the last twelve months."""
    since = timezone.now() - TIER_WINDOW
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


# Errors that pass: a locked SQLite file, a dropped or restarting database connection.
# Anything else (a deleted supporter, a bug) would fail the same way again.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
# 5 s, 10 s, 20 s... capped at 10 min; after MAX_RETRIES (about 20 minutes in all) the
# daily refresh_all_memberships still finds the supporter, so nothing is lost for good.
RETRY_BASE_SECONDS = 5
RETRY_CAP_SECONDS = 10 * 60
MAX_RETRIES = 8


def retry_countdown(retries: int) -> int:
    return min(RETRY_BASE_SECONDS * 2**retries, RETRY_CAP_SECONDS)


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def refresh_membership(self, supporter_id: int) -> None:
    try:
        membership_refresh(supporter_id=supporter_id)
    except TRANSIENT_ERRORS as error:
        if self.request.retries >= MAX_RETRIES:
            raise
        raise self.retry(countdown=retry_countdown(self.request.retries), exc=error) from error


@listen(GiftFact.SUCCEEDED, GiftFact.REFUNDED, GiftFact.DISPUTE_CLOSED, GiftFact.RECURRING_CHANGED)
def membership_follows_giving(event: GiftEvent) -> None:
    refresh_membership.delay(event.supporter_id)


def supporters_to_refresh() -> list[int]:
    """Everyone whose tier could be anything but none: a gift kept within the tier window,
    a recurring gift still committed, or a membership still current (which may have to
    lapse). Those with giving are here even when their membership row is missing or
    wrong, so a refresh that was lost (a task that died, a broker that was down) heals."""
    since = timezone.now() - TIER_WINDOW
    gave = Donation.objects.filter(status__in=COUNTED_STATUSES, succeeded_at__gte=since)
    committed = RecurringDonation.objects.filter(status__in=COMMITTED_STATUSES)
    current = Membership.objects.filter(
        status__in=[Membership.Status.ACTIVE, Membership.Status.GRACE]
    )
    ids: set[int] = set()
    for rows in (gave, committed, current):
        ids.update(rows.values_list("supporter_id", flat=True).distinct())
    return sorted(ids)


@shared_task
def refresh_all_memberships() -> int:
    """Daily: a yearly gift ages out after twelve months without any event saying so, and
    a membership whose refresh was lost is put right. One supporter's failure does not
    stop the rest: theirs is retried on its own. Returns how many were refreshed."""
    refreshed = 0
    for supporter_id in supporters_to_refresh():
        try:
            membership_refresh(supporter_id=supporter_id)
        except TRANSIENT_ERRORS as error:
            log.warning("membership of supporter %s: %r; retrying on its own", supporter_id, error)
            try:
                refresh_membership.delay(supporter_id)
            except Exception:
                # The broker is down too (or tasks run in-process and this one failed
                # again): tomorrow's run finds the supporter once more.
                log.exception("could not retry the membership of supporter %s", supporter_id)
        else:
            refreshed += 1
    return refreshed
