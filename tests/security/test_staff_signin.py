"""Staff sign-in: guessing is throttled with a lockout, and a second factor (TOTP) guards
the staff pages, required for the groups the settings name."""

import re

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client

from staffauth import totp
from staffauth.models import StaffTOTP

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def log_in(client: Client, username: str, password: str, ip: str = "203.0.113.5"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=ip,
    )


def is_signed_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


# --- Throttling ------------------------------------------------------------------------


def test_after_thirty_wrong_passwords_the_right_one_is_refused_too(client, admin_user):
    for _ in range(30):
        assert not is_signed_in(log_in(client, "admin", "wrong"))
    response = log_in(client, "admin", PASSWORD)
    assert not is_signed_in(response)
    assert "Too many failed sign-ins" in response.content.decode()


def test_the_lockout_ends_with_its_window(client, admin_user, settings):
    with time_machine.travel("2026-03-02 10:00Z", tick=False) as clock:
        for _ in range(settings.STAFF_LOGIN_FAILURES_PER_USER_AND_IP):
            log_in(client, "admin", "wrong")
        assert not is_signed_in(log_in(client, "admin", PASSWORD))
        clock.shift(settings.STAFF_LOGIN_LOCKOUT_SECONDS + 1)
        assert is_signed_in(log_in(client, "admin", PASSWORD))


def test_one_addresss_guesses_do_not_lock_the_owner_out_from_another(client, admin_user, settings):
    for _ in range(settings.STAFF_LOGIN_FAILURES_PER_USER_AND_IP):
        log_in(client, "admin", "wrong", ip="203.0.113.66")
    assert is_signed_in(log_in(Client(), "admin", PASSWORD, ip="198.51.100.1"))


def test_a_spray_from_many_addresses_still_stops_at_the_per_account_limit(
    client, admin_user, settings
):
    for n in range(settings.STAFF_LOGIN_FAILURES_PER_USER):
        log_in(client, "admin", "wrong", ip=f"203.0.113.{n}")
    assert not is_signed_in(log_in(Client(), "admin", PASSWORD, ip="198.51.100.1"))


def test_one_address_guessing_many_accounts_is_stopped(client, settings, admin_user):
    for n in range(settings.STAFF_LOGIN_FAILURES_PER_IP):
        log_in(client, f"user{n}", "wrong", ip="203.0.113.9")
    assert not is_signed_in(log_in(client, "admin", PASSWORD, ip="203.0.113.9"))


def test_the_lockout_is_logged_and_the_cache_names_no_account(client, admin_user, caplog):
    for _ in range(5):
        log_in(client, "admin", "wrong")
    assert any("staff sign-in locked" in r.getMessage() for r in caplog.records)
    keys = " ".join(str(key) for key in cache._cache)
    assert "admin" not in keys and "203.0.113.5" not in keys


# --- TOTP --------------------------------------------------------------------------------


def test_totp_matches_the_rfc_6238_test_vectors():
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32 of "12345678901234567890"
    # RFC 6238 appendix B gives 8 digits (94287082, 07081804, 89005924); we use the last 6.
    assert totp.code_at(secret, 59) == "287082"
    assert totp.code_at(secret, 1111111109) == "081804"
    assert totp.code_at(secret, 1234567890) == "005924"


def test_the_uri_names_the_account_and_the_issuer():
    uri = totp.provisioning_uri("ABCD", account="finance", issuer="Pledge Demo")
    assert uri.startswith("otpauth://totp/Pledge%20Demo%3Afinance?secret=ABCD&issuer=Pledge")


@pytest.fixture
def finance_must_use_2fa(settings):
    settings.STAFF_2FA_REQUIRED_GROUPS = ["Finance"]


def secret_on(page_html: str) -> str:
    return re.search(r"data-totp-secret>([A-Z2-7 ]+)<", page_html).group(1).replace(" ", "")


def test_finance_staff_set_up_an_authenticator_before_any_staff_page(
    client, finance_staff, finance_must_use_2fa
):
    with time_machine.travel("2026-03-02 10:00Z", tick=False):
        assert is_signed_in(log_in(client, "finance", PASSWORD))
        response = client.get("/admin/")
        assert response.status_code == 302 and response["Location"].startswith("/staff/2fa/setup/")
        assert client.get("/receipts/exports/new").status_code == 302
        page = client.get(response["Location"]).content.decode()
        secret = secret_on(page)
        assert "otpauth://totp/" in page
        assert b"field-error" in client.post("/staff/2fa/setup/", {"code": "000000"}).content
        done = client.post("/staff/2fa/setup/", {"code": totp.code_at(secret), "next": "/admin/"})
        assert done.status_code == 302 and done["Location"] == "/admin/"
        assert client.get("/admin/").status_code == 200
    assert StaffTOTP.objects.get(user=finance_staff).confirmed_at is not None


def test_a_confirmed_authenticator_is_asked_for_at_each_sign_in_and_a_code_works_once(
    finance_staff,
):
    device = StaffTOTP.objects.create(
        user=finance_staff, secret=totp.new_secret(), confirmed_at="2026-01-01T00:00Z"
    )
    with time_machine.travel("2026-03-02 10:00Z", tick=False):
        code = totp.code_at(device.secret)
        first = Client()
        log_in(first, "finance", PASSWORD)
        assert first.get("/admin/")["Location"].startswith("/staff/2fa/verify/")
        assert (
            first.post("/staff/2fa/verify/", {"code": code, "next": "/admin/"})["Location"]
            == "/admin/"
        )
        assert first.get("/admin/").status_code == 200
        # The same code, seen over a shoulder, in another browser: refused.
        second = Client()
        log_in(second, "finance", PASSWORD, ip="198.51.100.2")
        replay = second.post("/staff/2fa/verify/", {"code": code, "next": "/admin/"})
        assert replay.status_code == 200 and b"already used" in replay.content
        assert second.get("/admin/").status_code == 302


def test_wrong_codes_are_throttled(client, finance_staff):
    device = StaffTOTP.objects.create(
        user=finance_staff, secret=totp.new_secret(), confirmed_at="2026-01-01T00:00Z"
    )
    with time_machine.travel("2026-03-02 10:00Z", tick=False):
        log_in(client, "finance", PASSWORD)
        for _ in range(5):
            client.post("/staff/2fa/verify/", {"code": "000000"})
        response = client.post("/staff/2fa/verify/", {"code": totp.code_at(device.secret)})
    assert b"Too many failed" in response.content
    assert client.get("/admin/").status_code == 302


def test_staff_without_an_authenticator_outside_the_required_groups_go_straight_in(
    client, admin_user, finance_must_use_2fa
):
    log_in(client, "admin", PASSWORD)
    assert client.get("/admin/").status_code == 200
