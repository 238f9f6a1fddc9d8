"""Receipt tasks: thin wrappers that take ids and call a service.

Every task is safe to run twice (workers ack late, so a killed worker's task runs again):
issuing locks the gift and returns the receipt that exists; rendering keeps the first
PDF; emails are claimed row by row before sending.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from receipts import delivery, services, statements
from receipts.models import Receipt, ReceiptEmail

log = logging.getLogger(__name__)

# Database hiccups (a lock timeout, a dropped connection) are worth retrying; a bug is not.
RETRYABLE = (OperationalError,)


@shared_task(autoretry_for=RETRYABLE, retry_backoff=True, max_retries=8)
def issue_receipt(donation_id: int) -> None:
    services.issue_gift_receipt(donation_id=donation_id)


@shared_task(autoretry_for=RETRYABLE, retry_backoff=True, max_retries=8)
def apply_refund(donation_id: int) -> None:
    services.apply_refund(donation_id=donation_id)


@shared_task(autoretry_for=RETRYABLE, retry_backoff=True, max_retries=8)
def hold_receipt(donation_id: int) -> None:
    services.hold_for_dispute(donation_id=donation_id)


@shared_task(autoretry_for=RETRYABLE, retry_backoff=True, max_retries=8)
def close_dispute(donation_id: int, won: bool) -> None:
    services.close_dispute(donation_id=donation_id, won=won)


@shared_task(
    autoretry_for=(Exception,),
    dont_autoretry_for=(delivery.TamperedSnapshot,),
    retry_backoff=True,
    max_retries=5,
)
def render_receipt(receipt_id: int) -> None:
    # The ready emails are sent here rather than through one more task each: that saves
    # a task run and reading the PDF and the email row back. Each email keeps its own
    # claim and state; one that fails is handed to its own task (its retries unchanged,
    # and the sweep behind it).
    for email_id in delivery.render_and_send(receipt_id=receipt_id):
        send_receipt_email.delay(email_id)


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=delivery.MAX_ATTEMPTS)
def send_receipt_email(email_id: int) -> None:
    if delivery.send_receipt_email(email_id=email_id) == "needs_render":
        email = ReceiptEmail.objects.get(pk=email_id)
        render_receipt.delay(email.receipt_id)


@shared_task(autoretry_for=RETRYABLE, retry_backoff=True, max_retries=3)
def issue_statements(year: int) -> int:
    return len(statements.issue_annual_statements(year=year).issued)


@shared_task
def issue_last_years_statements() -> None:
    """Beat: on the configured day (default 15 January) issue last year's statements."""
    issue_statements.delay(timezone.localdate().year - 1)


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def render_and_send_statements(receipt_ids: list[int]) -> None:
    """Render and email a chunk of statements in one process, reusing its renderer.

    Rendered and sent as a chunk (one mail connection, a few commits); anything left
    pending or failed is picked up by the sweep, one by one.
    """
    delivery.render_and_send_many(receipt_ids=receipt_ids)


@shared_task
def sweep() -> None:
    """Re-enqueue renders and emails whose task was lost (broker down, worker killed)."""
    settled = timezone.now() - dt.timedelta(minutes=5)
    unrendered = Receipt.objects.filter(pdf="", status=Receipt.Status.ISSUED, issued_at__lt=settled)
    for receipt_id in unrendered.values_list("pk", flat=True)[:1000]:
        render_receipt.delay(receipt_id)
    due = ReceiptEmail.objects.filter(created_at__lt=settled).filter(
        status__in=[
            ReceiptEmail.Status.PENDING,
            ReceiptEmail.Status.FAILED,
            ReceiptEmail.Status.SENDING,
        ],
        attempts__lt=delivery.MAX_ATTEMPTS,
    )
    for email_id in due.values_list("pk", flat=True)[:1000]:
        send_receipt_email.delay(email_id)
