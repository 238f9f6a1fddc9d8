"""Deployment checks (`manage.py check --deploy`) for the card-testing defences."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def challenge_hook_configured(**_kwargs) -> list[checks.CheckMessage]:
    if settings.DONATION_CHALLENGE_HOOK:
        return []
    return [
        checks.Warning(
            "No challenge is configured for the donation form, so the per-email decline limit "
            "cannot stop anyone (it asks for a challenge instead of refusing the address's "
            "owner).",
            hint="Set DONATION_CHALLENGE_HOOK=donations.turnstile.passes with the TURNSTILE_* "
            "keys.",
            id="donations.W001",
        )
    ]
