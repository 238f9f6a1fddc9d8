"""Emailed sign-in links for donors: signed, an hour old at most, and single-use.

The signed value carries the supporter's last sign-in time, which moves on when the link
is used, so a used link (or any older one) no longer verifies, as Django's own password
reset tokens do with last_login. Nothing is stored per link.
"""

from django.conf import settings
from django.core import signing
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from members.models import Supporter

SALT = "members.signin"
SESSION_KEY = "supporter_id"


def _state(supporter: Supporter) -> str:
    return supporter.signed_in_at.isoformat() if supporter.signed_in_at else "never"


def signin_token(supporter: Supporter) -> str:
    value = f"{supporter.public_id}|{_state(supporter)}"
    return signing.TimestampSigner(salt=SALT).sign(value)


def signin_url(supporter: Supporter) -> str:
    return settings.SITE_URL + reverse("account:signin", args=[signin_token(supporter)])


class LinkRefused(Exception):
    """The link is expired, used, forged or names nobody; the message is for the donor."""


def supporter_for_signin(token: str) -> Supporter:
    try:
        value = signing.TimestampSigner(salt=SALT).unsign(
            token, max_age=settings.SIGNIN_LINK_MAX_AGE_SECONDS
        )
    except signing.SignatureExpired:
        raise LinkRefused("This sign-in link has expired. Ask for a new one below.") from None
    except signing.BadSignature:
        raise LinkRefused("This sign-in link is not valid. Ask for a new one below.") from None
    public_id, _, state = value.partition("|")
    supporter = Supporter.objects.filter(public_id=public_id, anonymised_at__isnull=True).first()
    if supporter is None or state != _state(supporter):
        raise LinkRefused("This sign-in link has already been used. Ask for a new one below.")
    return supporter


def sign_in(request: HttpRequest, supporter: Supporter) -> None:
    Supporter.objects.filter(pk=supporter.pk).update(signed_in_at=timezone.now())
    request.session.cycle_key()  # no session fixation across the sign-in
    request.session[SESSION_KEY] = supporter.pk


def signed_in_supporter(request: HttpRequest) -> Supporter | None:
    pk = request.session.get(SESSION_KEY)
    if pk is None:
        return None
    return Supporter.objects.filter(pk=pk, anonymised_at__isnull=True).first()


def sign_out(request: HttpRequest) -> None:
    request.session.flush()
