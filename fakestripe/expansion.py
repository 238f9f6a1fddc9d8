"""expand[]: ids replaced by their objects, and "includable" fields computed on request.

`expand=["latest_invoice.confirmation_secret"]` walks the path: an id becomes a copy of
its object, `data` steps into each item of a list, and a field Stripe only returns when
asked for (an includable field such as `invoice.confirmation_secret`) is computed by the
function its resource module registered in INCLUDABLE.
"""

from collections.abc import Callable
from typing import Any

from fakestripe import errors
from fakestripe.snapshot import snapshot

Includable = Callable[[Any, dict[str, Any]], Any]
INCLUDABLE: dict[tuple[str, str], Includable] = {}


def render(em: Any, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """A copy of `obj` with every expand[] path applied."""
    out = snapshot(obj)
    for path in paths:
        _expand(em, out, path.split("."))
    return out


def _cannot(head: str, node: dict[str, Any]) -> errors.StripeError:
    hint = (
        f" You may want to try expanding 'data.{head}' instead."
        if node.get("object") == "list"
        else ""
    )
    return errors.StripeError(
        400, f"This property cannot be expanded ({head}).{hint}", param="expand"
    )


def _expand(em: Any, node: Any, parts: list[str]) -> None:
    if not parts or not isinstance(node, dict):
        return
    head, rest = parts[0], parts[1:]
    if node.get("object") == "list" and head == "data":
        for item in node["data"]:
            _expand(em, item, rest)
        return
    includable = INCLUDABLE.get((node.get("object", ""), head))
    if includable is not None:
        node[head] = snapshot(includable(em, node))
    elif head not in node:
        raise _cannot(head, node)
    value = node[head]
    if isinstance(value, str):
        if value not in em.objects:
            raise _cannot(head, node)
        node[head] = value = snapshot(em.objects[value])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, str) and item in em.objects:
                value[index] = snapshot(em.objects[item])
            _expand(em, value[index], rest)
        return
    _expand(em, value, rest)
