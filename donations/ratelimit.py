"""Card-testing defences: counters of declined attempts per client IP and per email, and
of gifts started per IP, kept in the shared cache (Redis in production) so every web
process sees the same counts.

A window opens with the first count and closes DONATION_LIMIT_WINDOW_SECONDS later
(a fixed window: simple, and a tester gains at most one extra window's worth). Every
count is an atomic cache increment, so concurrent requests can never overshoot a limit.

No key or value holds an address: each is a keyed hash (HMAC with the secret key) of the
IP or email. A plain hash would not do for IPs: there are only 2^32 IPv4 addresses, and
hashing them all takes minutes.

What each limit does (see the README, "Card testing"):
- declines from one IP reach DONATION_DECLINE_LIMIT: that IP may start nothing more;
- declines for one email reach the limit: a start for that email must pass the challenge
  (DONATION_CHALLENGE_HOOK), never a refusal, so a stranger cannot lock the address's
  owner out by declining cards in their name from elsewhere;
- gifts started from one IP reach DONATION_START_LIMIT: that IP may start nothing more.
"""

import hashlib
import hmac
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.module_loading import import_string

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


def digest(value: str) -> str:
    """A keyed hash of an IP or email (case and outer spaces ignored), for cache keys."""
    secret = hashlib.sha256(b"pledge.ratelimit" + settings.SECRET_KEY.encode()).digest()
    message = value.strip().lower().encode("utf-8", "replace")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def hashed_key(kind: str, value: str) -> str:
    """The cache key counting `kind` for one IP or email (other limiters may use it too)."""
    return digest_key(kind, digest(value))


def digest_key(kind: str, value_digest: str) -> str:
    return f"donate:{kind}:{value_digest}"


def _count(key: str) -> int:
    value = cache.get(key)
    return value if isinstance(value, int) else 0


def _window() -> int:
    return settings.DONATION_LIMIT_WINDOW_SECONDS


def bump(key: str, *, window_seconds: int | None = None) -> int:
    """Count one more in a fixed window opened by the first count; returns the count.

    add() only sets a missing key, so the window starts at the first count, and incr()
    is atomic (Redis INCR; a lock in the local-memory cache): two requests at once get
    two different counts, never the same one."""
    window = window_seconds or _window()
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add() and incr()
        if cache.add(key, 1, timeout=window):
            return 1
        return cache.incr(key)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    challenge: bool = False  # ask the CAPTCHA hook before going on

    @property
    def message(self) -> str:
        return REFUSAL.format(email=settings.ORG_EMAIL)


@dataclass(frozen=True)
class DeclineCount:
    ip: int
    email: int

    @property
    def ip_over(self) -> bool:
        return self.ip >= settings.DONATION_DECLINE_LIMIT

    @property
    def email_over(self) -> bool:
        return self.email >= settings.DONATION_DECLINE_LIMIT


def declines(*, ip: str = "", email: str = "") -> DeclineCount:
    return DeclineCount(
        ip=_count(hashed_key("decline-ip", ip)) if ip else 0,
        email=_count(hashed_key("decline-email", email)) if email else 0,
    )


def check(*, ip: str, email: str) -> Verdict:
    """May this IP (and, when known, this email) start or retry a gift now?"""
    counted = declines(ip=ip, email=email)
    if counted.ip_over:
        return Verdict(allowed=False)
    if _count(hashed_key("start-ip", ip)) >= settings.DONATION_START_LIMIT:
        return Verdict(allowed=False)
    # An email over its limit asks for the challenge instead of refusing: the IP that
    # declined those cards is refused above, and the address's owner must still get in.
    challenge = counted.email_over or max(counted.ip, counted.email) >= (
        settings.DONATION_CHALLENGE_AFTER
    )
    return Verdict(allowed=True, challenge=challenge)


def challenge_configured() -> bool:
    return bool(settings.DONATION_CHALLENGE_HOOK)


def passes_challenge(request: HttpRequest) -> bool:
    """The CAPTCHA hook (DONATION_CHALLENGE_HOOK), asked once declines climb. With none
    configured every request passes and only the hard (per-IP) limits apply."""
    if not challenge_configured():
        return True
    return bool(import_string(settings.DONATION_CHALLENGE_HOOK)(request))


def claim_start(*, ip: str) -> bool:
    """Count a new gift from this IP, if the window still allows one; False refuses it.

    One atomic increment decides, so thirty concurrent starts against a limit of thirty
    admit thirty, not thirty-one (a read, then a write later, would let them all in)."""
    return bump(hashed_key("start-ip", ip)) <= settings.DONATION_START_LIMIT


def record_decline(*, ip_digest: str, email: str, attempt: str) -> DeclineCount | None:
    """Count one declined card attempt against the IP (by its digest) and the email.

    `attempt` names the attempt (its failed charge), so the same decline heard twice (the
    page's report and the webhook) counts once. Returns the counts, or None if already
    counted."""
    if not cache.add(hashed_key("decline-seen", attempt), 1, timeout=_window()):
        return None
    counted = DeclineCount(
        ip=bump(digest_key("decline-ip", ip_digest)) if ip_digest else 0,
        email=bump(hashed_key("decline-email", email)) if email else 0,
    )
    if counted.ip_over or counted.email_over:
        log.warning(
            "card testing: %s declines from one IP, %s for one email", counted.ip, counted.email
        )
    return counted


# --- Which gifts came from where -----------------------------------------------------
# A webhook carries no client IP, so the IP that started a gift is remembered for the
# window, by its digest; each IP also keeps a list of the gifts it started, so the open
# ones can be cancelled once it passes the limits.


def _ip_of_key(donation_pk: int) -> str:
    return f"donate:ip-of:{donation_pk}"


def remember_gift(*, donation_pk: int, ip: str, reused: bool) -> None:
    ip_digest = digest(ip)
    cache.set(_ip_of_key(donation_pk), ip_digest, timeout=_window())
    if not reused:
        position = bump(digest_key("gifts-of", ip_digest) + ":n")
        cache.set(
            digest_key("gifts-of", ip_digest) + f":{position}", donation_pk, timeout=_window()
        )


def ip_digest_of(donation_pk: int) -> str:
    """The digest of the IP that started this gift (within the window), else ''."""
    found = cache.get(_ip_of_key(donation_pk))
    return found if isinstance(found, str) else ""


def gifts_started_from(ip_digest: str) -> list[int]:
    prefix = digest_key("gifts-of", ip_digest)
    total = _count(prefix + ":n")
    keys = [f"{prefix}:{n}" for n in range(1, total + 1)]
    return [pk for pk in cache.get_many(keys).values() if isinstance(pk, int)]
