"""Workflows on supporters' memberships and newsletter subscriptions.

Members is the bottom of the dependency chain: callers tell it which tier a supporter's
giving earns; it never looks at gifts itself.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from members.models import Membership, NewsletterSubscription, Supporter, Tier


@transaction.atomic
def membership_apply(
    *,
    supporter: Supporter,
    tier: Tier | None,
    status: str = Membership.Status.ACTIVE,
    ends_at: datetime | None = None,
) -> Membership | None:
    """Make the supporter's current membership say `tier` with `status`.

    A change of tier closes the old membership and opens a new one, so the history of
    what a supporter was entitled to (and when) survives for receipts and audits.
    Returns the current membership, or None when the giving earns no tier.
    """
    now = timezone.now()
    current = (
        Membership.objects.select_for_update()
        .filter(supporter=supporter, status__in=[Membership.Status.ACTIVE, Membership.Status.GRACE])
        .first()
    )
    if tier is None:
        if current:
            current.status = Membership.Status.LAPSED
            current.ends_at = current.ends_at or now
            current.save(update_fields=["status", "ends_at"])
        return None
    if current and current.tier_id == tier.pk:
        if (current.status, current.ends_at) != (status, ends_at):
            current.status, current.ends_at = status, ends_at
            current.save(update_fields=["status", "ends_at"])
        return current
    if current:
        current.status = Membership.Status.LAPSED
        current.ends_at = now
        current.save(update_fields=["status", "ends_at"])
    membership = Membership.objects.create(
        supporter=supporter, tier=tier, status=status, starts_at=now, ends_at=ends_at
    )
    for newsletter in tier.newsletters.all():
        newsletter_subscribe(supporter=supporter, newsletter=newsletter, source="membership")
    return membership


def tier_for_giving(
    *, monthly_commitment: int, yearly_total: int, tiers: list[Tier] | None = None
) -> Tier | None:
    """The highest tier that a monthly commitment or a twelve-month total qualifies for
    (`tiers`: the tiers already read, for a caller asking about many supporters)."""
    qualifying = [
        tier
        for tier in (Tier.objects.all() if tiers is None else tiers)
        if (tier.monthly_amount and monthly_commitment >= tier.monthly_amount)
        or (tier.yearly_amount and yearly_total >= tier.yearly_amount)
    ]
    return max(qualifying, key=lambda t: t.yearly_amount or t.monthly_amount * 12, default=None)


def newsletter_subscribe(
    *, supporter: Supporter, newsletter, source: str, ip: str | None = None, confirmed: bool = True
) -> NewsletterSubscription:
    """Record consent for one list, with where, when and from which address it came.

    A list the supporter already receives keeps its first consent record. An earlier
    unsubscribe is overridden only by the supporter's own new request (the form, their
    account), never by a membership benefit."""
    Status = NewsletterSubscription.Status
    now = timezone.now()
    subscription, created = NewsletterSubscription.objects.get_or_create(
        supporter=supporter,
        newsletter=newsletter,
        defaults={"consent_source": source, "consent_at": now, "consent_ip": ip},
    )
    if not created and subscription.status == Status.SUBSCRIBED:
        return subscription
    if not created and subscription.status == Status.UNSUBSCRIBED and source == "membership":
        return subscription
    subscription.consent_source, subscription.consent_at, subscription.consent_ip = source, now, ip
    subscription.status = Status.SUBSCRIBED if confirmed else Status.PENDING
    subscription.confirmed_at = now if confirmed else None
    subscription.unsubscribed_at = None
    subscription.save()
    return subscription


def newsletter_unsubscribe(*, subscription: NewsletterSubscription) -> bool:
    """Returns False when it was already unsubscribed (a second click changes nothing)."""
    changed = (
        NewsletterSubscription.objects.filter(pk=subscription.pk)
        .exclude(status=NewsletterSubscription.Status.UNSUBSCRIBED)
        .update(status=NewsletterSubscription.Status.UNSUBSCRIBED, unsubscribed_at=timezone.now())
    )
    return bool(changed)
