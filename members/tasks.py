"""Celery tasks for members: thin, by id."""

from celery import shared_task
from django.conf import settings

from config.emails import send_email
from members.confirmation import confirmation_url
from members.models import NewsletterSubscription


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_newsletter_confirmation(subscription_id: int) -> bool:
    """Email the link that confirms a pending subscription; False if it is not pending."""
    subscription = (
        NewsletterSubscription.objects.select_related("newsletter", "supporter")
        .filter(pk=subscription_id, status=NewsletterSubscription.Status.PENDING)
        .first()
    )
    if subscription is None:
        return False
    send_email(
        "newsletter_confirm",
        to=[subscription.supporter.email],
        context={
            "newsletter": subscription.newsletter,
            "url": confirmation_url(subscription),
            "max_age_days": _max_age_days(),
        },
    )
    return True


def _max_age_days() -> int:
    return max(1, settings.NEWSLETTER_CONFIRM_MAX_AGE_SECONDS // 86400)
