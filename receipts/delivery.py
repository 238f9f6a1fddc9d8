"""Rendering a receipt's PDF and emailing it: two steps, each with its own state.

Rendering is idempotent (the PDF comes from the frozen snapshot alone), so a repeat only
wastes time; the first finished render is kept. Emailing is not idempotent, so each
ReceiptEmail row is claimed with one conditional UPDATE before anything is sent: a task
delivered twice, or two workers racing, send it once. A claim left by a worker that died
mid-send is taken again after STALE_CLAIM (at worst the donor gets a duplicate then, never
nothing).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connections, router, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from config.emails import Attachment, build_email, send_built, send_email
from receipts import links
from receipts.models import Receipt, ReceiptEmail, ReceiptProblem

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
STALE_CLAIM = dt.timedelta(minutes=10)
# Kinds that deliver the receipt itself; their outcome is the receipt's delivery status.
PRIMARY_KINDS = (
    ReceiptEmail.Kind.ISSUED,
    ReceiptEmail.Kind.REPLACEMENT,
    ReceiptEmail.Kind.STATEMENT,
)


class TamperedSnapshot(Exception):
    """The stored snapshot no longer matches its hash; nothing is printed from it."""


def render_pdf(snapshot: dict, **options) -> bytes:
    # Imported on first use: WeasyPrint is heavy, and most processes never render.
    from receipts.pdf import render_pdf

    return render_pdf(snapshot, **options)


def pdf_bytes(receipt: Receipt, *, copy: bool = False) -> bytes:
    if not receipt.snapshot_is_intact():
        raise TamperedSnapshot(f"receipt {receipt.number}: snapshot does not match its sha256")
    return render_pdf(receipt.snapshot, void=not receipt.is_live, copy=copy)


def render_receipt(*, receipt_id: int) -> list[int]:
    """Render and store the PDF if it is missing; return the ids of emails now ready to send."""
    receipt, _ = _render(receipt_id)
    return list(
        receipt.emails.filter(status=ReceiptEmail.Status.PENDING).values_list("pk", flat=True)
    )


def render_and_send(*, receipt_id: int) -> list[int]:
    """Render as render_receipt does, then send the emails now ready, in this process.

    This saves, per receipt, a task run, a re-read of the PDF from storage and of each
    email row, and a statement (the pending emails are claimed with one UPDATE ...
    RETURNING instead of a SELECT then a claim). Each email keeps its own state: the
    claim is the same one the email task takes, and the send is the same code. Returns
    the ids of emails that failed, for their own task (and its retries) to take over.
    """
    receipt, content = _render(receipt_id)
    failed = []
    for email in _claim_pending(receipt):
        try:
            _send_claimed(email, content=content)
        except Exception:
            log.warning("receipt %s: email %s failed; its task retries", receipt.number, email.pk)
            failed.append(email.pk)
    return failed


def _render(receipt_id: int) -> tuple[Receipt, bytes | None]:
    """(the receipt with its supporter, the PDF's bytes if it was rendered here)."""
    receipt = Receipt.objects.select_related("supporter").get(pk=receipt_id)
    content = None
    if not receipt.pdf:
        if not receipt.snapshot_is_intact():
            raise TamperedSnapshot(f"receipt {receipt.number}: snapshot does not match its sha256")
        try:
            content = render_pdf(receipt.snapshot)
        except Exception as error:
            record_render_problem(receipt, error)
            raise
        if not store_pdf(receipt, content):
            receipt.refresh_from_db(fields=["pdf"])  # keep the name of the render that won
        resolve_render_problems([receipt])
    return receipt, content


def record_render_problem(receipt: Receipt, error: Exception) -> ReceiptProblem:
    """Note, for staff, that a receipt could not be rendered (one open row per receipt)."""
    log.exception("receipt %s could not be rendered", receipt.number)
    message = f"Receipt {receipt.number} could not be rendered: {type(error).__name__}: {error}"
    problem, created = ReceiptProblem.objects.get_or_create(
        kind=receipt.kind,
        supporter_id=receipt.supporter_id,
        donation_id=receipt.donation_id,
        tax_year=receipt.tax_year,
        code=ReceiptProblem.Code.RENDER_FAILED,
        resolved_at=None,
        defaults={"jurisdiction": receipt.jurisdiction, "message": message[:2000]},
    )
    if not created:
        ReceiptProblem.objects.filter(pk=problem.pk).update(
            attempts=F("attempts") + 1, last_seen_at=timezone.now(), message=message[:2000]
        )
    return problem


def resolve_render_problems(rendered: list[Receipt]) -> None:
    """A receipt that failed to render and now has its PDF: its problem is resolved. One
    cheap question per chunk when, as nearly always, no such problem is open."""
    open_problems = ReceiptProblem.objects.filter(
        code=ReceiptProblem.Code.RENDER_FAILED, resolved_at__isnull=True
    )
    if not rendered or not open_problems.exists():
        return
    match = Q()
    for receipt in rendered:
        match |= Q(
            kind=receipt.kind,
            supporter_id=receipt.supporter_id,
            tax_year=receipt.tax_year,
            donation_id=receipt.donation_id,
        )
    open_problems.filter(match).update(resolved_at=timezone.now())


def store_pdf(receipt: Receipt, content: bytes) -> bool:
    name = default_storage.save(
        f"receipts/{receipt.tax_year}/{receipt.pdf_filename()}", ContentFile(content)
    )
    # One UPDATE: every extra statement is an extra commit per receipt in the hot path.
    won = Receipt.objects.filter(pk=receipt.pk, pdf="").update(
        pdf=name,
        delivery_status=Case(
            When(delivery_status=Receipt.Delivery.PENDING, then=Value(Receipt.Delivery.RENDERED)),
            default=F("delivery_status"),
        ),
    )
    if won:
        receipt.pdf.name = name
    else:  # another render finished first; keep its file
        default_storage.delete(name)
    return bool(won)


def _claimable(now: dt.datetime) -> Q:
    return (
        Q(status=ReceiptEmail.Status.PENDING)
        | Q(status=ReceiptEmail.Status.FAILED, attempts__lt=MAX_ATTEMPTS)
        | Q(status=ReceiptEmail.Status.SENDING, claimed_at__lt=now - STALE_CLAIM)
    )


def claim_email(email_id: int) -> bool:
    now = timezone.now()
    return bool(
        ReceiptEmail.objects.filter(_claimable(now), pk=email_id).update(
            status=ReceiptEmail.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    )


def needs_render(email: ReceiptEmail) -> bool:
    return email.kind in PRIMARY_KINDS and not email.receipt.pdf


def _claim_pending(receipt: Receipt) -> list[ReceiptEmail]:
    """Claim every pending email of `receipt` in one statement; return the rows claimed.

    UPDATE ... RETURNING (PostgreSQL, SQLite >= 3.35) both claims and reads the rows, so
    of two workers racing, each row goes to one. The ORM's update() returns only a count.
    """
    connection = connections[router.db_for_write(ReceiptEmail)]
    table = connection.ops.quote_name(ReceiptEmail._meta.db_table)
    column = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {column('status')} = %s, {column('claimed_at')} = %s,"
            f" {column('attempts')} = {column('attempts')} + 1"
            f" WHERE {column('receipt_id')} = %s AND {column('status')} = %s"
            f" RETURNING {column('id')}, {column('kind')}, {column('to')}",
            [
                ReceiptEmail.Status.SENDING,
                connection.ops.adapt_datetimefield_value(timezone.now()),
                receipt.pk,
                ReceiptEmail.Status.PENDING,
            ],
        )
        rows = cursor.fetchall()
    return [
        ReceiptEmail(pk=pk, receipt=receipt, kind=kind, to=to, status=ReceiptEmail.Status.SENDING)
        for pk, kind, to in rows
    ]


def send_receipt_email(*, email_id: int) -> str:
    """Send one claimed email. Returns "sent", "skipped" (not claimable) or "needs_render"."""
    if not claim_email(email_id):
        return "skipped"
    email = ReceiptEmail.objects.select_related("receipt__supporter").get(pk=email_id)
    return _send_claimed(email)


def _send_claimed(email: ReceiptEmail, *, content: bytes | None = None) -> str:
    """Send an email this worker has claimed; `content` is the stored PDF's bytes when the
    caller has them at hand (saves reading the file back)."""
    email_id, receipt = email.pk, email.receipt
    if needs_render(email):
        # Rendering is its own step; hand the claim back and let the render enqueue us.
        ReceiptEmail.objects.filter(pk=email_id, status=ReceiptEmail.Status.SENDING).update(
            status=ReceiptEmail.Status.PENDING, attempts=F("attempts") - 1
        )
        return "needs_render"
    try:
        name, context, attachments = _message(email, receipt, content=content)
        send_email(name, to=[email.to], context=context, attachments=attachments)
    except Exception as error:
        ReceiptEmail.objects.filter(pk=email_id).update(
            status=ReceiptEmail.Status.FAILED, last_error=str(error)[:2000]
        )
        if email.kind in PRIMARY_KINDS:
            Receipt.objects.filter(pk=receipt.pk).update(
                delivery_status=Receipt.Delivery.FAILED,
                delivery_attempts=F("delivery_attempts") + 1,
                last_delivery_error=str(error)[:2000],
            )
        raise
    _mark_sent([email_id], [receipt.pk] if email.kind in PRIMARY_KINDS else [])
    return "sent"


def _mark_sent(email_ids: list[int], primary_receipt_ids: list[int]) -> None:
    now = timezone.now()
    with transaction.atomic():  # one commit for both tables
        ReceiptEmail.objects.filter(pk__in=email_ids).update(
            status=ReceiptEmail.Status.SENT, sent_at=now, last_error=""
        )
        if primary_receipt_ids:
            Receipt.objects.filter(pk__in=primary_receipt_ids).update(
                delivery_status=Receipt.Delivery.SENT,
                sent_at=now,
                delivery_attempts=F("delivery_attempts") + 1,
                last_delivery_error="",
            )


def render_and_send_many(*, receipt_ids: list[int]) -> int:
    """The year-end path: render a chunk of receipts and send their pending emails over
    one mail connection, with a handful of commits for the whole chunk instead of several
    per receipt. Same states and claims as the one-by-one steps, so the sweep and the
    single-email task can pick up anything this leaves behind. Returns emails sent."""
    receipts = {
        r.pk: r for r in Receipt.objects.filter(pk__in=receipt_ids).select_related("supporter")
    }
    contents: dict[int, bytes] = {}
    stored: list[tuple[int, str]] = []
    for receipt in receipts.values():
        if receipt.pdf:
            continue
        if not receipt.snapshot_is_intact():
            log.error(
                "receipt %s: snapshot does not match its sha256; not rendered", receipt.number
            )
            continue
        try:
            content = render_pdf(receipt.snapshot)
        except Exception as error:
            # One statement that cannot be drawn must not keep the rest of its chunk
            # unrendered: it is skipped, and staff see why among the receipt problems.
            record_render_problem(receipt, error)
            continue
        contents[receipt.pk] = content
        name = default_storage.save(
            f"receipts/{receipt.tax_year}/{receipt.pdf_filename()}", ContentFile(content)
        )
        stored.append((receipt.pk, name))
    try:
        with transaction.atomic():
            for receipt_id, name in stored:
                if Receipt.objects.filter(pk=receipt_id, pdf="").update(
                    pdf=name, delivery_status=Receipt.Delivery.RENDERED
                ):
                    receipts[receipt_id].pdf.name = name
                else:
                    default_storage.delete(name)
                    contents.pop(receipt_id)
    except Exception:
        # No row names these files now: remove them rather than leave orphans behind.
        for _receipt_id, name in stored:
            default_storage.delete(name)
        raise
    resolve_render_problems([receipts[pk] for pk in contents])
    claimed = _claim_many([pk for pk, r in receipts.items() if r.pdf])
    if not claimed:
        return 0
    built = []
    for email in claimed:
        receipt = receipts[email.receipt_id]
        email.receipt = receipt
        if (
            email.kind in PRIMARY_KINDS
            and receipt.pk in contents
            and email.kind != ReceiptEmail.Kind.COPY
        ):
            context = _context(receipt)
            context["copy"] = False
            attachment = Attachment(receipt.pdf_filename(), contents[receipt.pk], "application/pdf")
            name = "statement" if receipt.kind == Receipt.Kind.ANNUAL else "receipt"
        else:
            name, context, attachments = _message(email, receipt)
            attachment = attachments[0] if attachments else None
        built.append(
            build_email(
                name, to=[email.to], context=context, attachments=[attachment] if attachment else []
            )
        )
    try:
        send_built(built)
    except Exception as error:
        # The batch stopped part-way; we cannot tell which went out, so each is marked
        # failed and retried one by one (a donor may get a duplicate, never nothing).
        ReceiptEmail.objects.filter(pk__in=[e.pk for e in claimed]).update(
            status=ReceiptEmail.Status.FAILED, last_error=str(error)[:2000]
        )
        raise
    _mark_sent([e.pk for e in claimed], [e.receipt_id for e in claimed if e.kind in PRIMARY_KINDS])
    return len(claimed)


def _claim_many(receipt_ids: list[int]) -> list[ReceiptEmail]:
    """Claim every claimable email of these receipts; rows another worker holds are skipped."""
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            ReceiptEmail.objects.select_for_update(skip_locked=True)
            .filter(_claimable(now), receipt_id__in=receipt_ids)
            .order_by("pk")
        )
        ids = [row.pk for row in rows]
        claimed = ReceiptEmail.objects.filter(_claimable(now), pk__in=ids).update(
            status=ReceiptEmail.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
        if claimed != len(ids):  # only on a database without row locks (SQLite) racing
            raise transaction.TransactionManagementError("email claim raced; retry the chunk")
    return rows


def _context(receipt: Receipt) -> dict:
    return {
        "s": receipt.snapshot,
        "receipts_url": links.receipts_url(receipt.supporter),
        "link_days": links.max_age_seconds() // 86400,
    }


def _message(
    email: ReceiptEmail, receipt: Receipt, *, content: bytes | None = None
) -> tuple[str, dict, list[Attachment]]:
    """The template name, context and attachments; `content` is the stored PDF's bytes
    when the caller has them (a copy is always rendered afresh, marked as a copy)."""
    context = _context(receipt)
    if email.kind == ReceiptEmail.Kind.VOIDED:
        replacement = (
            getattr(receipt, "replaced_by", None)
            if receipt.status == Receipt.Status.REPLACED
            else None
        )
        context.update(
            reason=receipt.void_reason, replacement=replacement.number if replacement else None
        )
        return "receipt_void", context, []
    if email.kind == ReceiptEmail.Kind.COPY:
        content = pdf_bytes(receipt, copy=True)
    elif content is None:
        with receipt.pdf.open("rb") as stored:
            content = stored.read()
    attachment = Attachment(receipt.pdf_filename(), content, "application/pdf")
    name = "statement" if receipt.kind == Receipt.Kind.ANNUAL else "receipt"
    context["copy"] = email.kind == ReceiptEmail.Kind.COPY
    return name, context, [attachment]
