"""Members' background work: thin tasks, by id or address."""

from celery import shared_task
from django.conf import settings

from config.emails import send_email
from members import signin
from members.confirmation import confirmation_url
from members.models import NewsletterSubscription, Supporter


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


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_signin_link(email: str) -> None:
    """Email a sign-in link if the address is a supporter's; an unknown one gets nothing.

    Run off the request so the page answers in the same time either way. Delivered twice,
    it sends two links to the owner, both valid until one is used: harmless."""
    supporter = Supporter.objects.filter(email__iexact=email, anonymised_at__isnull=True).first()
    if supporter is None:
        return
    send_email(
        "signin",
        to=[supporter.email],
        context={"supporter": supporter, "url": signin.signin_url(supporter)},
    )
