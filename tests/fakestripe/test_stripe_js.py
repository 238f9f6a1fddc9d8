"""The Stripe.js stand-in in Chromium: a small page (on its own port, so CORS is real)
pays through the Payment Element stand-in, as the donation form does."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

pytestmark = pytest.mark.browser

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Give</title>
<script src="{emulator}/v3/"></script></head>
<body>
<form id="pay">
  <div id="payment-element"></div>
  <button type="submit">Give</button>
  <p id="error" role="alert"></p>
</form>
<script>
  const stripe = Stripe("pk_test_emulator");
  const elements = stripe.elements({{mode: "{mode}", amount: 2500, currency: "usd"}});
  const element = elements.create("payment");
  element.mount("#payment-element");
  const show = (message) => {{ document.getElementById("error").textContent = message; }};
  document.getElementById("pay").addEventListener("submit", async (event) => {{
    event.preventDefault();
    const {{error: submitError}} = await elements.submit();
    if (submitError) {{ show(submitError.message); return; }}
    const confirm = "{mode}" === "setup" ? stripe.confirmSetup : stripe.confirmPayment;
    const {{error}} = await confirm.call(stripe, {{
      elements, clientSecret: "{secret}", confirmParams: {{return_url: "{site}/thanks"}},
    }});
    if (error) show(error.message);
  }});
</script>
</body></html>
"""


class _Site(BaseHTTPRequestHandler):
    emulator_url = ""

    def do_GET(self):  # noqa: N802
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        site = f"http://127.0.0.1:{self.server.server_address[1]}"
        if parts.path == "/nosubmit":
            body = NO_SUBMIT_PAGE.format(
                emulator=self.emulator_url, secret=query["secret"], site=site
            )
        elif parts.path == "/handle":
            body = HANDLE_PAGE.format(emulator=self.emulator_url, secret=query["secret"])
        elif parts.path == "/give":
            body = PAGE.format(
                emulator=self.emulator_url,
                secret=query["secret"],
                site=site,
                mode=query.get("mode", "payment"),
            )
        else:
            body = "<h1>Thank you</h1>" + "".join(f'<p id="{k}">{v}</p>' for k, v in query.items())
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        """Quiet: the test reads the page, not an access log."""


@pytest.fixture
def site(server):
    handler = type("Site", (_Site,), {"emulator_url": server.url})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def intent(em):
    return em.stripe_client().v1.payment_intents.create(params={"amount": 2500, "currency": "usd"})


def fill_card(page, number, expiry="12 / 34", cvc="123"):
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry").fill(expiry)
    page.get_by_label("CVC").fill(cvc)
    page.get_by_role("button", name="Give").click()


def test_4242_pays_and_returns_with_stripes_query_parameters(page, site, em, intent):
    page.goto(f"{site}/give?secret={intent.client_secret}")
    fill_card(page, "4242 4242 4242 4242")
    page.wait_for_url(f"{site}/thanks?**")
    assert page.locator("#payment_intent").text_content() == intent.id
    assert page.locator("#payment_intent_client_secret").text_content() == intent.client_secret
    assert page.locator("#redirect_status").text_content() == "succeeded"
    assert em.retrieve(intent.id)["status"] == "succeeded"


def test_3155_passes_3d_secure(page, site, em, intent):
    page.goto(f"{site}/give?secret={intent.client_secret}")
    fill_card(page, "4000 0025 0000 3155")
    page.get_by_role("button", name="Complete authentication").click()
    page.wait_for_url(f"{site}/thanks?**")
    assert em.retrieve(intent.id)["status"] == "succeeded"


def test_3155_failing_3d_secure_shows_stripes_message(page, site, em, intent):
    page.goto(f"{site}/give?secret={intent.client_secret}")
    fill_card(page, "4000 0025 0000 3155")
    page.get_by_role("button", name="Fail authentication").click()
    alert = page.get_by_role("alert")
    alert.filter(has_text="unable to authenticate").wait_for()
    assert em.retrieve(intent.id)["status"] == "requires_payment_method"


def test_0002_shows_the_decline_without_leaving_the_page(page, site, em, intent):
    page.goto(f"{site}/give?secret={intent.client_secret}")
    fill_card(page, "4000 0000 0000 0002")
    page.get_by_role("alert").filter(has_text="Your card was declined.").wait_for()
    assert page.url.startswith(f"{site}/give")
    assert em.retrieve(intent.id)["last_payment_error"]["decline_code"] == "generic_decline"


def test_an_incomplete_card_is_a_validation_error(page, site, intent):
    page.goto(f"{site}/give?secret={intent.client_secret}")
    page.get_by_label("Card number").fill("4242")
    page.get_by_role("button", name="Give").click()
    page.get_by_role("alert").filter(has_text="Your card number is incomplete.").wait_for()


def test_confirm_setup_saves_the_card(page, site, em):
    client = em.stripe_client()
    customer = client.v1.customers.create()
    seti = client.v1.setup_intents.create(params={"customer": customer.id})
    page.goto(f"{site}/give?mode=setup&secret={seti.client_secret}")
    fill_card(page, "4242 4242 4242 4242")
    page.wait_for_url(f"{site}/thanks?**")
    assert page.locator("#setup_intent").text_content() == seti.id
    assert em.retrieve(seti.id)["status"] == "succeeded"


def test_an_invoice_confirmation_secret_works_too(page, site, em):
    client = em.stripe_client()
    customer = client.v1.customers.create()
    price = client.v1.prices.create(
        params={
            "currency": "usd",
            "unit_amount": 1000,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Monthly"},
        }
    )
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "payment_behavior": "default_incomplete",
            "expand": ["latest_invoice.confirmation_secret"],
        }
    )
    page.goto(f"{site}/give?secret={sub.latest_invoice.confirmation_secret.client_secret}")
    fill_card(page, "4242 4242 4242 4242")
    page.wait_for_url(f"{site}/thanks?**")
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


HANDLE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authenticate</title>
<script src="{emulator}/v3/"></script></head>
<body><button id="go" type="button">Authenticate</button><p id="result" role="status"></p>
<script>
  const stripe = Stripe("pk_test_emulator");
  document.getElementById("go").addEventListener("click", async () => {{
    const {{paymentIntent, error}} = await stripe.handleNextAction({{clientSecret: "{secret}"}});
    document.getElementById("result").textContent = error ? error.code : paymentIntent.status;
  }});
</script></body></html>
"""


def test_handle_next_action_authenticates_a_server_confirmed_intent(page, site, em):
    client = em.stripe_client()
    customer = client.v1.customers.create()
    pi = client.v1.payment_intents.create(
        params={"amount": 2500, "currency": "usd", "customer": customer.id}
    )
    em.confirm_with_card(pi.client_secret, "4000002760003184")
    page.goto(f"{site}/handle?secret={pi.client_secret}")
    page.get_by_role("button", name="Authenticate").click()
    page.get_by_role("button", name="Complete authentication").click()
    page.get_by_role("status").filter(has_text="succeeded").wait_for()
    assert em.retrieve(pi.id)["status"] == "succeeded"


NO_SUBMIT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Forgot submit</title>
<script src="{emulator}/v3/"></script></head>
<body><div id="payment-element"></div><button id="go" type="button">Give</button>
<p id="result" role="alert"></p>
<script>
  const stripe = Stripe("pk_test_emulator");
  const elements = stripe.elements({{mode: "payment", amount: 2500, currency: "usd"}});
  elements.create("payment").mount("#payment-element");
  document.getElementById("go").addEventListener("click", async () => {{
    const {{error}} = await stripe.confirmPayment({{
      elements, clientSecret: "{secret}", confirmParams: {{return_url: "{site}/thanks"}},
    }});
    document.getElementById("result").textContent = error.message;
  }});
</script></body></html>
"""


def test_confirming_without_elements_submit_is_refused_as_stripe_js_does(page, site, em, intent):
    page.goto(f"{site}/nosubmit?secret={intent.client_secret}")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name="Give").click()
    page.get_by_role("alert").filter(has_text="elements.submit() must be called").wait_for()
    assert em.retrieve(intent.id)["status"] == "requires_payment_method"
