"""Refunds void or replace the receipt; disputes hold it until they close."""

import pytest
from django.db import transaction

from donations.hooks import GiftEvent, GiftFact, announce
from donations.models import AuditEntry, Donation
from receipts import services
from receipts.delivery import pdf_bytes
from receipts.models import Receipt
from tests.receipts.conftest import attached_pdf, pdf_text, receipt_number

pytestmark = pytest.mark.django_db(transaction=True)


def refund(donation: Donation, amount_refunded: int) -> None:
    """What the webhook handlers do: record the refund on the gift, then announce it."""
    fully = amount_refunded >= donation.amount
    donation.amount_refunded = amount_refunded
    donation.status = Donation.Status.REFUNDED if fully else Donation.Status.PARTIALLY_REFUNDED
    with transaction.atomic():
        donation.save()
        announce(
            GiftEvent(
                fact=GiftFact.REFUNDED,
                supporter_id=donation.supporter_id,
                donation_id=donation.pk,
                details={"amount_refunded": amount_refunded, "fully_refunded": fully},
            )
        )


def dispute(donation: Donation, fact: GiftFact, **details) -> None:
    with transaction.atomic():
        announce(
            GiftEvent(
                fact=fact,
                supporter_id=donation.supporter_id,
                donation_id=donation.pk,
                details=details,
            )
        )


def test_a_full_refund_voids_the_receipt_and_tells_the_donor(gift, outbox):
    receipt = services.issue_gift_receipt(donation_id=gift.pk)

    refund(gift, 2500)

    receipt.refresh_from_db()
    assert receipt.status == Receipt.Status.VOID
    assert receipt.void_reason == "gift refunded in full" and receipt.voided_at
    assert not Receipt.objects.filter(status__in=["issued", "held"]).exists()
    issued, void_notice = outbox
    assert void_notice.subject == f"Receipt {receipt_number(1)} is void"
    assert "gift refunded in full" in void_notice.body and not void_notice.attachments
    assert AuditEntry.objects.filter(action="receipt.void", object_id=receipt_number(1)).exists()


def test_a_partial_refund_replaces_the_receipt_naming_the_one_it_replaces(gift, outbox):
    original = services.issue_gift_receipt(donation_id=gift.pk)

    refund(gift, 1000)

    original.refresh_from_db()
    replacement = Receipt.objects.get(replaces=original)
    assert original.status == Receipt.Status.REPLACED and original.voided_at
    assert (replacement.number, replacement.status, replacement.amount_received) == (
        receipt_number(2),
        "issued",
        1500,
    )
    issued, replaced = outbox
    assert (
        replaced.subject
        == f"Your updated receipt {receipt_number(2)} (replaces {receipt_number(1)})"
    )
    text = pdf_text(attached_pdf(replaced))
    assert f"replaces receipt {receipt_number(1)}" in text
    assert "$15.00" in text and "Refunded" in text
    # The old number is kept, shown as void, never reused.
    assert "VOID" in pdf_text(pdf_bytes(original))


def test_a_second_partial_refund_replaces_the_replacement(gift):
    services.issue_gift_receipt(donation_id=gift.pk)
    refund(gift, 500)
    refund(gift, 1500)

    chain = list(
        Receipt.objects.order_by("sequence").values_list("number", "status", "amount_received")
    )
    assert chain == [
        (receipt_number(1), "replaced", 2500),
        (receipt_number(2), "replaced", 2000),
        (receipt_number(3), "issued", 1000),
    ]
    assert Receipt.objects.get(number=receipt_number(3)).replaces.number == receipt_number(2)


def test_a_repeated_refund_event_changes_nothing(gift, outbox):
    services.issue_gift_receipt(donation_id=gift.pk)
    refund(gift, 1000)
    refund(gift, 1000)
    services.apply_refund(donation_id=gift.pk)

    assert Receipt.objects.count() == 2
    assert len(outbox) == 2


def test_a_refund_before_the_receipt_is_issued_receipts_what_is_left(donor):
    from tests.receipts.conftest import make_gift

    donation = make_gift(
        donor, 5000, amount_refunded=2000, status=Donation.Status.PARTIALLY_REFUNDED
    )
    services.apply_refund(donation_id=donation.pk)  # nothing to void yet

    assert services.issue_gift_receipt(donation_id=donation.pk).amount_received == 3000


def test_a_dispute_holds_the_receipt_and_a_won_dispute_restores_it(gift, outbox):
    receipt = services.issue_gift_receipt(donation_id=gift.pk)

    dispute(gift, GiftFact.DISPUTE_OPENED)
    receipt.refresh_from_db()
    assert receipt.status == Receipt.Status.HELD

    dispute(gift, GiftFact.DISPUTE_CLOSED, outcome="won")
    receipt.refresh_from_db()
    assert receipt.status == Receipt.Status.ISSUED
    assert Receipt.objects.count() == 1 and len(outbox) == 1


def test_a_lost_dispute_voids_the_receipt(gift, outbox):
    receipt = services.issue_gift_receipt(donation_id=gift.pk)
    dispute(gift, GiftFact.DISPUTE_OPENED)

    dispute(gift, GiftFact.DISPUTE_CLOSED, outcome="lost")

    receipt.refresh_from_db()
    assert receipt.status == Receipt.Status.VOID
    assert receipt.void_reason.startswith("dispute lost")
    assert outbox[-1].subject == f"Receipt {receipt_number(1)} is void"


def test_a_gift_disputed_before_its_receipt_gets_one_only_when_the_dispute_is_won(gift, outbox):
    gift.status = Donation.Status.DISPUTED
    gift.save()
    assert services.issue_gift_receipt(donation_id=gift.pk) is None

    gift.status = Donation.Status.SUCCEEDED
    gift.save()
    dispute(gift, GiftFact.DISPUTE_CLOSED, outcome="won")

    assert Receipt.objects.get(donation=gift).status == Receipt.Status.ISSUED
    assert len(outbox) == 1


def test_an_unknown_dispute_outcome_leaves_the_receipt_held(gift):
    receipt = services.issue_gift_receipt(donation_id=gift.pk)
    dispute(gift, GiftFact.DISPUTE_OPENED)
    dispute(gift, GiftFact.DISPUTE_CLOSED, outcome="under_review")

    receipt.refresh_from_db()
    assert receipt.status == Receipt.Status.HELD


def test_a_void_receipt_cannot_be_brought_back(gift):
    from donations.models import TransitionNotAllowed

    receipt = services.issue_gift_receipt(donation_id=gift.pk)
    services.void_receipt(receipt_id=receipt.pk, reason="entered in error", actor=None)

    with pytest.raises(TransitionNotAllowed):
        services.void_receipt(receipt_id=receipt.pk, reason="again", actor=None)
    # And the issue task, run again, does not hand out a new receipt for the gift.
    assert services.issue_gift_receipt(donation_id=gift.pk) is None
    assert Receipt.objects.count() == 1
