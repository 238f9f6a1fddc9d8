"""The HTTP server: Stripe.js stand-in, CORS, publishable-key calls, control endpoints."""

import json
import urllib.error
import urllib.parse
import urllib.request

import pytest
import stripe


def call(url, data=None, headers=None, method=None):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_stripe_js_is_served_at_v3(server):
    status, headers, body = call(server.url + "/v3/")
    assert status == 200
    assert headers["Content-Type"].startswith("application/javascript")
    assert b"confirmPayment" in body and b"window.Stripe" in body


def test_cors_preflight_and_headers(server):
    status, headers, _ = call(
        server.url + "/v1/payment_methods",
        method="OPTIONS",
        headers={"Origin": "http://127.0.0.1:9999"},
    )
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "Idempotency-Key" in headers["Access-Control-Allow-Headers"]


def test_the_publishable_key_confirms_with_the_client_secret(server):
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": server.url})
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    status, _, body = call(
        server.url + "/v1/payment_methods",
        {
            "key": "pk_test_x",
            "type": "card",
            "card[number]": "4242424242424242",
            "card[exp_month]": "12",
            "card[exp_year]": "2034",
            "card[cvc]": "123",
        },
    )
    assert status == 200
    pm = json.loads(body)
    status, _, body = call(
        server.url + f"/v1/payment_intents/{pi.id}/confirm",
        {"key": "pk_test_x", "payment_method": pm["id"], "client_secret": "wrong"},
    )
    assert status == 400 and json.loads(body)["error"]["param"] == "client_secret"
    status, _, body = call(
        server.url + f"/v1/payment_intents/{pi.id}/confirm",
        {"key": "pk_test_x", "payment_method": pm["id"], "client_secret": pi.client_secret},
    )
    assert status == 200 and json.loads(body)["status"] == "succeeded"


def test_the_publishable_key_cannot_list(server):
    status, _, body = call(server.url + "/v1/customers?key=pk_test_x")
    assert status == 401


def test_control_endpoints(server):
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": server.url})
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    status, _, body = call(
        server.url + "/_emulator/confirm_with_card",
        {"client_secret": pi.client_secret, "card_number": "4000002500003155"},
    )
    assert status == 200 and json.loads(body)["status"] == "requires_action"
    status, _, body = call(
        server.url + f"/_emulator/3ds/{pi.id}",
        {"client_secret": pi.client_secret, "succeed": "true"},
    )
    assert json.loads(body)["status"] == "succeeded"
    charge_id = json.loads(body)["latest_charge"]
    status, _, body = call(server.url + "/_emulator/disputes", {"charge": charge_id})
    dispute = json.loads(body)
    status, _, body = call(
        server.url + f"/_emulator/disputes/{dispute['id']}/close", {"status": "won"}
    )
    assert json.loads(body)["status"] == "won"
    before = server.emulator.now()
    status, _, body = call(server.url + "/_emulator/advance_clock", {"days": "2"})
    assert json.loads(body)["now"] >= before + 2 * 86400


def test_3ds_completion_needs_the_client_secret(server):
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": server.url})
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    server.emulator.confirm_with_card(pi.client_secret, "4000002500003155")
    status, _, _ = call(server.url + f"/_emulator/3ds/{pi.id}", {"client_secret": "nope"})
    assert status == 400


def test_an_unknown_control_action_is_404(server):
    status, _, _ = call(server.url + "/_emulator/nothing", {})
    assert status == 404


@pytest.mark.parametrize("path", ["/v1/customers", "/v1/nothing"])
def test_no_key_is_401(server, path):
    status, _, body = call(server.url + path)
    assert status == 401
    assert "You did not provide an API key" in json.loads(body)["error"]["message"]


def test_the_cli_parses_its_options(monkeypatch):
    from fakestripe import __main__ as cli

    started = {}

    class FakeServer:
        def __init__(self, emulator, host, port, verbose):
            started.update(emulator=emulator, host=host, port=port)
            self.url = f"http://{host}:{port}"

        def serve_forever(self):
            started["served"] = True

    monkeypatch.setattr(cli, "EmulatorServer", FakeServer)
    cli.main(
        ["--port", "0", "--webhook-url", "http://127.0.0.1:1/hook", "--webhook-secret", "whsec_x"]
    )
    assert started["served"] is True
    assert started["emulator"].webhook_secret == "whsec_x"
    assert started["emulator"].webhooks.endpoints == ["http://127.0.0.1:1/hook"]


def test_basic_auth_as_in_stripes_curl_examples(server):
    import base64

    token = base64.b64encode(b"sk_test_x:").decode()
    status, _, body = call(
        server.url + "/v1/customers",
        {"email": "a@example.com"},
        headers={"Authorization": f"Basic {token}"},
    )
    assert status == 200 and json.loads(body)["email"] == "a@example.com"
