"""Members' background work."""

from celery import shared_task

from config.emails import send_email
from members import signin
from members.models import Supporter


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
