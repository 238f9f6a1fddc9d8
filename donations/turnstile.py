"""Cloudflare Turnstile, the challenge (CAPTCHA) the card-testing limits ask for.

Name it in the hook setting: DONATION_CHALLENGE_HOOK=donations.turnstile.passes, with
TURNSTILE_SITE_KEY and TURNSTILE_SECRET_KEY. When a start needs the challenge, the form's
answer says so with `challenge_widget` (widget()), the page loads Turnstile's script and
shows the widget inside the form, and the widget's token comes back in the form field
`cf-turnstile-response`, which passes() checks with Cloudflare's siteverify endpoint
(https://developers.cloudflare.com/turnstile/get-started/server-side-validation/).
"""

import logging

import requests
from django.conf import settings
from django.http import HttpRequest

from donations.ratelimit import client_ip

log = logging.getLogger(__name__)

HOOK = "donations.turnstile.passes"
RESPONSE_FIELD = "cf-turnstile-response"
# Cloudflare's documented maximum token length; anything longer is not a token.
MAX_TOKEN_LENGTH = 2048


def passes(request: HttpRequest) -> bool:
    """Did this request carry a Turnstile token that Cloudflare vouches for? Anything
    else (no token, Cloudflare unreachable, an answer we cannot read) fails closed: the
    challenge is only asked after declines, when letting a script through costs cards."""
    token = request.POST.get(RESPONSE_FIELD, "")
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return False
    try:
        response = requests.post(
            settings.TURNSTILE_VERIFY_URL,
            data={
                "secret": settings.TURNSTILE_SECRET_KEY,
                "response": token,
                "remoteip": client_ip(request),
            },
            timeout=settings.TURNSTILE_TIMEOUT_SECONDS,
        )
        response.raise_for_status()
        outcome = response.json()
    except (requests.RequestException, ValueError) as error:
        log.warning("Turnstile verification failed: %s", error)
        return False
    if not isinstance(outcome, dict) or outcome.get("success") is not True:
        codes = outcome.get("error-codes") if isinstance(outcome, dict) else None
        log.info("Turnstile refused a token: %s", codes)
        return False
    return True


def widget() -> dict[str, str]:
    """What the page needs to show the widget ({} when Turnstile is not the hook)."""
    if settings.DONATION_CHALLENGE_HOOK != HOOK or not settings.TURNSTILE_SITE_KEY:
        return {}
    return {
        "provider": "turnstile",
        "site_key": settings.TURNSTILE_SITE_KEY,
        "script": settings.TURNSTILE_SCRIPT_URL,
        "field": RESPONSE_FIELD,
    }
