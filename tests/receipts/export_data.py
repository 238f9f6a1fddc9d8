"""Rows for the finance export tests: gifts with their ledger and receipts."""

import csv
import datetime as dt
import io

from donations.models import Donation
from receipts.models import Receipt
from tests.factories import DonationFactory, LedgerEntryFactory, ReceiptFactory

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    """An instant given in UTC, e.g. at("2026-03-01 15:00")."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def gift_with_receipt(
    *, received: dt.datetime, amount: int = 2500, fee: int = 103, **receipt_fields
) -> Receipt:
    donation = DonationFactory(amount=amount, succeeded_at=received, stripe_charge_id=None)
    LedgerEntryFactory(donation=donation, gross=amount, fee=fee, net=amount - fee)
    return ReceiptFactory(donation=donation, received_at=received, **receipt_fields)


def refunded_in_part(receipt: Receipt, *, refund: int) -> Receipt:
    """Refund part of the gift: the receipt is void, a replacement names it."""
    donation = receipt.donation
    Donation.objects.filter(pk=donation.pk).update(
        amount_refunded=refund, status=Donation.Status.PARTIALLY_REFUNDED
    )
    LedgerEntryFactory(
        donation=donation, kind="refund", gross=-refund, fee=0, net=-refund, stripe_payout_id=""
    )
    Receipt.objects.filter(pk=receipt.pk).update(
        status=Receipt.Status.VOID, voided_at=receipt.received_at + dt.timedelta(days=3)
    )
    remaining = donation.amount - refund
    return ReceiptFactory(
        donation=donation, received_at=receipt.received_at, replaces=receipt,
        amount_received=remaining, deductible_amount=remaining,
    )  # fmt: skip


def read_csv(content: bytes) -> list[dict]:
    assert content.startswith("\ufeff".encode()), (
        "CSV starts with a UTF-8 byte-order mark for Excel"
    )
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def streamed(response) -> bytes:
    assert response.streaming
    return b"".join(response.streaming_content)
