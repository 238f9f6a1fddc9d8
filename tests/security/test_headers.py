"""Every page carries the Content-Security-Policy and Permissions-Policy; the policy's only
third party is Stripe (here the settings' emulator), and the nonce is new each request."""

import json
import re

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/", "/donate/", "/account/sign-in/", "/admin/login/", "/healthz"]
)
def test_every_page_has_the_policy(client, path, settings):
    response = client.get(path)
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "object-src 'none'" in policy
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert f"connect-src 'self' {settings.STRIPE_API_BASE.rstrip('/')}" in policy
    assert response["Permissions-Policy"].startswith('payment=(self "http://127.0.0.1:12111")')


def test_a_page_using_the_nonce_gets_a_fresh_one_each_time(client):
    nonces = []
    for _ in range(2):
        response = client.get("/admin/login/")
        (nonce,) = set(re.findall(r"'nonce-([^']+)'", response["Content-Security-Policy"]))
        assert f'nonce="{nonce}"' in response.content.decode()
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


def test_a_csp_report_is_logged_and_a_bad_one_refused(client, caplog):
    report = {
        "csp-report": {
            "document-uri": "https://give.example.org/donate/",
            "blocked-uri": "inline",
            "violated-directive": "script-src-elem",
        }
    }
    response = client.post(
        "/csp-report/", json.dumps(report), content_type="application/csp-report"
    )
    assert response.status_code == 204 and "CSP blocked inline on https://give" in caplog.text
    assert client.post("/csp-report/", "x" * 20000, content_type="text/plain").status_code == 413
    assert client.post("/csp-report/", "[1]", content_type="text/plain").status_code == 400
