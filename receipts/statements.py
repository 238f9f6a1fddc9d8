"""Year-end statements: one per donor with gifts in the year, listing every gift.

Issued in batches: each batch is one transaction that locks the statement series once,
re-checks who already has a statement (so two runs, or a run and a retry, never issue
twice), takes a block of consecutive numbers and bulk-writes the statements. Rendering
and emailing follow as Celery tasks over chunks of statements, so one worker process
reuses its renderer (fonts, stylesheet) across many PDFs.

"In the year" means the gift was received between 1 January and 31 December in the
organisation's time zone (settings.TIME_ZONE), not UTC.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.db.models.functions import Coalesce
from django.utils import timezone

from donations.models import Donation
from members.models import Supporter, Tier
from receipts.benefits import benefit_for
from receipts.models import GiftAidDeclaration, Receipt, ReceiptCounter, ReceiptEmail
from receipts.money import format_money
from receipts.numbering import format_number, series_name, take_numbers
from receipts.rules import organisation, statement_wording
from receipts.services import LIVE, SNAPSHOT_VERSION, donor_block, record_problem, resolve_problems

BATCH_SIZE = 500
RENDER_CHUNK = 50
STATEMENT_GIFTS = (
    Donation.Status.SUCCEEDED,
    Donation.Status.PARTIALLY_REFUNDED,
    Donation.Status.REFUNDED,
)


@dataclass
class StatementRun:
    year: int
    issued: list[int] = field(default_factory=list)
    skipped_existing: int = 0
    skipped_nothing_given: int = 0
    problems: int = 0


def year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    return dt.datetime(year, 1, 1, tzinfo=tz), dt.datetime(year + 1, 1, 1, tzinfo=tz)


def gifts_in_year(year: int):
    start, end = year_bounds(year)
    return (
        Donation.objects.annotate(received=Coalesce("succeeded_at", "created_at"))
        .filter(status__in=STATEMENT_GIFTS, received__gte=start, received__lt=end)
        .order_by("received", "pk")
    )


def issue_annual_statements(*, year: int, enqueue: bool = True) -> StatementRun:
    """Issue every missing statement for `year`; a second run issues nothing new."""
    run = StatementRun(year=year)
    donors = list(gifts_in_year(year).values_list("supporter_id", flat=True).distinct().order_by())
    donors.sort()
    for start in range(0, len(donors), BATCH_SIZE):
        new_ids = _issue_batch(year=year, supporter_ids=donors[start : start + BATCH_SIZE], run=run)
        run.issued.extend(new_ids)
        if enqueue and new_ids:
            from receipts import tasks

            for chunk in range(0, len(new_ids), RENDER_CHUNK):
                tasks.render_and_send_statements.delay(new_ids[chunk : chunk + RENDER_CHUNK])
    return run


def _issue_batch(*, year: int, supporter_ids: list[int], run: StatementRun) -> list[int]:
    jurisdiction = settings.ORG_JURISDICTION
    series = series_name(jurisdiction=jurisdiction, year=year, kind=Receipt.Kind.ANNUAL)
    with transaction.atomic():
        # Lock the series first: a concurrent run waits here, then sees our statements.
        ReceiptCounter.objects.get_or_create(series=series)
        ReceiptCounter.objects.select_for_update().get(series=series)
        have = set(
            Receipt.objects.filter(
                kind=Receipt.Kind.ANNUAL,
                tax_year=year,
                status__in=LIVE,
                supporter_id__in=supporter_ids,
            ).values_list("supporter_id", flat=True)
        )
        run.skipped_existing += len(have)
        wanted = [pk for pk in supporter_ids if pk not in have]
        drafts = _drafts(year=year, supporter_ids=wanted, jurisdiction=jurisdiction, run=run)
        if not drafts:
            return []
        first = take_numbers(series, len(drafts))
        issued_at = timezone.now()
        receipts = []
        for offset, draft in enumerate(drafts):
            sequence = first + offset
            number = format_number(
                sequence=sequence, year=year, jurisdiction=jurisdiction, kind=Receipt.Kind.ANNUAL
            )
            snapshot = {
                **draft.snapshot,
                "number": number,
                "issued_on": timezone.localdate(issued_at).isoformat(),
            }
            snapshot["display"] = {
                **snapshot["display"],
                "issued_on": f"{timezone.localdate(issued_at):%-d %B %Y}",
            }
            receipts.append(
                Receipt(
                    number=number,
                    series=series,
                    sequence=sequence,
                    kind=Receipt.Kind.ANNUAL,
                    jurisdiction=jurisdiction,
                    supporter=draft.supporter,
                    tax_year=year,
                    currency=draft.currency,
                    amount_received=draft.total,
                    benefit_value=draft.benefits,
                    deductible_amount=max(draft.total - draft.benefits, 0),
                    received_at=draft.last_received,
                    issued_at=issued_at,
                    snapshot=snapshot,
                    snapshot_sha256=Receipt.hash_snapshot(snapshot),
                )
            )
        Receipt.objects.bulk_create(receipts)
        # bulk_create sets primary keys on PostgreSQL and SQLite (RETURNING); look them up
        # by number anyway so any backend works.
        ids = dict(
            Receipt.objects.filter(number__in=[r.number for r in receipts]).values_list(
                "number", "pk"
            )
        )
        through = Receipt.donations.through
        through.objects.bulk_create(
            [
                through(receipt_id=ids[receipt.number], donation_id=donation_id)
                for receipt, draft in zip(receipts, drafts, strict=True)
                for donation_id in draft.donation_ids
            ]
        )
        ReceiptEmail.objects.bulk_create(
            [
                ReceiptEmail(
                    receipt_id=ids[r.number], kind=ReceiptEmail.Kind.STATEMENT, to=d.supporter.email
                )
                for r, d in zip(receipts, drafts, strict=True)
                if d.supporter.email and not d.supporter.anonymised_at
            ]
        )
        resolve_problems(
            kind=Receipt.Kind.ANNUAL,
            tax_year=year,
            supporter_id__in=[d.supporter.pk for d in drafts],
        )
        return [ids[r.number] for r in receipts]


@dataclass
class _Draft:
    supporter: Supporter
    snapshot: dict
    currency: str
    total: int
    benefits: int
    last_received: dt.datetime
    donation_ids: list[int]


def _drafts(
    *, year: int, supporter_ids: list[int], jurisdiction: str, run: StatementRun
) -> list[_Draft]:
    if not supporter_ids:
        return []
    receipt_numbers = Prefetch(
        "receipts",
        queryset=Receipt.objects.filter(kind=Receipt.Kind.GIFT)
        .order_by("-issued_at")
        .only("number", "status", "donation_id", "benefit_value"),
        to_attr="gift_receipts",
    )
    gifts: dict[int, list[Donation]] = defaultdict(list)
    for gift in (
        gifts_in_year(year).filter(supporter_id__in=supporter_ids).prefetch_related(receipt_numbers)
    ):
        gifts[gift.supporter_id].append(gift)
    supporters = Supporter.objects.in_bulk(supporter_ids)
    tiers = list(Tier.objects.all())
    declarations: dict[int, list[GiftAidDeclaration]] = defaultdict(list)
    if jurisdiction == "UK":
        for declaration in GiftAidDeclaration.objects.filter(supporter_id__in=supporter_ids):
            declarations[declaration.supporter_id].append(declaration)
    drafts = []
    for supporter_id in supporter_ids:
        supporter = supporters[supporter_id]
        draft = _draft(
            supporter,
            gifts[supporter_id],
            tiers,
            declarations[supporter_id],
            jurisdiction,
            year,
        )
        if draft is None:
            run.skipped_nothing_given += 1
            continue
        missing = _missing(supporter, jurisdiction)
        if missing:
            from receipts.rules import Decision

            record_problem(
                decision=Decision(missing=missing),
                supporter_id=supporter_id,
                jurisdiction=jurisdiction,
                kind=Receipt.Kind.ANNUAL,
                tax_year=year,
            )
            run.problems += 1
            continue
        drafts.append(draft)
    return drafts


def _missing(supporter: Supporter, jurisdiction: str) -> list[str]:
    org = organisation()
    missing = [
        name
        for name, value in (
            ("organisation name", org["name"]),
            ("organisation tax id", org["tax_id"]),
        )
        if not value
    ]
    if not supporter.full_name:
        missing.append("donor name")
    if jurisdiction in ("CA", "UK") and not supporter.postal_address_lines:
        missing.append("donor address")
    return missing


def _draft(supporter, gifts, tiers, declarations, jurisdiction, year) -> _Draft | None:
    if not gifts:
        return None
    currency = gifts[0].currency
    money = lambda cents: format_money(cents, currency)  # noqa: E731
    lines, given, refunded, benefits = [], 0, 0, 0
    for gift in gifts:
        net = gift.amount - gift.amount_refunded
        live = [r for r in gift.gift_receipts if r.status in LIVE]
        # The gift's own receipt already says what the payment bought; only a gift
        # without one is worked out again (from the same figures).
        bought = live[0].benefit_value if live else benefit_for(gift, tiers=tiers).value
        benefit = min(bought, net) if net > 0 else 0
        number = (live or gift.gift_receipts or [None])[0]
        lines.append(
            {
                "date": timezone.localdate(gift.received).isoformat(),
                "frequency": gift.get_frequency_display(),
                "receipt": number.number if number else "",
                "given": money(gift.amount),
                "refunded": money(gift.amount_refunded),
                "net": money(net),
                "benefit": money(benefit),
                "gift_aid": any(d.covers(gift.received) for d in declarations),
            }
        )
        given += gift.amount
        refunded += gift.amount_refunded
        benefits += benefit
    total = given - refunded
    if total <= 0:
        return None
    snapshot = {
        "version": SNAPSHOT_VERSION,
        "kind": Receipt.Kind.ANNUAL,
        "jurisdiction": jurisdiction,
        "title": f"Annual giving statement {year}",
        "tax_year": year,
        "time_zone": settings.TIME_ZONE,
        "organisation": organisation(),
        "donor": donor_block(supporter),
        "lines": lines,
        "totals": {
            "given": given,
            "refunded": refunded,
            "total": total,
            "benefits": benefits,
            "currency": currency,
        },
        "display": {
            "given": money(given),
            "refunded": money(refunded),
            "total": money(total),
            "benefits": money(benefits),
        },
        "rules": {
            "statements": statement_wording(
                jurisdiction=jurisdiction,
                total=total,
                benefits=benefits,
                currency=currency,
                year=year,
            )
        },
    }
    return _Draft(
        supporter=supporter,
        snapshot=snapshot,
        currency=currency,
        total=total,
        benefits=benefits,
        last_received=gifts[-1].received,
        donation_ids=[g.pk for g in gifts],
    )
