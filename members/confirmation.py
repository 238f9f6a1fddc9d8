"""Signed links that confirm a newsletter subscription asked for on the public form.

The signed value names the subscription and the consent request it confirms (its
consent_at). Confirming moves the subscription out of PENDING, and a new request moves
consent_at on, so a link works once and only for the latest request: nothing is stored
per link. Links expire after NEWSLETTER_CONFIRM_MAX_AGE_SECONDS.
"""

from django.conf import settings
from django.core import signing
from django.urls import reverse

from members.models import NewsletterSubscription
from members.signin import LinkRefused, unsign_link

__all__ = ["LinkRefused", "confirmation_token", "confirmation_url", "subscription_to_confirm"]

_SALT = "members.newsletter-confirm"


def _state(subscription: NewsletterSubscription) -> str:
    return subscription.consent_at.isoformat() if subscription.consent_at else "none"


def confirmation_token(subscription: NewsletterSubscription) -> str:
    return signing.TimestampSigner(salt=_SALT).sign(f"{subscription.pk}|{_state(subscription)}")


def confirmation_url(subscription: NewsletterSubscription) -> str:
    return settings.SITE_URL + reverse(
        "members:confirm_subscription", args=[confirmation_token(subscription)]
    )


def subscription_to_confirm(token: str) -> NewsletterSubscription:
    """The PENDING subscription this link confirms, or LinkRefused."""
    pk, state = unsign_link(
        token,
        salt=_SALT,
        max_age=settings.NEWSLETTER_CONFIRM_MAX_AGE_SECONDS,
        expired="This confirmation link has expired.",
        invalid="This confirmation link is not valid.",
    )
    subscription = (
        NewsletterSubscription.objects.select_related("newsletter", "supporter")
        .filter(pk=pk, status=NewsletterSubscription.Status.PENDING)
        .first()
    )
    if subscription is None or state != _state(subscription):
        raise LinkRefused("This confirmation link has already been used.")
    return subscription
