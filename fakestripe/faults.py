"""Injected faults: Stripe being down, slow, rate limiting, or dropping a response.

`Emulator.inject_fault(...)` arms a fault for the next matching requests, so tests can
show what the app does when Stripe misbehaves: the donor is told to try again and nothing
is charged twice (docs/architecture.md). Kinds:

- "api_error": 500 `api_error`, nothing done (the SDK retries it when it may);
- "rate_limit": 429 `rate_limit`, nothing done;
- "connection": the connection drops before Stripe sees the request;
- "lost_response": Stripe does the work, then the connection drops before the answer
  arrives, the case idempotency keys exist for (a retry with the same key gets the
  saved answer instead of a second charge);
- "slow": the answer comes `delay` seconds late (the HTTP server sleeps; in-process the
  caller's thread does).
"""

from dataclasses import dataclass

from fakestripe import errors

KINDS = ("api_error", "rate_limit", "connection", "lost_response", "slow")


@dataclass
class Fault:
    kind: str
    method: str | None
    path_prefix: str
    times: int
    delay: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        return (
            self.times > 0 and (self.method in (None, method)) and path.startswith(self.path_prefix)
        )


def error_for(kind: str) -> errors.StripeError:
    if kind == "rate_limit":
        return errors.StripeError(
            429,
            "Request rate limit exceeded. Learn more about rate limits here "
            "https://stripe.com/docs/rate-limits.",
            code="rate_limit",
        )
    return errors.StripeError(
        500,
        "An unknown error occurred. Please try again later.",
        type="api_error",
    )
