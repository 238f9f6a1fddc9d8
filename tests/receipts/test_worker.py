"""With a real Celery worker process: a task delivered twice sends one email."""

import pytest

from receipts import delivery, services, tasks
from receipts.models import ReceiptEmail
from tests.receipts.conftest import receipt_number

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_var_dir(tmp_path, monkeypatch, settings):
    """The worker process and this test share one var folder: stored PDFs and the mail
    the worker writes with the file backend (one file per message)."""
    var = tmp_path / "var"
    monkeypatch.setenv("PLEDGE_VAR_DIR", str(var))
    monkeypatch.setenv("MAIL_BACKEND", "file")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(var / "media")}},
    }  # fmt: skip
    return var


def test_the_same_email_task_delivered_twice_to_a_worker_sends_one_email(
    worker_var_dir, gift, monkeypatch, celery_worker
):
    monkeypatch.setattr(tasks.render_receipt, "delay", lambda *a, **k: None)
    monkeypatch.setattr(tasks.send_receipt_email, "delay", lambda *a, **k: None)
    receipt = services.issue_gift_receipt(donation_id=gift.pk)
    delivery.render_receipt(receipt_id=receipt.pk)
    monkeypatch.undo()
    email = ReceiptEmail.objects.get(receipt=receipt)

    tasks.send_receipt_email.delay(email.pk)
    tasks.send_receipt_email.delay(email.pk)  # the broker redelivers it

    celery_worker.wait_for(
        lambda: sum(" succeeded in " in line for line in celery_worker.output) >= 2
    )
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("sent", 1)
    messages = list((worker_var_dir / "mail").glob("*.log"))
    assert len(messages) == 1
    assert receipt_number(1) in messages[0].read_text()
