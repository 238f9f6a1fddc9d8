"""The money ledger: one LedgerEntry per Stripe balance transaction.

Gross, fee and net come from Stripe's balance transaction, never from our arithmetic, so
the books match the payout. Each row is written with an insert that ignores a row
already there under the same unique balance transaction id, so a repeated event or a
retried task writes nothing twice and two workers cannot race into a duplicate.
"""

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from donations import gateway
from donations.models import Donation, LedgerEntry

log = logging.getLogger(__name__)


class BalanceTransactionMissing(Exception):
    """Stripe has not attached a balance transaction yet (asynchronous payment methods)."""


def _plain(obj: Any) -> dict:
    if isinstance(obj, Mapping):
        return dict(obj)
    return obj.to_dict() if obj is not None else {}


def _balance_transaction(value: Any) -> dict:
    """The balance transaction behind `value`: an expanded object or an id to fetch."""
    if isinstance(value, str) and value:
        return _plain(gateway.retrieve_balance_transaction(value))
    data = _plain(value) if value is not None else {}
    if not data.get("id"):
        raise BalanceTransactionMissing("no balance transaction yet")
    return data


def _occurred_at(transaction: Mapping) -> datetime:
    created = transaction.get("created")
    return datetime.fromtimestamp(created, tz=UTC) if isinstance(created, int) else timezone.now()


def record(
    *, balance_transaction: Mapping, kind: str, source_id: str, donation: Donation | None
) -> LedgerEntry:
    """Insert the row for one balance transaction unless it is already there."""
    entry = LedgerEntry(
        donation=donation,
        kind=kind,
        stripe_balance_transaction_id=str(balance_transaction["id"]),
        stripe_source_id=source_id,
        gross=int(balance_transaction.get("amount") or 0),
        fee=int(balance_transaction.get("fee") or 0),
        net=int(balance_transaction.get("net") or 0),
        currency=str(balance_transaction.get("currency") or "usd")[:3],
        occurred_at=_occurred_at(balance_transaction),
    )
    LedgerEntry.objects.bulk_create([entry], ignore_conflicts=True)
    return LedgerEntry.objects.get(
        stripe_balance_transaction_id=entry.stripe_balance_transaction_id
    )


def record_charge(*, charge_id: str, donation: Donation | None) -> LedgerEntry:
    """The ledger row for a succeeded charge (fetched with its balance transaction)."""
    existing = LedgerEntry.objects.filter(
        kind=LedgerEntry.Kind.CHARGE, stripe_source_id=charge_id
    ).first()
    if existing is not None:
        return existing
    charge = _plain(gateway.retrieve_charge(charge_id))
    return record(
        balance_transaction=_balance_transaction(charge.get("balance_transaction")),
        kind=LedgerEntry.Kind.CHARGE,
        source_id=charge_id,
        donation=donation,
    )


def record_refund(*, refund: Mapping, donation: Donation | None) -> LedgerEntry | None:
    """The ledger row for a refund; None while a refund has no money movement (failed)."""
    if refund.get("status") in {"failed", "canceled"} or not refund.get("balance_transaction"):
        return None
    return record(
        balance_transaction=_balance_transaction(refund.get("balance_transaction")),
        kind=LedgerEntry.Kind.REFUND,
        source_id=str(refund.get("id") or ""),
        donation=donation,
    )


def record_dispute_transaction(
    *, balance_transaction: Mapping | str, dispute_id: str, donation: Donation | None
) -> LedgerEntry:
    """A dispute's withdrawal (negative) or, when won, its reinstatement (positive)."""
    data = _balance_transaction(balance_transaction)
    kind = (
        LedgerEntry.Kind.DISPUTE
        if int(data.get("amount") or 0) < 0
        else LedgerEntry.Kind.DISPUTE_REVERSAL
    )
    return record(balance_transaction=data, kind=kind, source_id=dispute_id, donation=donation)


def mark_paid_out(*, payout_id: str, balance_transaction_ids: Iterable[str]) -> int:
    """Stamp the payout id on the ledger rows it paid out; returns how many rows changed."""
    ids = [bt_id for bt_id in balance_transaction_ids if bt_id]
    changed = 0
    for start in range(0, len(ids), 500):
        changed += (
            LedgerEntry.objects.filter(stripe_balance_transaction_id__in=ids[start : start + 500])
            .exclude(stripe_payout_id=payout_id)
            .update(stripe_payout_id=payout_id)
        )
    return changed
