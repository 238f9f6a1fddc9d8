"""Odd input on public doors gets a 4xx, never a 500 (each case once answered 500)."""

import time

import pytest

from members import signin
from receipts import links
from tests.donations import stripe_events as se

pytestmark = pytest.mark.django_db


def test_a_non_ascii_stripe_signature_is_refused_with_400(client):
    body = se.encode(se.event("payment_intent.succeeded", {"id": "pi_1", "object": "x"}))
    response = se.post(client, body, header=f"t={int(time.time())},v1=\u00e9\u00e9")
    assert response.status_code == 400


def test_a_nul_in_the_signed_in_donors_receipt_number_is_a_4xx(client, donor):
    session = client.session
    session[signin.SESSION_KEY] = donor.pk
    session.save()
    response = client.get("/account/receipts/2026-0%00001.pdf")
    assert 400 <= response.status_code < 500


def test_a_nul_in_the_emailed_receipts_link_number_is_a_4xx(client, donor):
    token = links.receipts_token(donor)
    response = client.get(f"/receipts/mine/{token}/2026-0%00001.pdf")
    assert 400 <= response.status_code < 500


def test_a_nul_in_a_query_string_is_a_4xx(client):
    assert 400 <= client.get("/donate/?amount=1%00").status_code < 500


def test_an_export_to_the_last_representable_day_is_a_form_error(client, finance_exporter):
    client.force_login(finance_exporter)
    response = client.post(
        "/receipts/exports/new",
        {"file_format": "csv", "date_from": "2026-01-01", "date_to": "9999-12-31"},
    )
    assert response.status_code in (200, 400)
    assert "before 3000" in response.content.decode()
