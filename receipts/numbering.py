"""Receipt numbers: one gapless series per jurisdiction, kind and year.

A number is taken inside the transaction that writes the receipt, with the series row
locked (an UPDATE ... RETURNING, which holds the row lock to the end of the transaction as
SELECT ... FOR UPDATE would), so concurrent issuers queue on the lock and a rolled-back
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
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("take_numbers() must run inside transaction.atomic()")
    last = _advance(connection, series, count)
    if last is None:
        # The series' first number. get_or_create runs in a savepoint, so two first
        # issuers racing to create the row both end up locking the same one.
        ReceiptCounter.objects.get_or_create(series=series)
        last = _advance(connection, series, count)
    return last - count + 1


def _advance(connection, series: str, count: int) -> int | None:
    """Add `count` to the series' counter and return the new last number, in one round trip.

    The UPDATE locks the row until the transaction ends, exactly as SELECT ... FOR UPDATE
    did (a concurrent issuer's UPDATE waits, then adds to the committed value), and a
    rollback undoes it, so numbers stay gapless; it just saves the separate SELECT.
    """
    table = connection.ops.quote_name(ReceiptCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_number = last_number + %s WHERE series = %s"
            " RETURNING last_number",
            [count, series],
        )
        row = cursor.fetchone()
    return row[0] if row else None
