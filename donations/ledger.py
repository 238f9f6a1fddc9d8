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

from django.db.models import Sum
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
    *,
    balance_transaction: Mapping,
    kind: str,
    source_id: str,
    donation: Donation | None,
    payout_id: str = "",
) -> LedgerEntry:
    """Insert the row for one balance transaction unless it is already there.

    A row the payout wrote first (it lists every balance transaction it paid out, and
    may arrive before the charge's own event) gets its donation filled in here.
    """
    bt_id = str(balance_transaction["id"])
    entry = LedgerEntry(
        donation=donation,
        kind=kind,
        stripe_balance_transaction_id=bt_id,
        stripe_source_id=source_id,
        gross=int(balance_transaction.get("amount") or 0),
        fee=int(balance_transaction.get("fee") or 0),
        net=int(balance_transaction.get("net") or 0),
        currency=str(balance_transaction.get("currency") or "usd")[:3],
        stripe_payout_id=payout_id,
        occurred_at=_occurred_at(balance_transaction),
    )
    LedgerEntry.objects.bulk_create([entry], ignore_conflicts=True)
    if donation is not None:
        # Matched on the unique id; "donation is null" only guards the fill-in.
        LedgerEntry.objects.filter(
            stripe_balance_transaction_id=bt_id, donation__isnull=True
        ).update(donation=donation)
    return LedgerEntry.objects.get(stripe_balance_transaction_id=bt_id)


def record_charge(*, charge_id: str, donation: Donation | None) -> LedgerEntry:
    """The ledger row for a succeeded charge (fetched with its balance transaction)."""
    existing = LedgerEntry.objects.filter(
        kind=LedgerEntry.Kind.CHARGE, stripe_source_id=charge_id
    ).first()
    if existing is not None:
        if donation is not None and existing.donation_id is None:
            # Written first by its payout (see record_payout); link it now.
            LedgerEntry.objects.filter(pk=existing.pk, donation__isnull=True).update(
                donation=donation
            )
            existing.refresh_from_db()
        return existing
    charge = _plain(gateway.retrieve_charge(charge_id))
    return record(
        balance_transaction=_balance_transaction(charge.get("balance_transaction")),
        kind=LedgerEntry.Kind.CHARGE,
        source_id=charge_id,
        donation=donation,
    )


def record_refund(*, refund: Mapping, donation: Donation | None) -> LedgerEntry | None:
    """The ledger row for a refund; None while a refund has no money movement.

    A refund that failed after it was made (refund.failed) moved money twice: out when
    it was made, back in when it failed. Both rows are written, the reversing one from
    its `failure_balance_transaction`, so the ledger nets to what really happened."""
    refund_id = str(refund.get("id") or "")
    entry = None
    if refund.get("balance_transaction"):
        entry = record(
            balance_transaction=_balance_transaction(refund.get("balance_transaction")),
            kind=LedgerEntry.Kind.REFUND,
            source_id=refund_id,
            donation=donation,
        )
    if refund.get("status") == "failed" and refund.get("failure_balance_transaction"):
        entry = record(
            balance_transaction=_balance_transaction(refund.get("failure_balance_transaction")),
            kind=LedgerEntry.Kind.REFUND_FAILURE,
            source_id=refund_id,
            donation=donation,
        )
    return entry


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


# Balance transaction types that are money movements of gifts (charges, refunds, dispute
# withdrawals and reinstatements). A payout also pays out Stripe's own fees and other
# adjustments; those are kept too (as fee and adjustment rows, with no gift), so that a
# payout's rows add up to what the bank received. Only the payout's own transaction (the
# money leaving the balance) is not a row.
_KIND_BY_TYPE = {
    "charge": LedgerEntry.Kind.CHARGE,
    "payment": LedgerEntry.Kind.CHARGE,
    "refund": LedgerEntry.Kind.REFUND,
    "payment_refund": LedgerEntry.Kind.REFUND,
    "stripe_fee": LedgerEntry.Kind.FEE,
    "application_fee": LedgerEntry.Kind.FEE,
    "tax_fee": LedgerEntry.Kind.FEE,
    "refund_failure": LedgerEntry.Kind.REFUND_FAILURE,
    "payment_failure_refund": LedgerEntry.Kind.REFUND_FAILURE,
}
_PAYOUT_OWN_TYPES = {"payout", "payout_cancel", "payout_failure"}


def _kind(balance_transaction: Mapping) -> str | None:
    kind_type = str(balance_transaction.get("type"))
    if kind_type in _PAYOUT_OWN_TYPES:
        return None
    kind = _KIND_BY_TYPE.get(kind_type)
    if kind is not None:
        return kind
    category = str(balance_transaction.get("reporting_category") or "")
    if kind_type == "adjustment" and category.startswith("dispute"):
        amount = int(balance_transaction.get("amount") or 0)
        return LedgerEntry.Kind.DISPUTE if amount < 0 else LedgerEntry.Kind.DISPUTE_REVERSAL
    if category == "fee":
        return LedgerEntry.Kind.FEE
    return LedgerEntry.Kind.ADJUSTMENT


def record_payout(*, payout_id: str, balance_transactions: Iterable[Mapping]) -> int:
    """Stamp the payout on every ledger row it paid out, writing rows not seen yet.

    Call it only once the payout's list is complete (its reconciliation has completed).
    A payout can be reported before the events of the charges it pays (Stripe does not
    promise order), so a row missing here is written now, without its donation, and the
    charge's, refund's or dispute's own handler links the donation when it runs. The
    ledger therefore also holds movements of the account that are not gifts (donation
    left empty: fees, adjustments), which is what reconciling a payout against the bank
    needs.
    """
    ids = []
    for balance_transaction in balance_transactions:
        kind = _kind(balance_transaction)
        if kind is None or not balance_transaction.get("id"):
            continue
        ids.append(str(balance_transaction["id"]))
        source = balance_transaction.get("source")
        record(
            balance_transaction=balance_transaction,
            kind=kind,
            source_id=source if isinstance(source, str) else str((source or {}).get("id", "")),
            donation=None,
            payout_id=payout_id,
        )
    changed = 0
    for start in range(0, len(ids), 500):
        changed += (
            LedgerEntry.objects.filter(stripe_balance_transaction_id__in=ids[start : start + 500])
            .exclude(stripe_payout_id=payout_id)
            .update(stripe_payout_id=payout_id)
        )
    return changed


def payout_net(*, payout_id: str) -> int:
    """What the ledger says a payout paid: the sum of its rows' net amounts."""
    return (
        LedgerEntry.objects.filter(stripe_payout_id=payout_id).aggregate(total=Sum("net"))["total"]
        or 0
    )
