"""One-click unsubscribe links (RFC 8058), signed so nobody can unsubscribe someone else.

The link carries the subscription's id, signed with the secret key; it does not expire,
because an unsubscribe link in a two-year-old email must still work (CAN-SPAM, GDPR).
"""

from django.conf import settings
from django.core import signing
from django.urls import reverse

from members.models import NewsletterSubscription

_SALT = "members.unsubscribe"


def unsubscribe_token(subscription: NewsletterSubscription) -> str:
    return signing.dumps(subscription.pk, salt=_SALT, compress=True)


def unsubscribe_url(subscription: NewsletterSubscription) -> str:
    return settings.SITE_URL + reverse(
        "members:unsubscribe", args=[unsubscribe_token(subscription)]
    )


def subscription_for_token(token: str) -> NewsletterSubscription | None:
    try:
        pk = signing.loads(token, salt=_SALT)
    except signing.BadSignature:
        return None
    return (
        NewsletterSubscription.objects.select_related("newsletter", "supporter")
        .filter(pk=pk)
        .first()
    )


def list_unsubscribe_headers(subscription: NewsletterSubscription) -> dict[str, str]:
    """Headers for a newsletter message so mail clients show their own unsubscribe button."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(subscription)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
