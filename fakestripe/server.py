"""The emulator over HTTP: Stripe's REST API, control endpoints and the Stripe.js stand-in.

- `/v1/...`: the Stripe API (form-encoded bodies, Bearer key), answered by `Emulator.handle`.
- `/v3/`: the Stripe.js stand-in (static/stripe.js).
- `/_emulator/...`: what a test or the demo does that Stripe does by itself (move the clock,
  pay as a customer, finish 3-D Secure, open and close disputes, register webhook URLs).
- CORS is open so a page served from another port (the app, the demo) can call it.
"""

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fakestripe import errors
from fakestripe.emulator import Emulator

CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Idempotency-Key, Stripe-Version, "
    "Stripe-Account",
    "Access-Control-Expose-Headers": "Request-Id, Idempotent-Replayed, Stripe-Version",
    "Access-Control-Max-Age": "600",
}


def _static(name: str) -> bytes:
    return resources.files("fakestripe").joinpath("static", name).read_bytes()


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm
    # and the client's delayed ACK add ~40 ms to every keep-alive response.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if self.server.verbose:
            super().log_message(format, *args)

    # --- plumbing -----------------------------------------------------------------------

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        self.send_response(status)
        merged = {"Content-Type": content_type, **(headers or {}), **CORS}
        for key, value in merged.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload, indent=2).encode())

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        body = self._body()
        emulator = self.server.emulator
        try:
            if parts.path.startswith("/v1/"):
                response = emulator.handle(
                    self.command,
                    parts.path,
                    query=parts.query,
                    body=body,
                    headers=dict(self.headers.items()),
                )
                if response.status == 0:  # an injected dropped connection: no answer at all
                    self.close_connection = True
                    return
                self._send(response.status, response.body, response.headers)
            elif parts.path in ("/v3", "/v3/", "/v3/stripe.js"):
                self._send(
                    200,
                    _static("stripe.js"),
                    {"Cache-Control": "no-cache"},
                    "application/javascript; charset=utf-8",
                )
            elif parts.path.startswith("/_emulator/"):
                self._control(parts.path[len("/_emulator/") :], parts.query, body)
            elif parts.path == "/":
                self._json(200, {"emulator": "fakestripe", "now": emulator.now()})
            else:
                self._json(404, errors.unrecognized_url(self.command, parts.path).body())
        except errors.StripeError as exc:
            self._json(exc.status, exc.body())
        except (ValueError, KeyError, TypeError) as exc:
            self._json(400, errors.StripeError(400, f"Bad request: {exc}").body())

    do_GET = do_POST = do_DELETE = do_HEAD = _dispatch

    def do_OPTIONS(self) -> None:  # noqa: N802
        self._send(204, b"")

    # --- control endpoints --------------------------------------------------------------

    def _control(self, action: str, query: str, body: bytes) -> None:
        em = self.server.emulator
        form: dict[str, str] = dict(parse_qsl(query))
        if body:
            text = body.decode()
            form.update(
                json.loads(text) if text.lstrip().startswith("{") else dict(parse_qsl(text))
            )
        segments = action.strip("/").split("/")
        if self.command == "GET" and segments == ["ping"]:
            return self._json(200, {"ok": True})
        if self.command == "GET" and segments == ["events"]:
            return self._json(200, {"data": em.events[-int(form.get("limit", 50)) :]})
        if self.command != "POST":
            return self._json(
                405,
                {
                    "error": {
                        "message": "Control endpoints take POST.",
                        "type": "invalid_request_error",
                    }
                },
            )
        if segments == ["advance_clock"]:
            now = em.advance_clock(
                days=int(form.get("days", 0)),
                hours=int(form.get("hours", 0)),
                seconds=int(form.get("seconds", 0)),
            )
            return self._json(200, {"now": now})
        if segments == ["confirm_with_card"]:
            return self._json(
                200,
                em.confirm_with_card(
                    form["client_secret"],
                    form.get("card_number", "4242424242424242"),
                    **{k: form[k] for k in ("cvc", "postal_code") if form.get(k)},
                    **{k: int(form[k]) for k in ("exp_month", "exp_year") if form.get(k)},
                ),
            )
        if len(segments) == 2 and segments[0] == "3ds":
            intent_id = segments[1]
            intent = em.retrieve(intent_id) if intent_id in em.objects else None
            if intent is None or intent.get("client_secret") != form.get("client_secret"):
                # The browser proves itself with the client secret, as Stripe.js does.
                raise errors.StripeError(
                    400, "The client_secret provided does not match.", param="client_secret"
                )
            succeed = str(form.get("succeed", "true")).lower() in ("true", "1", "yes")
            return self._json(200, em.complete_3ds(intent_id, succeed=succeed))
        if segments == ["disputes"]:
            return self._json(
                200, em.dispute_charge(form["charge"], reason=form.get("reason", "fraudulent"))
            )
        if len(segments) == 3 and segments[0] == "disputes" and segments[2] == "close":
            return self._json(200, em.close_dispute(segments[1], status=form.get("status", "lost")))
        if segments == ["webhook_endpoints"]:
            em.add_webhook_endpoint(form["url"])
            return self._json(200, {"endpoints": em.webhooks.endpoints})
        if segments == ["faults"]:
            em.inject_fault(
                form["kind"],
                method=form.get("method"),
                path=form.get("path", "/v1/"),
                times=int(form.get("times", 1)),
                delay=float(form.get("delay", 0)),
            )
            return self._json(200, {"faults": len(em.faults)})
        if segments == ["flush_webhooks"]:
            em.flush_webhooks()
            return self._json(200, {"ok": True})
        if segments == ["delivery"]:
            for name in ("duplicate", "reverse", "hold"):
                if name in form:
                    setattr(em.delivery, name, str(form[name]).lower() in ("true", "1"))
            if "delay" in form:
                em.delivery.delay = float(form["delay"])
            return self._json(200, vars(em.delivery))
        return self._json(
            int(HTTPStatus.NOT_FOUND),
            errors.unrecognized_url("POST", f"/_emulator/{action}").body(),
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: Emulator, verbose: bool) -> None:
        super().__init__(address, _Handler)
        self.emulator = emulator
        self.verbose = verbose


class EmulatorServer:
    """`EmulatorServer(em, port=0).start()`; `.url`; `.stop()`."""

    def __init__(
        self,
        emulator: Emulator | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        verbose: bool = False,
    ) -> None:
        self.emulator = emulator or Emulator()
        self._server = _Server((host, port), self.emulator, verbose)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        host = self._server.server_address[0]
        return f"http://{host}:{self.port}"

    def start(self) -> "EmulatorServer":
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"fakestripe-{self.port}",
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.emulator.webhooks.stop()

    def __enter__(self) -> "EmulatorServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
