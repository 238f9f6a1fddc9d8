"""A local stand-in for Cloudflare Turnstile: its siteverify endpoint (as documented: a
form POST of secret, response and remoteip, answered with JSON `success` and
`error-codes`) and, for the browser, a widget script that puts a token in the form."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

SECRET = "test-secret"
SITE_KEY = "test-site-key"
GOOD_TOKEN = "XXXX.DUMMY.TOKEN.XXXX"

WIDGET_SCRIPT = """
window.turnstile = {
  render: function (box, options) {
    var token = document.createElement("input");
    token.type = "hidden";
    token.name = "cf-turnstile-response";
    token.value = "GOOD_TOKEN";
    box.appendChild(token);
    var note = document.createElement("p");
    note.textContent = "Verified by the test widget for " + options.sitekey;
    box.appendChild(note);
    return "widget-1";
  },
  reset: function () {},
};
""".replace("GOOD_TOKEN", GOOD_TOKEN)


class TurnstileHandler(BaseHTTPRequestHandler):
    received: list[dict]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        self.server.received.append(form)  # type: ignore[attr-defined]
        good = form.get("secret") == SECRET and form.get("response") == GOOD_TOKEN
        answer = {"success": good, "error-codes": [] if good else ["invalid-input-response"]}
        self._send(json.dumps(answer).encode(), "application/json")

    def do_GET(self) -> None:
        self._send(WIDGET_SCRIPT.encode(), "text/javascript")

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        """Quiet: the tests read what it received from `server.received` instead."""


@contextmanager
def running(settings) -> Iterator[ThreadingHTTPServer]:
    """The stand-in on a free port, with the settings pointing at it; `.received` lists
    the verification requests it answered."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), TurnstileHandler)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    settings.DONATION_CHALLENGE_HOOK = "donations.turnstile.passes"
    settings.TURNSTILE_SITE_KEY = SITE_KEY
    settings.TURNSTILE_SECRET_KEY = SECRET
    settings.TURNSTILE_VERIFY_URL = base + "/siteverify"
    settings.TURNSTILE_SCRIPT_URL = base + "/api.js"
    # The page may load the widget's script and frame from there (and from Stripe).
    from config.csp import policies_for

    settings.SECURE_CSP, settings.PERMISSIONS_POLICY = policies_for(settings)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
