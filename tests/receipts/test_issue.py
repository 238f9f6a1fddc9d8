"""Issuing a gift's receipt: one transaction, one number, one frozen snapshot, one email."""

import pytest
from django.db import transaction

from donations.hooks import GiftEvent, GiftFact, announce
from donations.models import Donation
from receipts import services
from receipts.models import Receipt, ReceiptCounter, ReceiptEmail, ReceiptProblem
from tests.factories import RecurringDonationFactory
from tests.receipts.conftest import attached_pdf, make_gift, pdf_text, receipt_number

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_succeeded_gift_gets_a_numbered_receipt_emailed_with_its_pdf(gift, outbox):
    receipt = services.issue_gift_receipt(donation_id=gift.pk)

    receipt.refresh_from_db()
    assert receipt.number == receipt_number(1)
    assert (receipt.series, receipt.sequence, receipt.status) == ("US-2026", 1, "issued")
    assert receipt.amount_received == 2500 and receipt.deductible_amount == 2500
    assert receipt.snapshot_is_intact()
    assert receipt.pdf and receipt.delivery_status == Receipt.Delivery.SENT
    [message] = outbox
    assert message.to == ["donor@example.com"]
    assert receipt_number(1) in message.subject
    assert "https://give.example.org/receipts/mine/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "See all your receipts" in html
    assert receipt_number(1) in pdf_text(attached_pdf(message))


def test_the_announced_success_issues_the_receipt_through_the_hook(gift, outbox):
    with transaction.atomic():
        announce(
            GiftEvent(fact=GiftFact.SUCCEEDED, supporter_id=gift.supporter_id, donation_id=gift.pk)
        )

    assert Receipt.objects.get(donation=gift).number == receipt_number(1)
    assert len(outbox) == 1


def test_issuing_again_returns_the_same_receipt_and_sends_nothing_more(gift, outbox):
    first = services.issue_gift_receipt(donation_id=gift.pk)
    again = services.issue_gift_receipt(donation_id=gift.pk)

    assert again.pk == first.pk
    assert Receipt.objects.count() == 1
    assert ReceiptCounter.objects.get(series="US-2026").last_number == 1
    assert len(outbox) == 1


def test_a_recurring_payment_gets_its_own_receipt(donor, outbox):
    plan = RecurringDonationFactory(supporter=donor, amount=1500)
    first = make_gift(donor, 1500, recurring=plan, frequency=Donation.Frequency.MONTHLY)
    second = make_gift(donor, 1500, recurring=plan, frequency=Donation.Frequency.MONTHLY)

    numbers = [services.issue_gift_receipt(donation_id=d.pk).number for d in (first, second)]

    assert numbers == [receipt_number(1), receipt_number(2)]
    assert Receipt.objects.get(donation=second).snapshot["gift"]["frequency"] == "Monthly"


@pytest.mark.parametrize("status", ["pending", "failed", "disputed", "refunded", "canceled"])
def test_a_gift_that_has_not_succeeded_gets_no_receipt(donor, status):
    donation = make_gift(donor, status=status, amount_refunded=2500 if status == "refunded" else 0)

    assert services.issue_gift_receipt(donation_id=donation.pk) is None
    assert not Receipt.objects.exists()


def test_the_number_format_and_series_are_configurable(settings, gift):
    settings.RECEIPT_NUMBER_FORMAT = "PFP/{jurisdiction}/{year}/{sequence:05d}"

    assert services.issue_gift_receipt(donation_id=gift.pk).number == "PFP/US/2026/00001"


def test_each_year_has_its_own_series(donor):
    import datetime as dt

    old = make_gift(donor, succeeded_at=dt.datetime(2025, 12, 31, 12, tzinfo=dt.UTC))
    new = make_gift(donor)

    assert services.issue_gift_receipt(donation_id=old.pk).number == "2025-000001"
    assert services.issue_gift_receipt(donation_id=new.pk).number == receipt_number(1)


def test_the_year_is_the_organisations_not_utcs(donor):
    import datetime as dt

    # 03:00 UTC on 1 January is still 31 December in New York.
    donation = make_gift(donor, succeeded_at=dt.datetime(2026, 1, 1, 3, tzinfo=dt.UTC))

    receipt = services.issue_gift_receipt(donation_id=donation.pk)

    assert receipt.number == "2025-000001"
    assert receipt.snapshot["gift"]["received_on"] == "2025-12-31"


def test_the_snapshot_freezes_everything_printed(gift):
    receipt = services.issue_gift_receipt(donation_id=gift.pk)
    snapshot = receipt.snapshot

    assert snapshot["organisation"] == {
        "name": "Springfield Free Press",
        "address": "1 Press Row, Springfield, IL 62701",
        "tax_id": "12-3456789",
        "email": snapshot["organisation"]["email"],
    }
    assert snapshot["donor"]["name"] == "Dana Donor"
    assert snapshot["donor"]["address_lines"][0] == "12 Elm Street"
    assert snapshot["gift"] | {"frequency": None} == {
        "amount": 2500,
        "gross_amount": 2500,
        "refunded": 0,
        "currency": "usd",
        "received_on": "2026-03-12",
        "frequency": None,
        "benefit_value": 0,
        "benefit_description": "",
        "deductible_amount": 2500,
    }
    assert (
        "No goods or services were provided in return for this contribution."
        in snapshot["rules"]["statements"]
    )
    assert receipt.snapshot_sha256 == Receipt.hash_snapshot(snapshot)


def test_a_receipt_missing_a_required_field_is_not_issued_and_staff_see_why(donor, outbox):
    donor.first_name = donor.last_name = ""
    donor.save()
    donation = make_gift(donor)

    assert services.issue_gift_receipt(donation_id=donation.pk) is None
    assert services.issue_gift_receipt(donation_id=donation.pk) is None

    assert not Receipt.objects.exists()
    assert not ReceiptCounter.objects.filter(last_number__gt=0).exists()  # no number used up
    problem = ReceiptProblem.objects.get()
    assert problem.code == ReceiptProblem.Code.MISSING_FIELDS
    assert problem.missing_fields == ["donor name"]
    assert problem.attempts == 2 and problem.resolved_at is None
    assert outbox == []


def test_fixing_the_field_and_trying_again_issues_it_and_closes_the_problem(donor):
    donor.first_name = donor.last_name = ""
    donor.save()
    donation = make_gift(donor)
    services.issue_gift_receipt(donation_id=donation.pk)

    donor.first_name, donor.last_name = "Dana", "Donor"
    donor.save()
    receipt = services.issue_gift_receipt(donation_id=donation.pk)

    assert receipt.number == receipt_number(1)
    assert ReceiptProblem.objects.get().resolved_at is not None


def test_a_rolled_back_issue_leaves_no_receipt_no_number_and_no_email(gift, outbox):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.issue_gift_receipt(donation_id=gift.pk)
        raise RuntimeError("the worker died before commit")

    assert not Receipt.objects.exists()
    assert not ReceiptEmail.objects.exists()
    assert outbox == []
    assert services.issue_gift_receipt(donation_id=gift.pk).number == receipt_number(1)


def test_an_erased_donor_gets_no_email(gift, outbox):
    receipt = services.issue_gift_receipt(donation_id=gift.pk)
    gift.supporter.anonymise()

    services.resend_receipt(receipt_id=receipt.pk, actor=None)

    assert len(outbox) == 1  # only the original, sent before erasure
