"""Workflows on supporters' memberships and newsletter subscriptions.

Members is the bottom of the dependency chain: callers tell it which tier a supporter's
giving earns; it never looks at gifts itself.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from members.models import (
    PROFILE_FIELDS,
    Membership,
    NewsletterSubscription,
    ProfileChange,
    Supporter,
    Tier,
)


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
    unsubscribe is overridden only by the supporter's own proven request (signed in, or a
    confirmed emailed link), never by a membership benefit."""
    Status = NewsletterSubscription.Status
    now = timezone.now()
    subscription, created = NewsletterSubscription.objects.get_or_create(
        supporter=supporter,
        newsletter=newsletter,
        defaults={"consent_source": source, "consent_at": now, "consent_ip": ip},
    )
    if not created and subscription.status == Status.SUBSCRIBED:
        return subscription
    left_before = subscription.status == Status.UNSUBSCRIBED or subscription.unsubscribed_at
    if not created and left_before and source == "membership":
        # Also while a form's request to return waits for its emailed confirmation.
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


# Confirmation emails for one list go out at most this often, so a stranger submitting
# the form again and again cannot flood someone's inbox with them.
CONFIRMATION_RESEND_AFTER = timedelta(hours=24)


def newsletter_request_confirmation(
    *, supporter: Supporter, newsletter, source: str, ip: str | None
) -> NewsletterSubscription:
    """Ask the address's owner to confirm a list (double opt-in) when the request cannot
    be shown to come from them. The subscription waits as PENDING, with the request's
    consent record, until the emailed link is used; a list already received is left as
    it is, and an unsubscribe stands until then."""
    Status = NewsletterSubscription.Status
    now = timezone.now()
    subscription, created = NewsletterSubscription.objects.get_or_create(
        supporter=supporter,
        newsletter=newsletter,
        defaults={
            "status": Status.PENDING,
            "consent_source": source,
            "consent_at": now,
            "consent_ip": ip,
        },
    )
    if not created:
        if subscription.status == Status.SUBSCRIBED:
            return subscription
        recently_asked = (
            subscription.status == Status.PENDING
            and subscription.consent_at is not None
            and now - subscription.consent_at < CONFIRMATION_RESEND_AFTER
        )
        if recently_asked:
            return subscription
        # Compare-and-set on the status, so two requests at once send one email.
        claimed = NewsletterSubscription.objects.filter(
            pk=subscription.pk, status=subscription.status, consent_at=subscription.consent_at
        ).update(status=Status.PENDING, consent_source=source, consent_at=now, consent_ip=ip)
        if not claimed:
            return subscription
        subscription.refresh_from_db()
    from members import tasks

    transaction.on_commit(lambda: tasks.send_newsletter_confirmation.delay(subscription.pk))
    return subscription


def newsletter_confirm(*, subscription: NewsletterSubscription) -> bool:
    """The owner followed the emailed link: subscribe, stamping when they confirmed.
    Returns False when the subscription was no longer waiting (the link is spent)."""
    now = timezone.now()
    return bool(
        NewsletterSubscription.objects.filter(
            pk=subscription.pk, status=NewsletterSubscription.Status.PENDING
        ).update(
            status=NewsletterSubscription.Status.SUBSCRIBED, confirmed_at=now, unsubscribed_at=None
        )
    )


@transaction.atomic
def supporter_update_profile(
    *, supporter: Supporter, changes: dict[str, str], source: str, actor=None
) -> ProfileChange | None:
    """Change a supporter's name, address or email, recording who changed what (the
    signed-in supporter from their account, or staff). Returns None when nothing changed."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"not profile fields: {sorted(unknown)}")
    current = Supporter.objects.select_for_update().get(pk=supporter.pk)
    changed = {name: value for name, value in changes.items() if getattr(current, name) != value}
    if not changed:
        return None
    before = {name: getattr(current, name) for name in changed}
    Supporter.objects.filter(pk=supporter.pk).update(**changed)
    for name, value in changed.items():
        setattr(supporter, name, value)
    return ProfileChange.objects.create(
        supporter=supporter, source=source, actor=actor, before=before, after=changed
    )
