"""An `stripe.HTTPClient` that answers from the emulator in-process (no sockets).

The SDK builds the real request (URL, form body, headers, Idempotency-Key) and parses
the real response, so everything above the wire is the SDK's own code.
"""

import io
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import stripe
from requests.structures import CaseInsensitiveDict

if TYPE_CHECKING:
    from fakestripe.emulator import Emulator


class EmulatorHTTPClient(stripe.HTTPClient):
    name = "fakestripe"

    def __init__(self, emulator: "Emulator") -> None:
        super().__init__()
        self.emulator = emulator

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        parts = urlsplit(url)
        response = self.emulator.handle(
            method,
            parts.path,
            query=parts.query,
            body=post_data or b"",
            headers=dict(headers or {}),
        )
        if response.status == 0:
            # What RequestsClient raises when the connection drops mid-request.
            raise stripe.APIConnectionError(
                "Unexpected error communicating with Stripe (fakestripe dropped the connection).",
                should_retry=True,
            )
        return response.body.decode(), response.status, CaseInsensitiveDict(response.headers)

    def request_stream(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[Any, int, Mapping[str, str]]:
        body, status, headers_out = self.request(method, url, headers, post_data)
        return io.BytesIO(body.encode()), status, headers_out

    async def request_async(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[bytes, int, Mapping[str, str]]:
        body, status, headers_out = self.request(method, url, headers, post_data)
        return body.encode(), status, headers_out

    def close(self) -> None:
        """Nothing to release: no connections are opened."""

    async def close_async(self) -> None:
        """Nothing to release: no connections are opened."""
