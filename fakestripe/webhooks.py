"""Webhook signing and delivery.

Signed as Stripe signs: `Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
"<t>.<payload>" keyed by the whole whsec_ secret>`. The timestamp is wall time at
delivery (not the emulator clock), because `stripe.Webhook.construct_event` checks it
against the receiver's wall clock with a 5-minute tolerance.

Delivery switches (`Emulator.delivery`) reproduce what Stripe only promises loosely: an
event may arrive twice (`duplicate`), late (`hold`, then `flush_webhooks()`; `delay`
seconds for HTTP endpoints) or out of order (`reverse`).
"""

import hashlib
import hmac
import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("fakestripe.webhooks")

Listener = Callable[[bytes, str], None]
RETRY_DELAYS_SECONDS = (0.5, 1.0, 2.0, 4.0)


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    moment = int(time.time()) if timestamp is None else timestamp
    signed = f"{moment}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={moment},v1={digest}"


def encode_event(event: dict[str, Any]) -> bytes:
    # Stripe sends events pretty-printed; receivers must verify the exact bytes.
    return json.dumps(event, indent=2).encode()


@dataclass
class DeliverySwitches:
    duplicate: bool = False
    reverse: bool = False
    hold: bool = False
    delay: float = 0.0  # seconds before each HTTP delivery
    raise_errors: bool = True  # an in-process listener's exception reaches the caller


@dataclass
class DeliveryRecord:
    event_id: str
    event_type: str
    target: str
    status: int | None
    error: str | None = None
    at: float = field(default_factory=time.time)


class WebhookHub:
    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.switches = DeliverySwitches()
        self.listeners: list[Listener] = []
        self.endpoints: list[str] = []
        self.log: list[DeliveryRecord] = []
        self._held: list[dict[str, Any]] = []
        self._held_lock = threading.Lock()
        self._outbox: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self._sender: threading.Thread | None = None

    # --- in-process and HTTP fan-out ----------------------------------------------------

    def deliver(self, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        if self.switches.hold or self.switches.reverse:
            with self._held_lock:
                self._held.extend(events)
            return
        self._send_all(events)

    def flush(self) -> None:
        with self._held_lock:
            events, self._held = self._held, []
        if self.switches.reverse:
            events.reverse()
        self._send_all(events)

    def held(self) -> int:
        with self._held_lock:
            return len(self._held)

    def _send_all(self, events: list[dict[str, Any]]) -> None:
        copies = 2 if self.switches.duplicate else 1
        for event in events:
            for _ in range(copies):
                self._send(event)

    def _send(self, event: dict[str, Any]) -> None:
        payload = encode_event(event)
        for endpoint in list(self.endpoints):
            self._ensure_sender()
            self._outbox.put((endpoint, event))
        for listener in list(self.listeners):
            try:
                listener(payload, sign(payload, self.secret))
                self.log.append(DeliveryRecord(event["id"], event["type"], "listener", 200))
            except Exception as exc:
                self.log.append(
                    DeliveryRecord(event["id"], event["type"], "listener", None, repr(exc))
                )
                if self.switches.raise_errors:
                    raise
                logger.exception("webhook listener failed for %s", event["id"])

    # --- HTTP endpoints, from one background thread --------------------------------------

    def _ensure_sender(self) -> None:
        if self._sender is None or not self._sender.is_alive():
            self._sender = threading.Thread(
                target=self._run_sender, daemon=True, name="fakestripe-webhooks"
            )
            self._sender.start()

    def _run_sender(self) -> None:
        while True:
            item = self._outbox.get()
            if item is None:
                self._outbox.task_done()
                return
            url, event = item
            try:
                if self.switches.delay:
                    time.sleep(self.switches.delay)
                self._post_with_retries(url, event)
            finally:
                self._outbox.task_done()

    def _post_with_retries(self, url: str, event: dict[str, Any]) -> None:
        for attempt, pause in enumerate((0.0, *RETRY_DELAYS_SECONDS)):
            time.sleep(pause)
            status, error = self._post(url, event)
            self.log.append(DeliveryRecord(event["id"], event["type"], url, status, error))
            if status is not None and 200 <= status < 300:
                return
            logger.warning(
                "webhook %s to %s failed (attempt %d): %s",
                event["id"],
                url,
                attempt + 1,
                error or status,
            )

    def _post(self, url: str, event: dict[str, Any]) -> tuple[int | None, str | None]:
        payload = encode_event(event)
        request = urllib.request.Request(
            url,
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": sign(payload, self.secret),
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, None
        except urllib.error.HTTPError as exc:
            return exc.code, exc.reason if isinstance(exc.reason, str) else str(exc.reason)
        except OSError as exc:
            return None, repr(exc)

    def wait_for_http(self, timeout: float = 10.0) -> bool:
        """Block until every queued HTTP delivery has been attempted (tests, the demo)."""
        deadline = time.time() + timeout
        while self._outbox.unfinished_tasks:
            if time.time() > deadline:
                return False
            time.sleep(0.01)
        return True

    def stop(self) -> None:
        if self._sender is not None and self._sender.is_alive():
            self._outbox.put(None)
            self._sender.join(timeout=5)
