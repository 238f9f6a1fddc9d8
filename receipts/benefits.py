"""What a donor received in return for a gift: the benefits of the membership it paid for.

A tier's `benefit_value` is the fair market value of a year of its benefits. A gift
"buys" them when it is what keeps the membership going:
- a monthly payment of a recurring gift carries a twelfth of the year's value;
- an annual payment, or a one-time gift that alone reaches the tier's yearly amount,
  carries the whole year's value.
Other one-time gifts from a member are extra giving and bought nothing. The value is
never more than the gift itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from donations.models import Donation
from members.models import Membership

LIVE_MEMBERSHIP = (Membership.Status.ACTIVE, Membership.Status.GRACE)


@dataclass(frozen=True)
class Benefit:
    value: int = 0
    description: str = ""


def memberships_for(supporter_ids) -> dict[int, list[Membership]]:
    """Memberships with benefits, grouped by supporter (one query for a batch)."""
    grouped: dict[int, list[Membership]] = {}
    rows = Membership.objects.filter(
        supporter_id__in=list(supporter_ids), tier__benefit_value__gt=0
    ).select_related("tier")
    for membership in rows:
        grouped.setdefault(membership.supporter_id, []).append(membership)
    return grouped


def benefit_for(donation: Donation, memberships: list[Membership] | None = None) -> Benefit:
    if memberships is None:
        memberships = memberships_for([donation.supporter_id]).get(donation.supporter_id, [])
    when = donation.succeeded_at or donation.created_at
    for membership in memberships:
        if membership.status not in LIVE_MEMBERSHIP and membership.ends_at is None:
            continue
        if membership.starts_at > when or (membership.ends_at and membership.ends_at < when):
            continue
        tier = membership.tier
        if donation.frequency == Donation.Frequency.MONTHLY:
            value = round(tier.benefit_value / 12)
        elif (
            donation.frequency == Donation.Frequency.ANNUAL
            or tier.yearly_amount
            and donation.amount >= tier.yearly_amount
        ):
            value = tier.benefit_value
        else:
            continue
        return Benefit(value=min(value, donation.amount), description=tier.benefit_description)
    return Benefit()
