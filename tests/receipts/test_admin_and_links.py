"""Staff find, view, resend and void receipts in the admin; donors open theirs by link."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from donations.models import AuditEntry
from receipts import links, services
from receipts.models import Receipt
from tests.factories import SupporterFactory
from tests.receipts.conftest import make_gift, pdf_text, receipt_number

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receipt(gift):
    return services.issue_gift_receipt(donation_id=gift.pk)


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize("query", ["its number", "donor@example.com", "Donor"])
def test_staff_find_a_receipt_by_number_or_donor(staff_client, receipt, query):
    other = SupporterFactory(email="someone@example.com", last_name="Else")
    services.issue_gift_receipt(donation_id=make_gift(other).pk)
    query = receipt.number if query == "its number" else query

    page = staff_client.get(reverse("admin:receipts_receipt_changelist"), {"q": query})

    assert page.status_code == 200
    assert receipt_number(1) in page.text and receipt_number(2) not in page.text


def test_staff_filter_receipts_by_status_and_date(staff_client, receipt):
    url = reverse("admin:receipts_receipt_changelist")

    assert receipt_number(1) in staff_client.get(url, {"status__exact": "issued"}).text
    assert receipt_number(1) not in staff_client.get(url, {"status__exact": "void"}).text
    assert (
        receipt_number(1)
        in staff_client.get(url, {"received_at__year": "2026", "received_at__month": "3"}).text
    )


def test_staff_view_the_pdf_and_it_is_logged(staff_client, receipt, admin_user):
    response = staff_client.get(reverse("admin:receipts_receipt_pdf", args=[receipt.pk]))

    assert response["Content-Type"] == "application/pdf"
    assert receipt_number(1) in pdf_text(response.content)
    assert AuditEntry.objects.filter(actor=admin_user, action="receipt.view_pdf").exists()


def test_staff_resend_a_copy_with_the_same_number(staff_client, receipt, outbox, admin_user):
    url = reverse("admin:receipts_receipt_resend", args=[receipt.pk])
    assert "Send the copy" in staff_client.get(url).text

    staff_client.post(url)

    assert [m.subject for m in outbox][-1] == f"Copy of your receipt {receipt_number(1)}"
    assert Receipt.objects.count() == 1
    assert AuditEntry.objects.filter(
        actor=admin_user, action="receipt.resend", object_id=receipt_number(1)
    ).exists()


def test_staff_void_with_a_reason(staff_client, receipt, outbox, admin_user):
    url = reverse("admin:receipts_receipt_void", args=[receipt.pk])

    blank = staff_client.post(url, {"reason": "   "})
    assert blank.status_code == 200 and "This field is required" in blank.text
    staff_client.post(url, {"reason": "gift entered twice"})

    receipt.refresh_from_db()
    assert receipt.status == "void" and receipt.void_reason == "gift entered twice"
    entry = AuditEntry.objects.get(action="receipt.void")
    assert (entry.actor, entry.before, entry.after) == (
        admin_user,
        {"status": "issued"},
        {"status": "void"},
    )
    assert outbox[-1].subject == f"Receipt {receipt_number(1)} is void"
    # The void receipt still opens, marked VOID, its number kept.
    pdf = staff_client.get(reverse("admin:receipts_receipt_pdf", args=[receipt.pk]))
    assert "VOID" in pdf_text(pdf.content)


def test_the_change_page_offers_the_actions(staff_client, receipt):
    page = staff_client.get(reverse("admin:receipts_receipt_change", args=[receipt.pk]))

    assert "View PDF" in page.text and "Resend a copy" in page.text and "Void" in page.text


def test_staff_without_permission_cannot_void(client, receipt, other_staff):
    client.force_login(other_staff)

    response = client.post(
        reverse("admin:receipts_receipt_void", args=[receipt.pk]), {"reason": "x"}
    )

    assert response.status_code == 403
    receipt.refresh_from_db()
    assert receipt.status == "issued"


def test_problems_are_listed_for_staff(staff_client, donor):
    donor.first_name = donor.last_name = ""
    donor.save()
    services.issue_gift_receipt(donation_id=make_gift(donor).pk)

    page = staff_client.get(reverse("admin:receipts_receiptproblem_changelist"))

    assert "Not issued: missing donor name." in page.text


def test_the_donor_opens_their_receipts_with_the_emailed_link(client, receipt, outbox):
    url = links.receipts_url(receipt.supporter).removeprefix("https://give.example.org")

    page = client.get(url)

    assert page.status_code == 200 and receipt_number(1) in page.text
    pdf = client.get(reverse("receipts:mine_pdf", args=[url.split("/")[-2], receipt_number(1)]))
    assert pdf["Content-Type"] == "application/pdf"


def test_the_link_expires(client, receipt, settings):
    url = links.receipts_url(receipt.supporter).removeprefix("https://give.example.org")

    with time_machine.travel(
        dt.datetime.now(dt.UTC) + dt.timedelta(days=settings.RECEIPT_LINK_MAX_AGE_DAYS + 1)
    ):
        page = client.get(url)

    assert page.status_code == 403 and "This link has expired" in page.text


def test_a_forged_link_is_refused(client, receipt):
    page = client.get(reverse("receipts:mine", args=[f"{receipt.supporter.public_id}:forged"]))

    assert page.status_code == 403 and "not valid" in page.text


def test_a_link_opens_only_its_own_donors_receipts(client, receipt):
    stranger = SupporterFactory()
    token = links.receipts_token(stranger)

    assert client.get(reverse("receipts:mine_pdf", args=[token, receipt.number])).status_code == 404


def test_the_receipt_page_shows_its_amounts_as_money(staff_client, receipt):
    page = staff_client.get(reverse("admin:receipts_receipt_change", args=[receipt.pk])).text
    row = page.split('field-amount_received_money">', 1)[1].split("</div>\n", 3)
    assert "$25.00" in "".join(row[:3])
    assert 'field-amount_received"' not in page  # the stored integer is not shown
