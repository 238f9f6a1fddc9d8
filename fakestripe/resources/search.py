"""Stripe's search query language, the part the app uses: exact-match clauses such as
`email:'a@b.org'` or `metadata['donation']:'d-1'`, joined by AND (case-insensitive
values, as Stripe matches them)."""

import re
from typing import Any

from fakestripe import errors
from fakestripe.params import LIST, string
from fakestripe.routing import route

SPEC = {"query": string, "limit": LIST["limit"], "page": string}


def _clauses(query: str | None, fields: tuple[str, ...]) -> list[tuple[str, str | None, str]]:
    if not query:
        raise errors.missing_parameter("query")
    pattern = re.compile(
        rf"""^\s*({"|".join(fields)}|metadata\[['"]([^'"]+)['"]\])\s*:\s*['"]([^'"]*)['"]\s*$"""
    )
    clauses = []
    for part in re.split(r"\s+AND\s+", query):
        match = pattern.match(part)
        if not match:
            raise errors.StripeError(
                400,
                f"Invalid query: {query!r}. The emulator supports exact-match clauses on "
                f"{', '.join(fields)} and metadata['key'], joined by AND.",
                param="query",
            )
        clauses.append(match.groups())
    return clauses


def search(
    em: Any, p: dict[str, Any], *, kind: str, url: str, fields: tuple[str, ...]
) -> dict[str, Any]:
    clauses = _clauses(p.get("query"), fields)

    def matches(obj: dict[str, Any]) -> bool:
        for field, meta_key, value in clauses:
            actual = obj["metadata"].get(meta_key) if meta_key else obj.get(field)
            if str(actual or "").lower() != value.lower():
                return False
        return True

    found = [em.objects[i] for i in reversed(em.by_type.get(kind, [])) if matches(em.objects[i])]
    limit = p.get("limit", 10)
    return {
        "object": "search_result",
        "data": found[:limit],
        "has_more": len(found) > limit,
        "next_page": None,
        "url": url,
    }


@route("GET", "/v1/customers/search", SPEC)
def customers(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    return search(
        em, p, kind="customer", url="/v1/customers/search", fields=("email", "name", "phone")
    )


@route("GET", "/v1/payment_intents/search", SPEC)
def payment_intents(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    return search(
        em,
        p,
        kind="payment_intent",
        url="/v1/payment_intents/search",
        fields=("status", "customer", "amount", "currency"),
    )


@route("GET", "/v1/subscriptions/search", SPEC)
def subscriptions(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    return search(em, p, kind="subscription", url="/v1/subscriptions/search", fields=("status",))


@route("GET", "/v1/charges/search", SPEC)
def charges(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    return search(
        em,
        p,
        kind="charge",
        url="/v1/charges/search",
        fields=("status", "customer", "payment_intent", "amount", "currency"),
    )
