"""Real Stripe event JSON, signed locally the way Stripe signs it (no patched-out check).

`Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed by the
whsec_ secret>`, as documented at https://docs.stripe.com/webhooks#verify-manually.
"""

import contextlib
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

WEBHOOK_URL = "/stripe/webhook/"


def signature(body: bytes, secret: str, *, timestamp: int | None = None) -> str:
    moment = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{moment}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={moment},v1={digest}"


def event(
    event_type: str, obj: dict[str, Any], *, event_id: str | None = None, created: int | None = None
) -> dict:
    """An event as Stripe sends it (API 2026-10-28.endive layout)."""
    return {
        "id": event_id or "evt_" + secrets.token_hex(12),
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": created if created is not None else int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def encode(evt: dict) -> bytes:
    return json.dumps(evt, indent=2).encode()


def post(
    client,
    body: bytes,
    *,
    secret: str | None = "whsec_emulator",
    timestamp: int | None = None,
    header: str | None = None,
):
    """POST a body to the webhook; signed with `secret` unless `header` is given."""
    extra = {}
    if header is not None:
        extra["HTTP_STRIPE_SIGNATURE"] = header
    elif secret is not None:
        extra["HTTP_STRIPE_SIGNATURE"] = signature(body, secret, timestamp=timestamp)
    return client.post(WEBHOOK_URL, data=body, content_type="application/json", **extra)


@contextlib.contextmanager
def broker_down():
    """Point Celery at a port where nothing listens (the connection is refused), and back.

    kombu keeps producer pools in a process-wide registry keyed by broker URL, and
    tests.celery_worker._app_broker force-closes the app's pool on the way in: reset the
    registry on the way out, or later publishes to the real broker find a closed pool.
    """
    from kombu import pools

    from tests.celery_worker import _app_broker

    try:
        with _app_broker("redis://127.0.0.1:1/0", {}):
            yield
    finally:
        pools.reset()
