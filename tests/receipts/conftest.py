"""Fixtures for receipt tests: the organisation's settings per jurisdiction, gifts on a
fixed date, stored PDFs in a temporary folder, and PDF text extraction."""

import datetime as dt

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from donations.models import Donation
from receipts.models import Receipt
from receipts.numbering import format_number
from tests.factories import DonationFactory
from tests.receipts.pdf_reading import pdf_text

__all__ = ["pdf_text"]  # tests import it from here

RECEIVED = dt.datetime(2026, 3, 12, 15, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _receipt_settings(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    settings.ORG_JURISDICTION = "US"
    settings.ORG_NAME = "Springfield Free Press"
    settings.ORG_ADDRESS = "1 Press Row, Springfield, IL 62701"
    settings.ORG_TAX_ID = "12-3456789"
    settings.SITE_URL = "https://give.example.org"
    settings.TIME_ZONE = "America/New_York"


@pytest.fixture
def canada(settings):
    settings.ORG_JURISDICTION = "CA"
    settings.ORG_NAME = "Toronto Free Press"
    settings.ORG_ADDRESS = "10 King St W, Toronto ON M5H 1A1"
    settings.ORG_TAX_ID = "123456789RR0001"
    settings.RECEIPT_CA_PLACE_OF_ISSUE = "Toronto, Ontario"
    settings.RECEIPT_SIGNATORY = "Jane Treasurer"
    settings.TIME_ZONE = "America/Toronto"


@pytest.fixture
def united_kingdom(settings):
    settings.ORG_JURISDICTION = "UK"
    settings.ORG_NAME = "Leeds Free Press"
    settings.ORG_ADDRESS = "2 Briggate, Leeds LS1 6HD"
    settings.ORG_TAX_ID = "1234567"
    settings.TIME_ZONE = "Europe/London"


@pytest.fixture
def gift(donor):
    """A one-time $25 gift from the donor that succeeded on 12 March 2026."""
    return DonationFactory(supporter=donor, amount=2500, succeeded_at=RECEIVED, created_at=RECEIVED)


def make_gift(supporter, amount=2500, **fields) -> Donation:
    fields.setdefault("succeeded_at", RECEIVED)
    fields.setdefault("created_at", fields["succeeded_at"])
    return DonationFactory(supporter=supporter, amount=amount, **fields)


def receipt_number(
    sequence: int, *, received: dt.datetime = RECEIVED, kind: str = Receipt.Kind.GIFT
) -> str:
    """The number the project's numbering gives the `sequence`-th receipt of the year a gift
    was received in (the organisation's year, in its time zone), so no test types a year."""
    return format_number(
        sequence=sequence,
        year=timezone.localdate(received).year,
        jurisdiction=settings.ORG_JURISDICTION,
        kind=kind,
    )


def attached_pdf(message) -> bytes:
    [(name, content, mimetype)] = message.attachments
    assert mimetype == "application/pdf" and name.endswith(".pdf")
    return content


@pytest.fixture
def outbox():
    mail.outbox = []
    return mail.outbox
