"""Receipt numbers: one gapless series per jurisdiction, kind and year.

A number is taken inside the transaction that writes the receipt, with the series row
locked (SELECT ... FOR UPDATE), so concurrent issuers queue on the lock and a rolled-back
transaction gives its number back: no gaps, no repeats. Call these only inside
transaction.atomic().
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from receipts.models import Receipt, ReceiptCounter


def series_name(*, jurisdiction: str, year: int, kind: str = Receipt.Kind.GIFT) -> str:
    suffix = "-S" if kind == Receipt.Kind.ANNUAL else ""
    return f"{jurisdiction}-{year}{suffix}"


def format_number(
    *, sequence: int, year: int, jurisdiction: str, kind: str = Receipt.Kind.GIFT
) -> str:
    pattern = (
        settings.RECEIPT_STATEMENT_NUMBER_FORMAT
        if kind == Receipt.Kind.ANNUAL
        else settings.RECEIPT_NUMBER_FORMAT
    )
    return pattern.format(sequence=sequence, year=year, jurisdiction=jurisdiction)


def take_numbers(series: str, count: int = 1) -> int:
    """Reserve `count` consecutive numbers in `series`; return the first."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("take_numbers() must run inside transaction.atomic()")
    try:
        counter = ReceiptCounter.objects.select_for_update().get(series=series)
    except ReceiptCounter.DoesNotExist:
        # The series' first number. get_or_create runs in a savepoint, so two first
        # issuers racing to create the row both end up locking the same one.
        ReceiptCounter.objects.get_or_create(series=series)
        counter = ReceiptCounter.objects.select_for_update().get(series=series)
    first = counter.last_number + 1
    counter.last_number += count
    counter.save(update_fields=["last_number"])
    return first
