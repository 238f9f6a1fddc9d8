"""The emulator: Stripe's state in memory behind one lock, and the request pipeline.

Every way in (the SDK's in-process HTTP client, the HTTP server, the control methods
tests call) goes through `Emulator.handle` or `Emulator.operation`, which hold one
re-entrant lock while state changes and deliver the webhooks an operation produced only
after releasing it, so a listener can call the emulator back (as the app's webhook
handler does) without deadlocking.
"""

import base64
import json
import logging
import secrets
import string
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fakestripe import errors, expansion, params, routing, sdk_params
from fakestripe.clock import Clock
from fakestripe.faults import KINDS, Fault, error_for
from fakestripe.idempotency import IdempotencyStore
from fakestripe.snapshot import snapshot
from fakestripe.webhooks import DeliverySwitches, Listener, WebhookHub

API_VERSION = "2026-10-28.endive"
logger = logging.getLogger("fakestripe")
_ALPHABET = string.ascii_letters + string.digits


@dataclass
class BillingSettings:
    # Smart Retries, approximated: after a failed renewal, Stripe retries on a schedule;
    # these are the days after the first failure (Stripe's settings allow up to 8 tries
    # within 2 weeks to 2 months; tests may set their own).
    retry_days: tuple[int, ...] = (3, 8, 15)
    # What happens to a subscription when the last Smart Retry fails (Stripe's
    # "Manage failed payments" setting): "unpaid", "canceled", "paused" (API 2026-10-28.endive)
    # or "past_due" (leave it).
    after_final_failure: str = "unpaid"


@dataclass
class Response:
    status: int  # 0: the connection dropped without an answer (an injected fault)
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


class Emulator:
    def __init__(
        self,
        webhook_secret: str = "whsec_emulator",
        *,
        account_id: str = "acct_1EmulatorPledge00",
    ) -> None:
        # Resource modules register their routes on import.
        import fakestripe.resources  # noqa: F401

        self.account_id = account_id
        self.lock = threading.RLock()
        self.clock = Clock()
        self.objects: dict[str, dict[str, Any]] = {}
        self.by_type: dict[str, list[str]] = {}
        # What Stripe knows but does not show: the card behind a PaymentMethod, whether a
        # card has been authenticated for off-session use, and so on.
        self.private: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.idempotency = IdempotencyStore()
        self.webhooks = WebhookHub(webhook_secret)
        self.billing = BillingSettings()
        # Stripe pays the available balance out daily; tests may turn it off.
        self.automatic_payouts = True
        from fakestripe.resources import payouts

        payouts.schedule_daily(self)
        self._pending: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self._depth = threading.local()
        self._current_request: dict[str, Any] | None = None
        # Set for the request being handled (under the lock): Stripe.js requests carry the
        # publishable key and must prove themselves with the intent's client_secret.
        self.current_key_is_publishable = False

    # --- public control surface ---------------------------------------------------------

    @property
    def delivery(self) -> DeliverySwitches:
        return self.webhooks.switches

    @property
    def webhook_secret(self) -> str:
        return self.webhooks.secret

    def now(self) -> int:
        return self.clock.now()

    def stripe_client(self, api_key: str = "sk_test_emulator", **options: Any) -> Any:
        import stripe

        from fakestripe.http_client import EmulatorHTTPClient

        return stripe.StripeClient(api_key, http_client=EmulatorHTTPClient(self), **options)

    def add_webhook_listener(self, listener: Listener) -> None:
        self.webhooks.listeners.append(listener)

    def remove_webhook_listener(self, listener: Listener) -> None:
        self.webhooks.listeners.remove(listener)

    def add_webhook_endpoint(self, url: str) -> None:
        if url not in self.webhooks.endpoints:
            self.webhooks.endpoints.append(url)

    def flush_webhooks(self) -> None:
        self.webhooks.flush()

    def advance_clock(self, *, days: int = 0, hours: int = 0, seconds: int = 0) -> int:
        """Move the clock forward, firing renewals, retries, expiries and payouts on the way."""
        total = days * 86400 + hours * 3600 + seconds
        if total < 0:
            raise ValueError("The emulator's clock only moves forward.")
        with self.operation():
            self.clock.advance(total)
        return self.now()

    def advance_past_next_renewal(self, subscription_id: str | None = None) -> int:
        """Move the clock past a subscription's next renewal, or past the next renewal of
        every subscription that renews, including the collection of the invoice each
        renewal drafts (Stripe finalizes and charges it an hour after the period ends).

        Tests that expect a renewal call this rather than stepping a month: months are
        28 to 31 days long, and a renewal's charge lands an hour after the period end."""
        from fakestripe.resources import billing_cycle

        with self.operation():
            if subscription_id is None:
                ids = self.by_type.get("subscription", [])
            else:
                ids = [self.get("subscription", subscription_id)["id"]]
            moments = [billing_cycle.renewal_collected_by(self, self.objects[i]) for i in ids]
            due = [moment for moment in moments if moment is not None]
            if not due or (subscription_id is not None and None in moments):
                raise ValueError("No subscription here renews: nothing to move the clock to.")
            self.clock.advance(max(max(due) - self.now(), 0))
        return self.now()

    def advance_past_next_payment_attempt(self, invoice_id: str | None = None) -> int:
        """Move the clock past the next time Stripe tries to collect an invoice (a renewal
        draft's finalization and first charge, or an open invoice's next Smart Retry), or
        past the next attempt on every invoice waiting for one."""
        from fakestripe.resources import invoices

        with self.operation():
            if invoice_id is None:
                ids = self.by_type.get("invoice", [])
            else:
                ids = [self.get("invoice", invoice_id)["id"]]
            moments = [invoices.next_collection_attempt(self.objects[i]) for i in ids]
            due = [moment for moment in moments if moment is not None]
            if not due or (invoice_id is not None and None in moments):
                raise ValueError("No invoice here waits for a payment attempt.")
            self.clock.advance(max(max(due) - self.now(), 0))
        return self.now()

    def inject_fault(
        self,
        kind: str,
        *,
        method: str | None = None,
        path: str = "/v1/",
        times: int = 1,
        delay: float = 0.0,
    ) -> None:
        """Make the next `times` requests matching `method` and the `path` prefix fail
        (see fakestripe.faults for the kinds)."""
        if kind not in KINDS:
            raise ValueError(f"Unknown fault {kind!r}; choose one of {', '.join(KINDS)}.")
        with self.lock:
            self.faults.append(Fault(kind, method.upper() if method else None, path, times, delay))

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    return fault
        return None

    def tick(self) -> None:
        """Fire timers whose moment wall time has reached (the long-running server calls it)."""
        with self.operation():
            self.clock.run_due()

    def confirm_with_card(
        self, client_secret: str, card_number: str = "4242424242424242", **card: Any
    ) -> dict[str, Any]:
        from fakestripe.resources import browser

        with self.operation():
            return snapshot(browser.confirm_with_card(self, client_secret, card_number, **card))

    def complete_3ds(self, intent_id: str, succeed: bool = True) -> dict[str, Any]:
        from fakestripe.resources import browser

        with self.operation():
            return snapshot(browser.complete_authentication(self, intent_id, succeed=succeed))

    def dispute_charge(self, charge_id: str, reason: str = "fraudulent") -> dict[str, Any]:
        from fakestripe.resources import disputes

        with self.operation():
            return snapshot(disputes.open_dispute(self, charge_id, reason=reason))

    def close_dispute(self, dispute_id: str, status: str = "lost") -> dict[str, Any]:
        from fakestripe.resources import disputes

        with self.operation():
            return snapshot(disputes.settle(self, dispute_id, status=status))

    def charge_account_fee(self, amount: int, description: str = "Billing fee") -> dict[str, Any]:
        """Stripe takes a fee from the balance outside any charge (a `stripe_fee`)."""
        from fakestripe.resources import payouts

        with self.operation():
            return snapshot(
                payouts.charge_account_fee(self, amount=amount, description=description)
            )

    def fail_refund(
        self, refund_id: str, reason: str = "expired_or_canceled_card"
    ) -> dict[str, Any]:
        """Make a succeeded refund fail, as Stripe does days later (refund.failed)."""
        from fakestripe.resources import refunds

        with self.operation():
            return snapshot(refunds.fail(self, refund_id, reason=reason))

    def retrieve(self, object_id: str) -> dict[str, Any]:
        """A copy of any stored object, for assertions."""
        with self.lock:
            return snapshot(self.objects[object_id])

    def events_of(self, event_type: str) -> list[dict[str, Any]]:
        with self.lock:
            return [snapshot(e) for e in self.events if e["type"] == event_type]

    # --- operations and webhooks --------------------------------------------------------

    @contextmanager
    def operation(self) -> Iterator[None]:
        """Hold the lock; deliver the webhooks produced once the outermost operation ends."""
        depth = getattr(self._depth, "value", 0)
        self._depth.value = depth + 1
        try:
            with self.lock:
                yield
                if depth == 0:
                    outgoing, self._pending = self._pending, []
        finally:
            self._depth.value = depth
        if depth == 0:
            self.webhooks.deliver(outgoing)

    def emit(
        self, event_type: str, obj: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        request = self._current_request or {"id": None, "idempotency_key": None}
        data: dict[str, Any] = {"object": snapshot(obj)}
        if previous is not None:
            data["previous_attributes"] = snapshot(previous)
        event = {
            "api_version": API_VERSION,
            "created": self.now(),
            "data": data,
            "id": self.new_id("evt"),
            "livemode": False,
            "object": "event",
            "pending_webhooks": len(self.webhooks.endpoints) + len(self.webhooks.listeners),
            "request": dict(request),
            "type": event_type,
        }
        self.events.append(event)
        self.store(event)
        self._pending.append(event)
        return event

    # --- storage helpers for resource modules -------------------------------------------

    @staticmethod
    def new_id(prefix: str, length: int = 24) -> str:
        # 248 = 4 x 62: bytes below it map onto the alphabet without bias.
        chars: list[str] = []
        while len(chars) < length:
            chars.extend(_ALPHABET[b % 62] for b in secrets.token_bytes(length + 8) if b < 248)
        return f"{prefix}_" + "".join(chars[:length])

    def store(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.objects[obj["id"]] = obj
        self.by_type.setdefault(obj["object"], []).append(obj["id"])
        return obj

    def get(
        self, kind: str, object_id: Any, *, param: str = "id", label: str | None = None
    ) -> dict[str, Any]:
        obj = self.objects.get(object_id) if isinstance(object_id, str) else None
        if obj is None or obj["object"] != kind or obj.get("deleted"):
            raise errors.no_such(label or kind.replace("_", ""), str(object_id), param)
        return obj

    def secret_of(self, object_id: str) -> dict[str, Any]:
        return self.private.setdefault(object_id, {})

    def list_objects(
        self,
        kind: str,
        p: dict[str, Any],
        url: str,
        keep: Callable[[dict[str, Any]], bool] = lambda obj: True,
    ) -> dict[str, Any]:
        """Newest first, with Stripe's limit / starting_after / ending_before / created."""
        limit = p.get("limit", 10)
        if not 1 <= limit <= 100:
            raise errors.StripeError(400, "Invalid limit: must be between 1 and 100", param="limit")
        found = [self.objects[i] for i in reversed(self.by_type.get(kind, []))]
        found = [obj for obj in found if keep(obj) and _created_matches(obj, p.get("created"))]
        ids = [obj["id"] for obj in found]
        if p.get("starting_after"):
            cursor = p["starting_after"]
            if cursor not in ids:
                raise errors.no_such(kind.replace("_", ""), cursor, "starting_after")
            found = found[ids.index(cursor) + 1 :]
        elif p.get("ending_before"):
            cursor = p["ending_before"]
            if cursor not in ids:
                raise errors.no_such(kind.replace("_", ""), cursor, "ending_before")
            found = found[: ids.index(cursor)][-limit:]
        return {
            "object": "list",
            "data": found[:limit],
            "has_more": len(found) > limit,
            "url": url,
        }

    # --- the request pipeline -----------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        body: bytes | str = b"",
        headers: dict[str, str] | None = None,
    ) -> Response:
        """One Stripe API request in, one Stripe API response out."""
        heads = {k.lower(): v for k, v in (headers or {}).items()}
        request_id = "req_" + secrets.token_hex(7)
        base_headers = {
            "Content-Type": "application/json",
            "Request-Id": request_id,
            "Stripe-Version": heads.get("stripe-version", API_VERSION),
        }
        method = method.upper()
        fault = self._take_fault(method, path)
        if fault is not None:
            if fault.kind == "slow":
                time.sleep(fault.delay)
            elif fault.kind == "connection":
                return Response(0, b"")
            elif fault.kind != "lost_response":
                return self._error_response(error_for(fault.kind), base_headers)
        try:
            text = body.decode() if isinstance(body, bytes) else body
            raw = params.decode_form(query)
            if text:
                raw.update(params.decode_form(text))
            api_key = self._authenticate(heads, raw)
            raw.pop("key", None)
            found = routing.find(method, path)
            if found is None:
                raise errors.unrecognized_url(method, path)
            route, path_args = found
            if api_key.startswith("pk_") and not route.publishable:
                raise errors.publishable_key_not_allowed()
            if not route.publishable:
                # What Stripe itself refuses for the pinned API version, before what the
                # emulator implements (which is a subset of it).
                unknown = sdk_params.unknown_parameter(method, route.template, raw)
                if unknown:
                    raise errors.unknown_parameter(unknown)
            spec = {**params.COMMON, **route.spec}
            p = params.validate(raw, spec)
        except errors.StripeError as exc:
            return self._error_response(exc, base_headers)

        key = heads.get("idempotency-key") if method == "POST" else None
        if key is not None and len(key) > 255:
            return self._error_response(
                errors.StripeError(
                    400,
                    "Idempotency-Key must be at most 255 characters long.",
                    param="Idempotency-Key",
                ),
                base_headers,
            )
        with self.operation():
            if key:
                try:
                    saved = self.idempotency.lookup(
                        api_key=api_key,
                        key=key,
                        endpoint=f"{method} {path}",
                        params=p,
                        now=time.time(),
                    )
                except errors.StripeError as exc:
                    return self._error_response(exc, base_headers)
                if saved is not None:
                    return Response(
                        saved.status,
                        saved.body,
                        {**base_headers, "Idempotent-Replayed": "true", "Idempotency-Key": key},
                    )
            self._current_request = {"id": request_id, "idempotency_key": key}
            self.current_key_is_publishable = api_key.startswith("pk_")
            try:
                result = route.handler(self, p, **path_args)
                status, payload = 200, self.render(result, p.get("expand", []))
            except errors.StripeError as exc:
                status, payload = exc.status, exc.body()
            except Exception as exc:
                # An emulator bug answers as Stripe's own failures do (500 api_error, which
                # the SDK raises as APIError), with the cause in the message.
                logger.exception("fakestripe failed on %s %s", method, path)
                status, payload = (
                    500,
                    errors.StripeError(
                        500, f"fakestripe internal error: {exc!r}", type="api_error"
                    ).body(),
                )
            finally:
                self._current_request = None
                self.current_key_is_publishable = False
            encoded = json.dumps(payload, indent=2).encode()
            if key:
                self.idempotency.save(
                    api_key=api_key,
                    key=key,
                    endpoint=f"{method} {path}",
                    params=p,
                    status=status,
                    body=encoded,
                    now=time.time(),
                )
        if key:
            base_headers["Idempotency-Key"] = key
        if fault is not None and fault.kind == "lost_response":
            return Response(0, b"")  # done, but the caller never hears of it
        return Response(status, encoded, base_headers)

    def _authenticate(self, heads: dict[str, str], raw: dict[str, Any]) -> str:
        auth = heads.get("authorization", "")
        key = ""
        if auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        elif auth.lower().startswith("basic "):
            # `curl -u sk_test_...:` as in Stripe's docs: the key is the user name.
            try:
                key = base64.b64decode(auth[6:].strip()).decode().split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                key = ""
        if not key and isinstance(raw.get("key"), str):
            key = raw["key"]  # Stripe.js sends the publishable key as a form field
        if not key:
            raise errors.no_api_key()
        if not key.startswith(("sk_test_", "rk_test_", "pk_test_")):
            raise errors.invalid_api_key(key)
        return key

    @staticmethod
    def _error_response(exc: errors.StripeError, headers: dict[str, str]) -> Response:
        return Response(exc.status, json.dumps(exc.body(), indent=2).encode(), dict(headers))

    def render(self, obj: dict[str, Any], expand: list[str]) -> dict[str, Any]:
        """A copy of `obj` as the API returns it, with expand[] applied."""
        return expansion.render(self, obj, expand)


def _created_matches(obj: dict[str, Any], created: Any) -> bool:
    if created is None:
        return True
    moment = obj.get("created", 0)
    if isinstance(created, int):
        return moment == created
    checks = {
        "gt": lambda bound: moment > bound,
        "gte": lambda bound: moment >= bound,
        "lt": lambda bound: moment < bound,
        "lte": lambda bound: moment <= bound,
    }
    return all(checks[op](bound) for op, bound in created.items())
