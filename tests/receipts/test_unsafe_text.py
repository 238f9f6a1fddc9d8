"""A control character, a noncharacter or a lone surrogate in a name (an older row, or one
from Stripe) breaks no renderer or export; a chunk of statements skips a bad one."""

import io
import os

import openpyxl
import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from pypdf import PdfReader

from receipts import delivery, services, statements
from receipts.exports.formats import HEADER
from receipts.models import Receipt, ReceiptProblem
from tests.factories import SupporterFactory
from tests.receipts.conftest import make_gift
from tests.receipts.export_data import at, gift_with_receipt, streamed

pytestmark = pytest.mark.django_db(transaction=True)

# (A lone surrogate or NUL cannot be stored at all: the inbox replaces them on arrival.)
UNSAFE_NAME = ("Ada\x0bRe\x01ader", "Love\ufffelace\x7f")


def pypdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return " ".join(page.extract_text() for page in reader.pages)


@pytest.fixture
def unsafe_donor():
    # Written straight to the table, as an older row or Stripe's data could be.
    return SupporterFactory(
        email="strange@example.com", first_name=UNSAFE_NAME[0], last_name=UNSAFE_NAME[1]
    )


def stored_files() -> list[str]:
    root = default_storage.location
    return [os.path.join(d, f) for d, _, files in os.walk(root) for f in files]


def test_a_statement_for_a_name_with_control_characters_renders(unsafe_donor, outbox, settings):
    settings.RECEIPT_STATEMENT_RENDERER = "reportlab"
    make_gift(unsafe_donor, 2500)
    run = statements.issue_annual_statements(year=2026, enqueue=False)
    delivery.render_and_send_many(receipt_ids=run.issued)

    statement = Receipt.objects.get(kind="annual")
    assert statement.pdf
    with statement.pdf.open("rb") as stored:
        text = pypdf_text(stored.read())
    assert "AdaReader" in text.replace(" ", "")
    [message] = outbox
    assert "\x0b" not in message.body and "\x01" not in message.body
    assert "\x01" not in message.subject


def test_a_gift_receipt_and_its_email_for_such_a_name_render(unsafe_donor, outbox):
    gift = make_gift(unsafe_donor, 2500)
    receipt = services.issue_gift_receipt(donation_id=gift.pk)
    content = delivery.pdf_bytes(receipt)
    assert "Love" in pypdf_text(content)


@pytest.mark.parametrize("kind", ["gift", "annual"])
def test_the_admin_pdf_view_of_such_a_receipt_is_a_pdf(client, admin_user, unsafe_donor, kind):
    gift = make_gift(unsafe_donor, 2500)
    services.issue_gift_receipt(donation_id=gift.pk)
    statements.issue_annual_statements(year=2026, enqueue=False)
    receipt = Receipt.objects.get(kind=kind)
    client.force_login(admin_user)
    response = client.get(reverse("admin:receipts_receipt_pdf", args=[receipt.pk]))
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF-")


def test_the_xlsx_export_of_such_a_name_is_a_workbook(client, finance_exporter):
    receipt = gift_with_receipt(received=at("2026-03-01 15:00"))
    receipt.supporter.first_name, receipt.supporter.last_name = "Ada\x0bRe\x01ader", "Love\x1f"
    receipt.supporter.save()
    client.force_login(finance_exporter)
    response = client.post(
        "/receipts/exports/new",
        {"file_format": "xlsx", "date_from": "2026-01-01", "date_to": "2026-12-31"},
    )
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(streamed(response)))["Receipts"]
    assert sheet.cell(row=2, column=HEADER.index("donor_name") + 1).value == "AdaReader Love"


def test_a_chunk_skips_a_statement_that_cannot_render_and_leaves_no_orphans(
    donor, outbox, monkeypatch
):
    others = [SupporterFactory(email=f"reader{i}@example.com") for i in range(3)]
    for supporter in [donor, *others]:
        make_gift(supporter, 2500)
    run = statements.issue_annual_statements(year=2026, enqueue=False)
    bad = Receipt.objects.get(kind="annual", supporter=donor)
    real_render = delivery.render_pdf

    def render(snapshot, **options):
        if snapshot["number"] == bad.number:
            raise ValueError("the renderer choked")
        return real_render(snapshot, **options)

    monkeypatch.setattr(delivery, "render_pdf", render)
    delivery.render_and_send_many(receipt_ids=run.issued)

    rendered = Receipt.objects.filter(kind="annual").exclude(pdf="")
    assert rendered.count() == 3 and not rendered.filter(pk=bad.pk).exists()
    assert len(outbox) == 3
    problem = ReceiptProblem.objects.get(code="render_failed")
    assert (problem.supporter, problem.tax_year) == (donor, bad.tax_year)
    assert "the renderer choked" in problem.message
    # Every stored file belongs to a receipt.
    named = {os.path.join(default_storage.location, r.pdf.name) for r in rendered}
    assert set(stored_files()) == named

    # Once it renders (the renderer fixed), the problem is resolved.
    monkeypatch.setattr(delivery, "render_pdf", real_render)
    delivery.render_and_send_many(receipt_ids=[bad.pk])
    problem.refresh_from_db()
    assert problem.resolved_at is not None


def test_a_chunk_whose_bookkeeping_fails_leaves_no_orphan_files(donor, monkeypatch):
    make_gift(donor, 2500)
    run = statements.issue_annual_statements(year=2026, enqueue=False)

    real_filter = Receipt.objects.filter

    class Broken:
        def update(self, **changes):
            raise RuntimeError("the database went away")

    def filter_(*args, **kwargs):
        # Only the write that names the stored file fails.
        return Broken() if "pdf" in kwargs else real_filter(*args, **kwargs)

    monkeypatch.setattr(Receipt.objects, "filter", filter_)
    with pytest.raises(RuntimeError):
        delivery.render_and_send_many(receipt_ids=run.issued)
    assert stored_files() == []
