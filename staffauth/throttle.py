"""Staff sign-in throttling: failed passwords are counted per username and client IP, per
username, and per IP, in the shared cache; past a limit the admin login refuses even the
right password until the window closes, and says so.

A fixed window (donations.ratelimit.bump) opened by the first failure: a guesser gets at
most STAFF_LOGIN_FAILURES_PER_USER_AND_IP tries per STAFF_LOGIN_LOCKOUT_SECONDS from one
address. The per-username limit is higher, so a spray from many addresses still stops,
and it can lock the real person out for one window: for staff accounts that trade is
made knowingly (the lockout is logged; an admin sees who was targeted). Keys are keyed
hashes, so the cache names no account.

django-axes does this too, but no release supports Django 6.1 yet.
"""

import logging
import math

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

from donations.ratelimit import bump, client_ip

log = logging.getLogger("staffauth.login")

_SALT = "staffauth.throttle"


def limit_key(kind: str, value: str) -> str:
    digest = salted_hmac(_SALT, value.strip().lower(), algorithm="sha256").hexdigest()[:32]
    return f"staff-login:{kind}:{digest}"


def _keys(username: str, ip: str) -> dict[str, tuple[str, int]]:
    return {
        "user+ip": (
            limit_key("user-ip", f"{username}|{ip}"),
            settings.STAFF_LOGIN_FAILURES_PER_USER_AND_IP,
        ),
        "user": (limit_key("user", username), settings.STAFF_LOGIN_FAILURES_PER_USER),
        "ip": (limit_key("ip", ip), settings.STAFF_LOGIN_FAILURES_PER_IP),
    }


def locked_out(*, username: str, ip: str) -> bool:
    for key, limit in _keys(username, ip).values():
        count = cache.get(key)
        if isinstance(count, int) and count >= limit:
            return True
    return False


def lockout_message() -> str:
    minutes = math.ceil(settings.STAFF_LOGIN_LOCKOUT_SECONDS / 60)
    return (
        "Too many failed sign-ins for this account or from this network. Sign-in is "
        f"paused for up to {minutes} minutes; try again later or ask an administrator."
    )


def record_failure(*, username: str, ip: str) -> None:
    window = settings.STAFF_LOGIN_LOCKOUT_SECONDS
    for scope, (key, limit) in _keys(username, ip).items():
        if bump(key, window_seconds=window) == limit:
            log.warning(
                "staff sign-in locked for %s s after %s failures (%s; username %r, ip %s)",
                window, limit, scope, username, ip,
            )  # fmt: skip


def record_success(*, username: str, ip: str) -> None:
    """The right password from here: this address's count for the account starts again.
    The account-wide and IP-wide counts stay, or a guesser who also knows one password
    could reset them."""
    cache.delete(_keys(username, ip)["user+ip"][0])


@receiver(user_login_failed)
def _count_failure(sender, credentials: dict, request: HttpRequest | None = None, **kwargs):
    if request is None:  # authenticate() called outside a request (a command, a test)
        return
    record_failure(username=str(credentials.get("username", "")), ip=client_ip(request))


@receiver(user_logged_in)
def _count_success(sender, request: HttpRequest | None, user, **kwargs):
    if request is None:
        return
    log.info("staff sign-in: %s from %s", user.get_username(), client_ip(request))
    record_success(username=user.get_username(), ip=client_ip(request))
