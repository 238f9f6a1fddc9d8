"""Receipt workflows: issue, void, replace, hold and release, resend.

Every function that changes a receipt first locks the gift's Donation row (SELECT ...
FOR UPDATE): two deliveries of the same task, or a refund racing the first issue, queue
behind each other and the second sees what the first did. The partial unique constraint
`one_live_receipt_per_donation` is the backstop. Locks are always taken donation first,
then the series counter, so issuers cannot deadlock.

Emails and renders are queued as rows in the same transaction (ReceiptEmail) and their
tasks are enqueued only after commit, so a rolled-back issue sends nothing.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from donations.models import AuditEntry, Donation, TransitionNotAllowed
from members.models import Supporter
from receipts.benefits import Benefit, benefit_for
from receipts.models import GiftAidDeclaration, Receipt, ReceiptEmail, ReceiptProblem
from receipts.money import format_money
from receipts.numbering import format_number, series_name, take_numbers
from receipts.rules import Decision, GiftFacts, organisation, rule_set

log = logging.getLogger(__name__)

SNAPSHOT_VERSION = 1
RECEIPTABLE = (Donation.Status.SUCCEEDED, Donation.Status.PARTIALLY_REFUNDED)
LIVE = (Receipt.Status.ISSUED, Receipt.Status.HELD)

# Which receipt status may follow which; void and replaced are final, and their numbers
# stay on record for ever.
TRANSITIONS: dict[str, set[str]] = {
    Receipt.Status.ISSUED: {Receipt.Status.HELD, Receipt.Status.VOID, Receipt.Status.REPLACED},
    Receipt.Status.HELD: {Receipt.Status.ISSUED, Receipt.Status.VOID, Receipt.Status.REPLACED},
    Receipt.Status.VOID: set(),
    Receipt.Status.REPLACED: set(),
}


# --- Gathering what is printed -----------------------------------------------------------


def received_at(donation: Donation) -> dt.datetime:
    return donation.succeeded_at or donation.created_at


def gift_aid_declaration_date(supporter_id: int, when: dt.datetime) -> dt.date | None:
    for declaration in GiftAidDeclaration.objects.filter(supporter_id=supporter_id):
        if declaration.covers(when):
            return timezone.localdate(declaration.made_at)
    return None


def donor_block(supporter: Supporter) -> dict:
    return {
        "name": supporter.full_name,
        "address_lines": supporter.postal_address_lines,
        "postal_code": supporter.postal_code,
    }


def gift_donor_block(donation: Donation) -> dict:
    """The donor as this gift's receipt prints them: the name and address typed with the
    gift (never a later edit of the profile by someone else), the profile for old gifts."""
    printed = donation.printed_donor()
    return {
        "name": printed.name,
        "address_lines": printed.address_lines,
        "postal_code": printed.postal_code,
    }


def gift_facts(
    donation: Donation, *, amount: int, jurisdiction: str, benefit: Benefit | None = None
) -> tuple[GiftFacts, Benefit]:
    supporter = donation.supporter
    benefit = benefit if benefit is not None else benefit_for(donation)
    when = received_at(donation)
    declared_on = gift_aid_declaration_date(supporter.pk, when) if jurisdiction == "UK" else None
    printed = donation.printed_donor()
    facts = GiftFacts(
        amount=amount,
        currency=donation.currency,
        received_on=timezone.localdate(when),
        donor_name=printed.name,
        donor_address_lines=printed.address_lines,
        donor_postal_code=printed.postal_code,
        benefit_value=benefit.value,
        benefit_description=benefit.description,
        gift_aid_declared_on=declared_on,
    )
    return facts, benefit


def gift_snapshot(
    *,
    donation: Donation,
    facts: GiftFacts,
    decision: Decision,
    number: str,
    jurisdiction: str,
    issued_at: dt.datetime,
    replaces: Receipt | None,
) -> dict:
    money = lambda cents: format_money(cents, facts.currency)  # noqa: E731
    deductible = decision.fields["deductible_amount"]
    return {
        "version": SNAPSHOT_VERSION,
        "kind": Receipt.Kind.GIFT,
        "jurisdiction": jurisdiction,
        "title": rule_set(jurisdiction).title,
        "number": number,
        "replaces": replaces.number if replaces else None,
        "issued_on": timezone.localdate(issued_at).isoformat(),
        "organisation": organisation(),
        "donor": gift_donor_block(donation),
        "gift": {
            "amount": facts.amount,
            "gross_amount": donation.amount,
            "refunded": donation.amount - facts.amount,
            "currency": facts.currency,
            "received_on": facts.received_on.isoformat(),
            "frequency": donation.get_frequency_display(),
            "benefit_value": facts.benefit_value,
            "benefit_description": facts.benefit_description,
            "deductible_amount": deductible,
        },
        "display": {
            "amount": money(facts.amount),
            "gross_amount": money(donation.amount),
            "refunded": money(donation.amount - facts.amount),
            "benefit_value": money(facts.benefit_value),
            "deductible_amount": money(deductible),
            "received_on": f"{facts.received_on:%-d %B %Y}",
            "issued_on": f"{timezone.localdate(issued_at):%-d %B %Y}",
        },
        "rules": decision.fields,
    }


# --- Problems staff must see -------------------------------------------------------------


def record_problem(
    *,
    decision: Decision,
    supporter_id: int,
    jurisdiction: str,
    kind: str = Receipt.Kind.GIFT,
    donation_id: int | None = None,
    tax_year: int | None = None,
) -> ReceiptProblem:
    if decision.receiptable:
        code = ReceiptProblem.Code.MISSING_FIELDS
        message = "Not issued: missing " + ", ".join(decision.missing) + "."
    else:
        code = ReceiptProblem.Code.NOT_RECEIPTABLE
        message = f"No receipt may be issued: {decision.refusal}."
    now = timezone.now()
    problem = ReceiptProblem.objects.filter(
        kind=kind,
        supporter_id=supporter_id,
        donation_id=donation_id,
        tax_year=tax_year,
        resolved_at__isnull=True,
    ).first()
    if problem is None:
        return ReceiptProblem.objects.create(
            kind=kind,
            supporter_id=supporter_id,
            donation_id=donation_id,
            tax_year=tax_year,
            jurisdiction=jurisdiction,
            code=code,
            missing_fields=decision.missing,
            message=message,
        )
    problem.code, problem.missing_fields, problem.message = code, decision.missing, message
    problem.attempts += 1
    problem.last_seen_at = now
    problem.save(update_fields=["code", "missing_fields", "message", "attempts", "last_seen_at"])
    return problem


def resolve_problems(**filters) -> None:
    ReceiptProblem.objects.filter(resolved_at__isnull=True, **filters).update(
        resolved_at=timezone.now()
    )


# --- State changes -----------------------------------------------------------------------


def _audit(*, receipt: Receipt, action: str, before: str, actor=None, reason: str = "") -> None:
    AuditEntry.objects.create(
        actor=actor,
        action=action,
        object_type="receipts.Receipt",
        object_id=receipt.number,
        before={"status": before},
        after={"status": receipt.status},
        reason=reason,
    )


def _move(receipt: Receipt, to: str, *, reason: str = "", actor=None, action: str) -> None:
    if to not in TRANSITIONS[receipt.status]:
        raise TransitionNotAllowed(
            f"receipt {receipt.number} cannot go from {receipt.status} to {to}"
        )
    before = receipt.status
    receipt.status = to
    fields = ["status"]
    if to in (Receipt.Status.VOID, Receipt.Status.REPLACED):
        receipt.voided_at = timezone.now()
        receipt.void_reason = reason
        fields += ["voided_at", "void_reason"]
    receipt.save(update_fields=fields)
    _audit(receipt=receipt, action=action, before=before, actor=actor, reason=reason)


def queue_email(receipt: Receipt, kind: str) -> ReceiptEmail | None:
    """Write the email row now; its task is enqueued once the transaction commits."""
    address = receipt.supporter.email
    if receipt.supporter.anonymised_at or not address:
        return None
    email = ReceiptEmail.objects.create(receipt=receipt, kind=kind, to=address)
    from receipts import tasks  # tasks import services; this breaks the cycle

    if kind == ReceiptEmail.Kind.VOIDED or receipt.pdf:
        transaction.on_commit(lambda: tasks.send_receipt_email.delay(email.pk))
    return email


def _queue_render(receipt: Receipt) -> None:
    from receipts import tasks

    transaction.on_commit(lambda: tasks.render_receipt.delay(receipt.pk))


def _issue(
    donation: Donation,
    *,
    amount: int,
    replaces: Receipt | None = None,
    status: str = Receipt.Status.ISSUED,
    email_kind: str = ReceiptEmail.Kind.ISSUED,
    problem_open: bool = True,
) -> Receipt | None:
    """Decide, number, snapshot and write one gift receipt (donation already locked).

    problem_open=False: the caller has checked, under the lock, that no problem is open
    for the gift, so there is none to resolve."""
    jurisdiction = settings.ORG_JURISDICTION
    facts, _ = gift_facts(donation, amount=amount, jurisdiction=jurisdiction)
    decision = rule_set(jurisdiction).decide(facts)
    if not decision.ok:
        record_problem(
            decision=decision,
            supporter_id=donation.supporter_id,
            jurisdiction=jurisdiction,
            donation_id=donation.pk,
        )
        log.warning(
            "receipt for donation %s not issued: %s",
            donation.pk,
            decision.refusal or decision.missing,
        )
        return None
    year = facts.received_on.year
    sequence = take_numbers(series_name(jurisdiction=jurisdiction, year=year))
    number = format_number(sequence=sequence, year=year, jurisdiction=jurisdiction)
    issued_at = timezone.now()
    snapshot = gift_snapshot(
        donation=donation,
        facts=facts,
        decision=decision,
        number=number,
        jurisdiction=jurisdiction,
        issued_at=issued_at,
        replaces=replaces,
    )
    receipt = Receipt.objects.create(
        number=number,
        series=series_name(jurisdiction=jurisdiction, year=year),
        sequence=sequence,
        kind=Receipt.Kind.GIFT,
        jurisdiction=jurisdiction,
        supporter=donation.supporter,
        donation=donation,
        tax_year=year,
        currency=donation.currency,
        amount_received=amount,
        benefit_value=facts.benefit_value,
        deductible_amount=decision.fields["deductible_amount"],
        received_at=received_at(donation),
        issued_at=issued_at,
        status=status,
        replaces=replaces,
        snapshot=snapshot,
        snapshot_sha256=Receipt.hash_snapshot(snapshot),
    )
    if problem_open:
        resolve_problems(donation=donation)
    _queue_render(receipt)
    if status == Receipt.Status.ISSUED:
        queue_email(receipt, email_kind)
    return receipt


def _locked_donation(donation_id: int) -> Donation:
    return Donation.objects.select_for_update().select_related("supporter").get(pk=donation_id)


def _live_receipt(donation: Donation) -> Receipt | None:
    return (
        Receipt.objects.select_related("supporter")
        .filter(donation=donation, kind=Receipt.Kind.GIFT, status__in=LIVE)
        .first()
    )


def issue_gift_receipt(*, donation_id: int) -> Receipt | None:
    """Issue the first receipt for a succeeded gift; a repeat returns what exists.

    A gift that already had a receipt (even one voided since) gets no new one here:
    replacements come only from refunds, disputes won, or staff.
    """
    with transaction.atomic():
        donation = _locked_donation(donation_id)
        # Asked only once the lock is held (a new statement sees what the issuer we
        # waited for committed; a subquery in the locking SELECT would not): did the gift
        # ever have a receipt, and is a problem open? One small query for the usual
        # first issue, instead of reading receipts and resolving problems that are not there.
        had_receipt, problem_open = (
            Donation.objects.filter(pk=donation.pk)
            .annotate(
                had_receipt=Exists(
                    Receipt.objects.filter(donation=OuterRef("pk"), kind=Receipt.Kind.GIFT)
                ),
                problem_open=Exists(
                    ReceiptProblem.objects.filter(donation=OuterRef("pk"), resolved_at__isnull=True)
                ),
            )
            .values_list("had_receipt", "problem_open")
            .get()
        )
        if had_receipt:
            # The live one if any; a gift whose receipt was voided gets no new one here.
            return _live_receipt(donation)
        if donation.status not in RECEIPTABLE or donation.net_amount <= 0:
            # Pending, failed or disputed: a later fact (succeeded, dispute won) issues it.
            return None
        return _issue(donation, amount=donation.net_amount, problem_open=problem_open)


def apply_refund(*, donation_id: int) -> Receipt | None:
    """Bring the gift's receipt in line with what the donor has left given.

    Reads the refunded total from the donation (not the event), so repeated or
    out-of-order refund events converge on the same receipts. Returns the live receipt.
    """
    with transaction.atomic():
        donation = _locked_donation(donation_id)
        live = _live_receipt(donation)
        if live is None:
            return _replace_refunded_receipt(donation)
        if live.amount_received == donation.net_amount:
            return live
        remaining = donation.net_amount
        if remaining <= 0:
            _move(live, Receipt.Status.VOID, reason=REFUNDED_IN_FULL, action="receipt.void")
            queue_email(live, ReceiptEmail.Kind.VOIDED)
            return None
        refunded = format_money(donation.amount_refunded, donation.currency)
        keep_status = live.status
        _move(
            live,
            Receipt.Status.REPLACED,
            reason=f"partial refund ({refunded} refunded in total)",
            action="receipt.replace",
        )
        replacement = _issue(
            donation,
            amount=remaining,
            replaces=live,
            status=keep_status,
            email_kind=ReceiptEmail.Kind.REPLACEMENT,
        )
        if replacement is None:
            # The rules refuse the remaining amount (for example a Canadian advantage now
            # over 80%): the old receipt is void with nothing in its place.
            live.status = Receipt.Status.VOID
            live.void_reason += "; the remaining amount may not be receipted"
            live.save(update_fields=["status", "void_reason"])
            queue_email(live, ReceiptEmail.Kind.VOIDED)
        return replacement


REFUNDED_IN_FULL = "gift refunded in full"


def _replace_refunded_receipt(donation: Donation) -> Receipt | None:
    """A receipt voided by a full refund is replaced when that refund failed (Stripe's
    refund.failed gives the money back to us): the gift is receiptable again. A receipt
    staff voided, or a gift that never had one, is left alone (donation already locked)."""
    if donation.status not in RECEIPTABLE or donation.net_amount <= 0:
        return None
    voided = (
        Receipt.objects.filter(
            donation=donation,
            kind=Receipt.Kind.GIFT,
            status=Receipt.Status.VOID,
            void_reason=REFUNDED_IN_FULL,
        )
        .order_by("-issued_at", "-pk")
        .first()
    )
    if voided is None or Receipt.objects.filter(replaces=voided).exists():
        return None
    return _issue(
        donation,
        amount=donation.net_amount,
        replaces=voided,
        email_kind=ReceiptEmail.Kind.REPLACEMENT,
    )


def hold_for_dispute(*, donation_id: int) -> Receipt | None:
    with transaction.atomic():
        donation = _locked_donation(donation_id)
        live = _live_receipt(donation)
        if live is not None and live.status == Receipt.Status.ISSUED:
            _move(live, Receipt.Status.HELD, reason="dispute opened", action="receipt.hold")
        return live


def close_dispute(*, donation_id: int, won: bool) -> Receipt | None:
    """Won: the held receipt stands again (or the first one is issued now). Lost: void."""
    with transaction.atomic():
        donation = _locked_donation(donation_id)
        live = _live_receipt(donation)
        if won:
            if live is None:
                if (
                    donation.receipts.filter(kind=Receipt.Kind.GIFT).exists()
                    or donation.net_amount <= 0
                ):
                    return None
                return _issue(donation, amount=donation.net_amount)
            if live.status == Receipt.Status.HELD:
                _move(live, Receipt.Status.ISSUED, reason="dispute won", action="receipt.release")
            if live.delivery_status != Receipt.Delivery.SENT and not live.emails.exists():
                queue_email(live, ReceiptEmail.Kind.ISSUED)
            return live
        if live is not None:
            _move(
                live,
                Receipt.Status.VOID,
                reason="dispute lost: the payment was returned",
                action="receipt.void",
            )
            queue_email(live, ReceiptEmail.Kind.VOIDED)
        return None


def void_receipt(*, receipt_id: int, reason: str, actor) -> Receipt:
    """Staff void a receipt, with a reason; the number stays on record, never reused."""
    reason = reason.strip()
    if not reason:
        raise ValueError("A reason is required to void a receipt.")
    with transaction.atomic():
        receipt = Receipt.objects.select_related("supporter").get(pk=receipt_id)
        if receipt.donation_id:
            _locked_donation(receipt.donation_id)
        receipt = Receipt.objects.select_for_update().select_related("supporter").get(pk=receipt_id)
        _move(receipt, Receipt.Status.VOID, reason=reason, actor=actor, action="receipt.void")
        queue_email(receipt, ReceiptEmail.Kind.VOIDED)
        return receipt


def resend_receipt(*, receipt_id: int, actor) -> ReceiptEmail | None:
    """A copy with the same number, to the donor's current address."""
    with transaction.atomic():
        receipt = Receipt.objects.select_for_update().select_related("supporter").get(pk=receipt_id)
        if receipt.status not in LIVE:
            raise TransitionNotAllowed(
                f"receipt {receipt.number} is {receipt.status}; only a live receipt is resent"
            )
        email = queue_email(receipt, ReceiptEmail.Kind.COPY)
        if email is not None and not receipt.pdf:
            _queue_render(receipt)
        AuditEntry.objects.create(
            actor=actor,
            action="receipt.resend",
            object_type="receipts.Receipt",
            object_id=receipt.number,
            before={"status": receipt.status},
            after={"status": receipt.status, "email_to": email.to if email else None},
        )
        return email
