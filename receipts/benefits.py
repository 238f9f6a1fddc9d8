"""What a donor received in return for a gift: the benefits of the tier it buys.

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

from donations.memberships import tier_bought_by
from donations.models import Donation
from members.models import Tier


@dataclass(frozen=True)
class Benefit:
    value: int = 0
    description: str = ""


def benefit_for(donation: Donation, *, tiers: list[Tier] | None = None) -> Benefit:
    """Worked out from the payment itself and what the supporter had paid up to it (the
    tier it buys), never from the membership row, which is written by another
    consequence of the same payment and may not be there yet."""
    tier = tier_bought_by(donation, tiers=tiers)
    if tier is None or not tier.benefit_value:
        return Benefit()
    if donation.frequency == Donation.Frequency.MONTHLY:
        value = round(tier.benefit_value / 12)
    elif donation.frequency == Donation.Frequency.ANNUAL or (
        tier.yearly_amount and donation.amount >= tier.yearly_amount
    ):
        value = tier.benefit_value
    else:
        return Benefit()
    return Benefit(value=min(value, donation.amount), description=tier.benefit_description)
