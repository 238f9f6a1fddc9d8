"""Products (/v1/products) and Prices (/v1/prices), including inline `price_data`."""

from typing import Any

from fakestripe import errors
from fakestripe.params import LIST, boolean, enum, integer, metadata, string
from fakestripe.resources.common import apply_update, currency, merge_metadata
from fakestripe.routing import route

RECURRING = {
    "interval": enum("day", "week", "month", "year"),
    "interval_count": integer,
    "usage_type": enum("licensed"),
}
PRODUCT_FIELDS = {
    "name": string,
    "description": string,
    "metadata": metadata,
    "active": boolean,
    "statement_descriptor": string,
    "unit_label": string,
    "url": string,
}
PRICE_DATA = {
    "currency": string,
    "product": string,
    "product_data": {"name": string, "metadata": metadata},
    "unit_amount": integer,
    "recurring": RECURRING,
    "nickname": string,
    "metadata": metadata,
    "tax_behavior": enum("exclusive", "inclusive", "unspecified"),
}
PRICE_CREATE = {**PRICE_DATA, "active": boolean, "lookup_key": string}


def new_product(
    em: Any, name: str, *, description: str | None = None, meta: dict[str, str] | None = None
) -> dict[str, Any]:
    now = em.now()
    product = {
        "active": True,
        "created": now,
        "default_price": None,
        "description": description,
        "id": em.new_id("prod", 14),
        "images": [],
        "livemode": False,
        "marketing_features": [],
        "metadata": dict(meta or {}),
        "name": name,
        "object": "product",
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "unit_label": None,
        "updated": now,
        "url": None,
        "type": "service",
    }
    em.store(product)
    em.emit("product.created", product)
    return product


@route("POST", "/v1/products", {**PRODUCT_FIELDS, "id": string})
def create_product(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    if not p.get("name"):
        raise errors.missing_parameter("name")
    product = new_product(
        em,
        p["name"],
        description=p.get("description"),
        meta=merge_metadata({}, p.get("metadata", {})),
    )
    if p.get("id"):
        if p["id"] in em.objects:
            raise errors.StripeError(
                400, "Product already exists.", code="resource_already_exists", param="id"
            )
        em.objects.pop(product["id"])
        em.by_type["product"].remove(product["id"])
        product["id"] = p["id"]
        em.store(product)
    for key in ("statement_descriptor", "unit_label", "url"):
        product[key] = p.get(key)
    if "active" in p:
        product["active"] = p["active"]
    return product


@route("GET", "/v1/products/{prod_id}")
def retrieve_product(em: Any, p: dict[str, Any], prod_id: str) -> dict[str, Any]:
    return em.get("product", prod_id)


@route("POST", "/v1/products/{prod_id}", {**PRODUCT_FIELDS, "default_price": string})
def update_product(em: Any, p: dict[str, Any], prod_id: str) -> dict[str, Any]:
    product = em.get("product", prod_id)
    changes = {k: v for k, v in p.items() if k not in ("metadata", "expand")}
    if "metadata" in p:
        changes["metadata"] = merge_metadata(product["metadata"], p["metadata"])
    if p.get("default_price"):
        em.get("price", p["default_price"], param="default_price")
    previous = apply_update(product, changes)
    if previous:
        product["updated"] = em.now()
        em.emit("product.updated", product, previous)
    return product


@route("GET", "/v1/products", {**LIST, "active": boolean})
def list_products(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    return em.list_objects(
        "product",
        p,
        "/v1/products",
        lambda prod: "active" not in p or prod["active"] == p["active"],
    )


def new_price(
    em: Any, data: dict[str, Any], *, param: str = "", inline: bool = False
) -> dict[str, Any]:
    """A Price from `price_data`-style fields (`param` prefixes error names)."""

    def name(field: str) -> str:
        return f"{param}[{field}]" if param else field

    cur = currency(data, "currency") if data.get("currency") else None
    if cur is None:
        raise errors.missing_parameter(name("currency"))
    if data.get("unit_amount") is None:
        raise errors.missing_parameter(name("unit_amount"))
    if data["unit_amount"] < 0:
        raise errors.StripeError(400, "Invalid non-negative integer", param=name("unit_amount"))
    if data.get("product"):
        product = em.get("product", data["product"], param=name("product"))
    elif data.get("product_data"):
        if not data["product_data"].get("name"):
            raise errors.missing_parameter(name("product_data[name]"))
        product = new_product(
            em, data["product_data"]["name"], meta=data["product_data"].get("metadata")
        )
    else:
        raise errors.missing_parameter(name("product"))
    recurring = None
    if data.get("recurring"):
        if not data["recurring"].get("interval"):
            raise errors.missing_parameter(name("recurring[interval]"))
        recurring = {
            "interval": data["recurring"]["interval"],
            "interval_count": data["recurring"].get("interval_count", 1),
            "meter": None,
            "usage_type": "licensed",
            "trial_period_days": None,
        }
    price = {
        "active": not inline,  # inline prices are archived from the start, as at Stripe
        "billing_scheme": "per_unit",
        "created": em.now(),
        "currency": cur,
        "custom_unit_amount": None,
        "id": em.new_id("price"),
        "livemode": False,
        "lookup_key": data.get("lookup_key"),
        "metadata": dict(data.get("metadata") or {}),
        "nickname": data.get("nickname"),
        "object": "price",
        "product": product["id"],
        "recurring": recurring,
        "tax_behavior": data.get("tax_behavior", "unspecified"),
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring" if recurring else "one_time",
        "unit_amount": data["unit_amount"],
        "unit_amount_decimal": str(data["unit_amount"]),
    }
    em.store(price)
    em.emit("price.created", price)
    return price


@route("POST", "/v1/prices", PRICE_CREATE)
def create_price(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    price = new_price(em, p)
    if "active" in p:
        price["active"] = p["active"]
    return price


@route("GET", "/v1/prices/{price_id}")
def retrieve_price(em: Any, p: dict[str, Any], price_id: str) -> dict[str, Any]:
    return em.get("price", price_id)


@route(
    "POST",
    "/v1/prices/{price_id}",
    {"active": boolean, "metadata": metadata, "nickname": string, "lookup_key": string},
)
def update_price(em: Any, p: dict[str, Any], price_id: str) -> dict[str, Any]:
    price = em.get("price", price_id)
    changes = {k: v for k, v in p.items() if k not in ("metadata", "expand")}
    if "metadata" in p:
        changes["metadata"] = merge_metadata(price["metadata"], p["metadata"])
    previous = apply_update(price, changes)
    if previous:
        em.emit("price.updated", price, previous)
    return price


@route(
    "GET",
    "/v1/prices",
    {
        **LIST,
        "active": boolean,
        "product": string,
        "lookup_keys": [string],
        "type": enum("one_time", "recurring"),
        "currency": string,
    },
)
def list_prices(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    def keep(price: dict[str, Any]) -> bool:
        if "active" in p and price["active"] != p["active"]:
            return False
        if p.get("product") and price["product"] != p["product"]:
            return False
        if p.get("lookup_keys") and price["lookup_key"] not in p["lookup_keys"]:
            return False
        if p.get("type") and price["type"] != p["type"]:
            return False
        return not (p.get("currency") and price["currency"] != p["currency"].lower())

    return em.list_objects("price", p, "/v1/prices", keep)
