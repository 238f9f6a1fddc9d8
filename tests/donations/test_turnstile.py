"""The Cloudflare Turnstile adapter for the challenge hook, against a local siteverify
endpoint (only the HTTP call to Cloudflare is replaced)."""

import pytest
from django.test import RequestFactory

from donations import ratelimit, turnstile
from tests.donations.test_form import valid_post
from tests.donations.turnstile_server import GOOD_TOKEN, SITE_KEY, running

pytestmark = pytest.mark.django_db


@pytest.fixture
def siteverify(settings):
    with running(settings) as server:
        yield server


def form_request(**fields):
    return RequestFactory().post("/donate/", fields, REMOTE_ADDR="192.0.2.10")


def test_a_token_cloudflare_vouches_for_passes(siteverify):
    assert turnstile.passes(form_request(**{"cf-turnstile-response": GOOD_TOKEN}))
    [sent] = siteverify.received
    assert sent == {"secret": "test-secret", "response": GOOD_TOKEN, "remoteip": "192.0.2.10"}


def test_a_token_cloudflare_refuses_fails(siteverify):
    assert not turnstile.passes(form_request(**{"cf-turnstile-response": "forged"}))


def test_no_token_fails_without_asking_cloudflare(siteverify):
    assert not turnstile.passes(form_request())
    assert siteverify.received == []


def test_cloudflare_unreachable_fails_closed(settings):
    settings.TURNSTILE_SECRET_KEY = "test-secret"
    settings.TURNSTILE_VERIFY_URL = "http://127.0.0.1:9/siteverify"  # nothing listens
    assert not turnstile.passes(form_request(**{"cf-turnstile-response": GOOD_TOKEN}))


def test_the_form_asks_for_the_widget_and_lets_a_verified_donor_through(
    siteverify, client, stripe_emulator, settings
):
    settings.DONATION_CHALLENGE_AFTER = 0  # every start is challenged
    asked = client.post(
        "/donate/", valid_post(), HTTP_ACCEPT="application/json", REMOTE_ADDR="192.0.2.10"
    )
    assert asked.status_code == 403
    assert asked.json()["challenge_widget"] == {
        "provider": "turnstile",
        "site_key": SITE_KEY,
        "script": settings.TURNSTILE_SCRIPT_URL,
        "field": "cf-turnstile-response",
    }
    answered = client.post(
        "/donate/",
        valid_post(**{"cf-turnstile-response": GOOD_TOKEN}),
        HTTP_ACCEPT="application/json",
        REMOTE_ADDR="192.0.2.10",
    )
    assert answered.status_code == 200 and answered.json()["client_secret"]


def test_the_page_has_a_place_for_the_widget_inside_the_form(client):
    html = client.get("/donate/").content.decode()
    form = html[html.index("<form") : html.index("</form>")]
    assert 'id="challenge"' in form


def test_the_hook_setting_names_the_adapter(siteverify):
    assert ratelimit.passes_challenge(form_request(**{"cf-turnstile-response": GOOD_TOKEN}))


def test_the_deploy_check_warns_when_no_challenge_is_configured(settings):
    from django.core import checks

    settings.DONATION_CHALLENGE_HOOK = ""
    ids = [m.id for m in checks.run_checks(include_deployment_checks=True)]
    assert "donations.W001" in ids
    settings.DONATION_CHALLENGE_HOOK = turnstile.HOOK
    ids = [m.id for m in checks.run_checks(include_deployment_checks=True)]
    assert "donations.W001" not in ids
