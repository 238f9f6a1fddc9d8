"""Card-testing defences: counters of declined attempts per client IP and per email, and
of gifts started per IP, kept in the shared cache (Redis in production) so every web
process sees the same counts.

A window opens with the first count and closes DONATION_LIMIT_WINDOW_SECONDS later
(a fixed window: simple, and a tester gains at most one extra window's worth).
Keys hold a hash, not the address itself, so the cache holds no readable personal data.
"""

import hashlib
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.module_loading import import_string

from donations.hooks import GiftEvent, GiftFact, listen

log = logging.getLogger(__name__)

REFUSAL = (
    "Too many card attempts have been made from here in the last hour, so we have paused "
    "giving for a while to protect cardholders. Please try again later, or write to {email}."
)


def client_ip(request: HttpRequest) -> str:
    """The donor's address: REMOTE_ADDR, or the entry our own proxies added to
    X-Forwarded-For (entries further left are whatever the client claimed)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [
            p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode("utf-8", "replace")).hexdigest()[:32]
    return f"donate:{kind}:{digest}"


def _count(key: str) -> int:
    value = cache.get(key)
    return value if isinstance(value, int) else 0


def bump(key: str, *, window_seconds: int | None = None) -> int:
    """Count one more in a fixed window opened by the first count; returns the count.

    add() only sets a missing key, so the window starts at the first count and the
    increment that follows is atomic on Redis (and good enough on the file cache)."""
    window = window_seconds or settings.DONATION_LIMIT_WINDOW_SECONDS
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout=window)
        return 1


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    challenge: bool = False  # ask the CAPTCHA hook, if one is configured

    @property
    def message(self) -> str:
        return REFUSAL.format(email=settings.ORG_EMAIL)


def check(*, ip: str, email: str) -> Verdict:
    """May this IP (and, when known, this email) start or retry a gift now?"""
    declines = max(
        _count(_key("decline-ip", ip)), _count(_key("decline-email", email)) if email else 0
    )
    if declines >= settings.DONATION_DECLINE_LIMIT:
        return Verdict(allowed=False)
    if _count(_key("start-ip", ip)) >= settings.DONATION_START_LIMIT:
        return Verdict(allowed=False)
    return Verdict(allowed=True, challenge=declines >= settings.DONATION_CHALLENGE_AFTER)


def passes_challenge(request: HttpRequest) -> bool:
    """The CAPTCHA hook (DONATION_CHALLENGE_HOOK), asked once declines climb. With none
    configured every request passes and only the hard limits apply."""
    if not settings.DONATION_CHALLENGE_HOOK:
        return True
    return bool(import_string(settings.DONATION_CHALLENGE_HOOK)(request))


def record_start(*, ip: str) -> None:
    """A new gift was started (a PaymentIntent or subscription is about to be made)."""
    bump(_key("start-ip", ip))


def record_decline(*, ip: str, email: str, attempt: str) -> bool:
    """Count one declined card attempt against the IP and the email.

    `attempt` names the attempt (the failed charge or payment method), so the same decline
    heard twice (the page's report and the retry) counts once. Returns True if counted."""
    if not cache.add(
        _key("decline-seen", attempt), 1, timeout=settings.DONATION_LIMIT_WINDOW_SECONDS
    ):
        return False
    ip_count = bump(_key("decline-ip", ip))
    email_count = bump(_key("decline-email", email)) if email else 0
    if max(ip_count, email_count) >= settings.DONATION_DECLINE_LIMIT:
        log.warning(
            "donation attempts paused after %s declines (ip %s)", max(ip_count, email_count), ip
        )
    return True


# --- Declines Stripe tells us about ------------------------------------------------------
# The page reports each decline, but a script confirming intents itself never will; the
# webhook's "gift failed" fact reaches us regardless. The client's IP is remembered for
# the window when the gift starts (a renewal has none, and is not card testing).


def _ip_key(donation_pk: int) -> str:
    return f"donate:ip-of:{donation_pk}"


def remember_ip(*, donation_pk: int, ip: str) -> None:
    cache.set(_ip_key(donation_pk), ip, timeout=settings.DONATION_LIMIT_WINDOW_SECONDS)


def attempt_key(*, payment_intent_id: str, charge_id: str, fallback: str) -> str:
    """One declined attempt's name, the same whoever reports it (page or webhook)."""
    return f"{payment_intent_id}:{charge_id or fallback or 'declined'}"


@listen(GiftFact.FAILED)
def count_decline_from_stripe(event: GiftEvent) -> None:
    if event.donation_id is None:
        return
    ip = cache.get(_ip_key(event.donation_id))
    if not ip:
        return
    from donations.models import Donation

    row = (
        Donation.objects.filter(pk=event.donation_id)
        .values("stripe_payment_intent_id", "stripe_charge_id", "failure_code", "supporter__email")
        .first()
    )
    if row is None or not row["stripe_payment_intent_id"]:
        return
    record_decline(
        ip=ip,
        email=row["supporter__email"],
        attempt=attempt_key(
            payment_intent_id=row["stripe_payment_intent_id"],
            charge_id=row["stripe_charge_id"] or "",
            fallback=row["failure_code"],
        ),
    )
