"""Idempotency keys, kept the way Stripe keeps them.

Stripe saves the result of a POST once its endpoint has started executing (success or
error, a card decline included) and replays it, with `Idempotent-Replayed: true`, for the
same key and the same parameters. The same key with different parameters, or on another
endpoint, is refused with an `idempotency_error`. A request refused before it ran (bad
parameters, bad key) saves nothing, so a corrected retry with the same key goes through.
Keys expire after 24 hours.
"""

import json
from dataclasses import dataclass
from typing import Any

from fakestripe import errors

KEY_LIFETIME_SECONDS = 24 * 60 * 60


@dataclass
class SavedResponse:
    endpoint: str
    fingerprint: str
    status: int
    body: bytes
    saved_at: float


class IdempotencyStore:
    def __init__(self) -> None:
        self._saved: dict[tuple[str, str], SavedResponse] = {}

    @staticmethod
    def fingerprint(params: dict[str, Any]) -> str:
        return json.dumps(params, sort_keys=True, separators=(",", ":"))

    def lookup(
        self, *, api_key: str, key: str, endpoint: str, params: dict[str, Any], now: float
    ) -> SavedResponse | None:
        saved = self._saved.get((api_key, key))
        if saved is None:
            return None
        if now - saved.saved_at > KEY_LIFETIME_SECONDS:
            del self._saved[(api_key, key)]
            return None
        if saved.endpoint != endpoint:
            raise errors.idempotency_other_endpoint(key, saved.endpoint, endpoint)
        if saved.fingerprint != self.fingerprint(params):
            raise errors.idempotency_mismatch(key)
        return saved

    def save(
        self,
        *,
        api_key: str,
        key: str,
        endpoint: str,
        params: dict[str, Any],
        status: int,
        body: bytes,
        now: float,
    ) -> None:
        self._saved[(api_key, key)] = SavedResponse(
            endpoint, self.fingerprint(params), status, body, now
        )
