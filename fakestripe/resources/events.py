"""Events: /v1/events (the app's sweep asks for what it may have missed)."""

from typing import Any

from fakestripe.params import LIST, boolean, string, string_list
from fakestripe.routing import route


@route("GET", "/v1/events/{event_id}")
def retrieve(em: Any, p: dict[str, Any], event_id: str) -> dict[str, Any]:
    return em.get("event", event_id)


@route(
    "GET", "/v1/events", {**LIST, "type": string, "types": string_list, "delivery_success": boolean}
)
def list_all(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    def keep(event: dict[str, Any]) -> bool:
        wanted = p.get("type")
        if wanted and not _type_matches(event["type"], wanted):
            return False
        return not (p.get("types") and not any(_type_matches(event["type"], t) for t in p["types"]))

    return em.list_objects("event", p, "/v1/events", keep)


def _type_matches(event_type: str, pattern: str) -> bool:
    # Stripe allows one wildcard: `type=charge.*`.
    if pattern.endswith("*"):
        return event_type.startswith(pattern[:-1])
    return event_type == pattern
