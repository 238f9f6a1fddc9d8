"""Rendering and emailing are separate steps, each with its own state and retries."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection

from receipts import delivery, services, tasks
from receipts.delivery import TamperedSnapshot, pdf_bytes
from receipts.models import Receipt, ReceiptEmail
from receipts.pdf import RefusedURL, Renderer, StaticFilesOnly
from tests.receipts.conftest import attached_pdf, pdf_text, receipt_number

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def unsent(gift, monkeypatch):
    """An issued receipt whose render and email tasks have not run yet."""
    monkeypatch.setattr(tasks.render_receipt, "delay", lambda *a, **k: None)
    monkeypatch.setattr(tasks.send_receipt_email, "delay", lambda *a, **k: None)
    receipt = services.issue_gift_receipt(donation_id=gift.pk)
    monkeypatch.undo()
    return receipt


def test_the_same_email_task_delivered_twice_sends_one_email(unsent, outbox):
    tasks.render_receipt(unsent.pk)  # renders, then sends the pending email
    email = ReceiptEmail.objects.get()

    tasks.send_receipt_email(email.pk)
    tasks.send_receipt_email(email.pk)

    assert len(outbox) == 1
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("sent", 1)


def test_two_workers_racing_for_one_email_send_it_once(unsent, outbox, monkeypatch):
    services_render = delivery.render_receipt(receipt_id=unsent.pk)
    [email_id] = services_render
    results = []
    barrier = threading.Barrier(2)

    def worker():
        barrier.wait()
        try:
            results.append(delivery.send_receipt_email(email_id=email_id))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == ["sent", "skipped"]
    assert len(outbox) == 1


def test_an_email_waits_for_its_pdf(unsent, outbox):
    email = ReceiptEmail.objects.get()

    assert delivery.send_receipt_email(email_id=email.pk) == "needs_render"

    email.refresh_from_db()
    assert (email.status, email.attempts) == ("pending", 0)
    tasks.send_receipt_email(email.pk)  # asks for the render, which then sends
    assert len(outbox) == 1


def test_a_failed_send_is_recorded_and_retried(unsent, outbox, monkeypatch):
    delivery.render_receipt(receipt_id=unsent.pk)
    email = ReceiptEmail.objects.get()

    def smtp_down(*args, **kwargs):
        raise ConnectionRefusedError("SMTP server refused the connection")

    monkeypatch.setattr(delivery, "send_email", smtp_down)
    with pytest.raises(ConnectionRefusedError):
        delivery.send_receipt_email(email_id=email.pk)
    email.refresh_from_db()
    unsent.refresh_from_db()
    assert email.status == "failed" and "refused" in email.last_error
    assert unsent.delivery_status == Receipt.Delivery.FAILED

    monkeypatch.undo()
    assert delivery.send_receipt_email(email_id=email.pk) == "sent"
    unsent.refresh_from_db()
    assert unsent.delivery_status == Receipt.Delivery.SENT and len(outbox) == 1


def test_the_render_task_sends_the_email_itself_and_hands_a_failure_to_its_task(
    unsent, outbox, monkeypatch
):
    email = ReceiptEmail.objects.get()
    handed_over = []
    monkeypatch.setattr(tasks.send_receipt_email, "delay", handed_over.append)

    def smtp_down(*args, **kwargs):
        raise ConnectionRefusedError("SMTP server refused the connection")

    monkeypatch.setattr(delivery, "send_email", smtp_down)
    tasks.render_receipt(unsent.pk)  # the render is kept; the email's failure is its own

    email.refresh_from_db()
    unsent.refresh_from_db()
    assert unsent.pdf and handed_over == [email.pk]
    assert (email.status, email.attempts) == ("failed", 1)
    monkeypatch.undo()
    tasks.send_receipt_email(email.pk)  # what the handed-over task does
    email.refresh_from_db()
    assert (email.status, email.attempts, len(outbox)) == ("sent", 2, 1)
    assert attached_pdf(outbox[0])


def test_a_send_claimed_by_a_worker_that_died_is_taken_again_later(unsent, outbox):
    delivery.render_receipt(receipt_id=unsent.pk)
    email = ReceiptEmail.objects.get()
    assert delivery.claim_email(email.pk)  # ... and the worker is killed here

    assert delivery.send_receipt_email(email_id=email.pk) == "skipped"
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=11)):
        assert delivery.send_receipt_email(email_id=email.pk) == "sent"
    assert len(outbox) == 1


def test_emails_stop_after_the_last_attempt(unsent):
    delivery.render_receipt(receipt_id=unsent.pk)
    email = ReceiptEmail.objects.get()
    ReceiptEmail.objects.filter(pk=email.pk).update(status="failed", attempts=delivery.MAX_ATTEMPTS)

    assert delivery.send_receipt_email(email_id=email.pk) == "skipped"


def test_rendering_twice_keeps_the_first_pdf(unsent):
    delivery.render_receipt(receipt_id=unsent.pk)
    unsent.refresh_from_db()
    first = unsent.pdf.name

    delivery.render_receipt(receipt_id=unsent.pk)

    unsent.refresh_from_db()
    assert unsent.pdf.name == first
    assert unsent.delivery_status == Receipt.Delivery.RENDERED


def test_a_tampered_snapshot_is_never_printed(unsent):
    Receipt.objects.filter(pk=unsent.pk).update(snapshot={**unsent.snapshot, "number": "FORGED"})

    with pytest.raises(TamperedSnapshot):
        delivery.render_receipt(receipt_id=unsent.pk)
    with pytest.raises(TamperedSnapshot):
        pdf_bytes(Receipt.objects.get(pk=unsent.pk))


def test_a_resend_is_a_marked_copy_with_the_same_number(unsent, outbox, admin_user):
    tasks.render_receipt(unsent.pk)

    services.resend_receipt(receipt_id=unsent.pk, actor=admin_user)

    original, copy = outbox
    assert copy.subject == f"Copy of your receipt {receipt_number(1)}"
    text = pdf_text(attached_pdf(copy))
    assert "COPY" in text and receipt_number(1) in text
    assert Receipt.objects.count() == 1


def test_the_sweep_re_enqueues_lost_renders_and_emails(unsent, outbox):
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=6)):
        tasks.sweep()

    assert len(outbox) == 1
    assert ReceiptEmail.objects.get().status == "sent"


def test_the_renderer_fetches_only_project_static_files(tmp_path):
    fetcher = StaticFilesOnly()

    assert (
        fetcher.fetch((fetcher.root / "fonts" / "DejaVuSans.ttf").as_uri()).read()[:4]
        == b"\x00\x01\x00\x00"
    )
    for url in (
        "https://example.com/logo.png",
        "file:///etc/passwd",
        (fetcher.root / ".." / "manage.py").as_uri(),
    ):
        with pytest.raises(RefusedURL):
            fetcher.fetch(url)


def test_a_template_asking_for_a_remote_url_fails_loudly():
    html = '<html><body><img src="https://tracker.example.com/p.png"><p>x</p></body></html>'

    with pytest.raises(BaseException, match="tracker.example.com"):
        Renderer().render_html(html)
