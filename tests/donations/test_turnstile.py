"""The Cloudflare Turnstile adapter for the challenge hook, against a local siteverify
endpoint (only the HTTP call to Cloudflare is replaced)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from django.test import RequestFactory

from donations import ratelimit, turnstile
from tests.donations.test_form import valid_post

pytestmark = pytest.mark.django_db

GOOD_TOKEN = "XXXX.DUMMY.TOKEN.XXXX"


class Siteverify(BaseHTTPRequestHandler):
    """Cloudflare's siteverify, as documented: a form POST of secret, response, remoteip;
    a JSON answer with `success` and `error-codes`."""

    received: list[dict] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        type(self).received.append(form)
        good = form.get("secret") == "test-secret" and form.get("response") == GOOD_TOKEN
        body = json.dumps(
            {"success": good, "error-codes": [] if good else ["invalid-input-response"]}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def siteverify(settings):
    Siteverify.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Siteverify)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.DONATION_CHALLENGE_HOOK = turnstile.HOOK
    settings.TURNSTILE_SITE_KEY = "test-site-key"
    settings.TURNSTILE_SECRET_KEY = "test-secret"
    settings.TURNSTILE_VERIFY_URL = f"http://127.0.0.1:{server.server_port}/siteverify"
    yield Siteverify
    server.shutdown()
    server.server_close()


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
        "site_key": "test-site-key",
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
