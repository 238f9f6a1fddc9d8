"""The route table: resource modules register `(method, path) -> handler` here."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fakestripe.params import Spec

Handler = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    template: str
    spec: dict[str, Spec]
    handler: Handler
    # Stripe.js calls a few endpoints with the publishable key (creating a PaymentMethod,
    # confirming or reading an intent with its client_secret).
    publishable: bool


ROUTES: list[Route] = []


def route(
    method: str, template: str, spec: dict[str, Spec] | None = None, *, publishable: bool = False
) -> Callable[[Handler], Handler]:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)

    def register(handler: Handler) -> Handler:
        ROUTES.append(
            Route(method, re.compile(f"^{regex}$"), template, spec or {}, handler, publishable)
        )
        return handler

    return register


def find(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The matching route with the fewest placeholders (`/customers/search` beats `{id}`)."""
    best: tuple[Route, dict[str, str]] | None = None
    for candidate in ROUTES:
        if candidate.method != method:
            continue
        match = candidate.pattern.match(path)
        if match and (best is None or len(match.groupdict()) < len(best[1])):
            best = (candidate, match.groupdict())
    return best


def path_exists(path: str) -> bool:
    return any(candidate.pattern.match(path) for candidate in ROUTES)
