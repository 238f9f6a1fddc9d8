"""The emailed link to a donor's receipts: signed, with an age limit, naming no email."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from members.models import Supporter

SALT = "receipts.donor-receipts"


def max_age_seconds() -> int:
    return settings.RECEIPT_LINK_MAX_AGE_DAYS * 24 * 3600


def receipts_token(supporter: Supporter) -> str:
    return signing.TimestampSigner(salt=SALT).sign(str(supporter.public_id))


def receipts_url(supporter: Supporter) -> str:
    return settings.SITE_URL + reverse("receipts:mine", args=[receipts_token(supporter)])


def supporter_for_token(token: str) -> Supporter:
    """The supporter a valid token names; raises signing.SignatureExpired, signing.BadSignature
    or Supporter.DoesNotExist."""
    public_id = signing.TimestampSigner(salt=SALT).unsign(token, max_age=max_age_seconds())
    return Supporter.objects.get(public_id=public_id, anonymised_at__isnull=True)
