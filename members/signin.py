"""Emailed sign-in links for donors: signed, an hour old at most, and single-use.

The signed value carries the supporter's last sign-in time, which moves on when the link
is used, so a used link (or any older one) no longer verifies, as Django's own password
reset tokens do with last_login. Nothing is stored per link.

Using a link is one compare-and-set UPDATE (`... WHERE signed_in_at = <the time in the
link>`): of two requests racing with the same link, the database lets exactly one change
the row, so a link cannot sign in twice however the requests interleave.

Asking for a link never sends mail inside the request (the page would take longer for an
address we know, telling a stranger who gives): the request only enqueues
members.tasks.send_signin_link. Requests for one address are coalesced: within
SIGNIN_COALESCE_SECONDS only the first sends an email, and a stranger asking for someone
else's address can neither flood their inbox nor lock them out. Limits are counted in the
cache under keyed hashes, never the address itself.
"""

import datetime as dt

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from members.models import Supporter

SALT = "members.signin"
SESSION_KEY = "supporter_id"
NEVER = "never"


def _state(supporter: Supporter) -> str:
    return supporter.signed_in_at.isoformat() if supporter.signed_in_at else NEVER


def signin_token(supporter: Supporter) -> str:
    value = f"{supporter.public_id}|{_state(supporter)}"
    return signing.TimestampSigner(salt=SALT).sign(value)


def signin_url(supporter: Supporter) -> str:
    return settings.SITE_URL + reverse("account:signin", args=[signin_token(supporter)])


class LinkRefused(Exception):
    """The link is expired, used, forged or names nobody; the message is for the donor."""


USED = "This sign-in link has already been used. Ask for a new one below."


def unsign_link(
    token: str, *, salt: str, max_age: int, expired: str, invalid: str
) -> tuple[str, str]:
    """A signed `id|state` link's two parts, or LinkRefused with the given message. The
    state is what makes a link single-use: the caller compares it with the row's now."""
    try:
        value = signing.TimestampSigner(salt=salt).unsign(token, max_age=max_age)
    except signing.SignatureExpired:
        raise LinkRefused(expired) from None
    except signing.BadSignature:
        raise LinkRefused(invalid) from None
    row_id, _, state = value.partition("|")
    return row_id, state


def _unsigned(token: str) -> tuple[str, str]:
    return unsign_link(
        token,
        salt=SALT,
        max_age=settings.SIGNIN_LINK_MAX_AGE_SECONDS,
        expired="This sign-in link has expired. Ask for a new one below.",
        invalid="This sign-in link is not valid. Ask for a new one below.",
    )


def supporter_for_signin(token: str) -> Supporter:
    """Who the link names, if it could still be used (for the page that asks to confirm)."""
    public_id, state = _unsigned(token)
    supporter = Supporter.objects.filter(public_id=public_id, anonymised_at__isnull=True).first()
    if supporter is None or state != _state(supporter):
        raise LinkRefused(USED)
    return supporter


def claim_link(token: str) -> Supporter:
    """Use the link: exactly one caller gets the supporter, every other gets LinkRefused."""
    public_id, state = _unsigned(token)
    unused = Supporter.objects.filter(public_id=public_id, anonymised_at__isnull=True)
    if state == NEVER:
        unused = unused.filter(signed_in_at__isnull=True)
    else:
        try:
            unused = unused.filter(signed_in_at=dt.datetime.fromisoformat(state))
        except ValueError:
            raise LinkRefused(USED) from None
    with transaction.atomic():
        if unused.update(signed_in_at=timezone.now()) != 1:
            raise LinkRefused(USED)
        supporter = Supporter.objects.get(public_id=public_id)
    # The donor has their link; a new request may send another at once.
    cache.delete(coalesce_key(supporter.email))
    return supporter


def sign_in(request: HttpRequest, supporter: Supporter) -> None:
    """Start the donor's session; the link was claimed by claim_link."""
    request.session.cycle_key()  # no session fixation across the sign-in
    request.session[SESSION_KEY] = supporter.pk


def signed_in_supporter(request: HttpRequest) -> Supporter | None:
    pk = request.session.get(SESSION_KEY)
    if pk is None:
        return None
    return Supporter.objects.filter(pk=pk, anonymised_at__isnull=True).first()


def sign_out(request: HttpRequest) -> None:
    request.session.flush()


# --- Asking for a link -------------------------------------------------------------------


def limit_key(kind: str, value: str) -> str:
    """A cache key that names an address or IP without holding it: a keyed hash, so the
    cache (Redis, shared) gives nobody a list of donors' addresses, nor one a dictionary
    of known addresses could reverse."""
    digest = salted_hmac(SALT, value.strip().lower(), algorithm="sha256").hexdigest()[:32]
    return f"signin:{kind}:{digest}"


def coalesce_key(email: str) -> str:
    return limit_key("sent", email)


def first_request_in_window(email: str) -> bool:
    """True for the first request for this address in SIGNIN_COALESCE_SECONDS (its email
    is sent); later ones are answered the same but send nothing. cache.add is atomic."""
    return cache.add(coalesce_key(email), 1, timeout=settings.SIGNIN_COALESCE_SECONDS)
